import { useState } from 'preact/hooks';
import { type ApiError, apiGet } from '../api';
import { DeploymentLink, revisionText } from '../components/deployment-parts';
import { PollStatus } from '../components/poll-status';
import { Problem } from '../components/problem';
import { StateLabel } from '../components/state';
import { ColumnHeads } from '../components/table';
import { Age, Time } from '../components/time';
import { PAGE_INTERVAL_MS } from '../polling';
import type { DeploymentRecord, EnvironmentView } from '../types';
import { usePolling } from '../use-polling';

/** One environment: what runs, its health, and its deployment history newest first with why each failed. */

const COLUMNS = ['Deployment', 'Kind', 'Requested by', 'Requested', 'From → to', 'Why it failed'] as const;

const PAGE_SIZE = 25;

interface History {
  deployments: DeploymentRecord[];
  cursor?: string;
}

function DeploymentRow({ deployment, now }: { deployment: DeploymentRecord; now: number }) {
  return (
    <tr>
      <td data-label="Deployment">
        <DeploymentLink deployment={deployment} />
      </td>
      <td data-label="Kind">{deployment.kind}</td>
      <td data-label="Requested by">{deployment.requestedBy.name}</td>
      <td data-label="Requested">
        <Time value={deployment.createdAt} />{' '}
        <span class="muted">
          (<Age value={deployment.createdAt} now={now} />)
        </span>
      </td>
      <td data-label="From → to">
        {revisionText(deployment.from)} → {revisionText(deployment.to)}
      </td>
      <td data-label="Why it failed">{deployment.failure?.reason ?? deployment.ecsUnreachable?.reason ?? ''}</td>
    </tr>
  );
}

export function Environment({ app, env }: { app: string; env: string }) {
  const base = `/v1/apps/${encodeURIComponent(app)}/environments/${encodeURIComponent(env)}`;
  const polled = usePolling(
    `environment:${app}/${env}`,
    async () => {
      const [view, history] = await Promise.all([
        apiGet<{ environment: EnvironmentView }>(base),
        apiGet<History>(`${base}/deployments`, { limit: PAGE_SIZE }),
      ]);
      return { view: view.environment, history };
    },
    PAGE_INTERVAL_MS,
  );
  // Older pages are read once, when asked for; the first page is the one kept current.
  const [older, setOlder] = useState<{ key: string; deployments: DeploymentRecord[]; cursor?: string }>();
  const [olderError, setOlderError] = useState<ApiError>();
  const key = `${app}/${env}`;
  const olderPages = older?.key === key ? older : undefined;
  const cursor = olderPages ? olderPages.cursor : polled.data?.history.cursor;
  const loadOlder = async () => {
    if (!cursor) return;
    try {
      const page = await apiGet<History>(`${base}/deployments`, { limit: PAGE_SIZE, cursor });
      setOlder({
        key,
        deployments: [...(olderPages?.deployments ?? []), ...page.deployments],
        ...(page.cursor ? { cursor: page.cursor } : {}),
      });
      setOlderError(undefined);
    } catch (error) {
      setOlderError(error as ApiError);
    }
  };
  const now = polled.updatedAt ?? Date.now();
  const view = polled.data?.view;
  const seen = new Set(polled.data?.history.deployments.map((deployment) => deployment.id));
  const rows = [
    ...(polled.data?.history.deployments ?? []),
    ...(olderPages?.deployments.filter((deployment) => !seen.has(deployment.id)) ?? []),
  ];
  return (
    <>
      <h1 tabIndex={-1}>
        {app} / {env}
      </h1>
      <PollStatus polled={polled} />
      {!polled.data && polled.error ? <Problem error={polled.error} /> : null}
      {view ? (
        <dl class="facts">
          <dt>Service</dt>
          <dd>
            {view.cluster} / {view.service}
            {view.running?.status ? ` (${view.running.status})` : ''}
          </dd>
          <dt>Running</dt>
          <dd>{revisionText(view.running)}</dd>
          <dt>Tasks running/desired</dt>
          <dd>
            {view.running?.runningCount ?? '?'}/{view.running?.desiredCount ?? '?'}
          </dd>
          <dt>Approvals needed</dt>
          <dd>{view.approvals}</dd>
          {view.promoteFrom ? (
            <>
              <dt>Promoted from</dt>
              <dd>{view.promoteFrom}</dd>
            </>
          ) : null}
          <dt>Health</dt>
          <dd>
            {view.health?.checks.length ? (
              <ul class="plain">
                {view.health.checks.map((check) => (
                  <li key={check.check}>
                    {check.check}: <StateLabel state={check.ok ? 'ok' : 'failing'} />{' '}
                    <span class="muted">
                      {check.status !== undefined ? `HTTP ${check.status}` : ''}
                      {check.latencyMs !== undefined ? `, ${check.latencyMs} ms` : ''}
                      {check.reason ? `, ${check.reason}` : ''}
                    </span>
                  </li>
                ))}
                <li class="muted">
                  checked <Age value={view.health.checkedAt} now={now} />
                </li>
              </ul>
            ) : (
              <span class="muted">no checks run</span>
            )}
          </dd>
        </dl>
      ) : null}
      {polled.data ? (
        <table class="cards">
          <caption>Deployments</caption>
          <ColumnHeads names={COLUMNS} />
          <tbody>
            {rows.map((deployment) => (
              <DeploymentRow key={deployment.id} deployment={deployment} now={now} />
            ))}
          </tbody>
        </table>
      ) : null}
      {polled.data && rows.length === 0 ? <p>No deployments yet.</p> : null}
      <Problem error={olderError} />
      {cursor ? (
        <button type="button" onClick={loadOlder}>
          Show older deployments
        </button>
      ) : null}
    </>
  );
}
