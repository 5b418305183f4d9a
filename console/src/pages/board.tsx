import { ApiError, apiGet } from '../api';
import { DeploymentLink, LatestEntry } from '../components/deployment-parts';
import { PollStatus } from '../components/poll-status';
import { Problem } from '../components/problem';
import { StateLabel } from '../components/state';
import { ColumnHeads } from '../components/table';
import { Age } from '../components/time';
import { imageDigest, imageTag, shortDigest } from '../format';
import { BOARD_INTERVAL_MS } from '../polling';
import { paths } from '../routes';
import type { AppListing, EnvironmentView } from '../types';
import { usePolling } from '../use-polling';

/** Every app's environments at a glance: what runs, how many tasks, the last and the in-flight deployment, health. */

const COLUMNS = ['Environment', 'Image', 'Tasks running/desired', 'Last deployment', 'In flight', 'Health'] as const;

interface Row {
  app: string;
  env: string;
  view?: EnvironmentView;
  error?: ApiError;
}

async function loadBoard(): Promise<Array<{ app: string; rows: Row[] }>> {
  const { apps } = await apiGet<{ apps: AppListing[] }>('/v1/apps');
  return Promise.all(
    apps.map(async (app) => ({
      app: app.name,
      rows: await Promise.all(
        app.environments.map(async (env): Promise<Row> => {
          try {
            const { environment } = await apiGet<{ environment: EnvironmentView }>(
              `/v1/apps/${encodeURIComponent(app.name)}/environments/${encodeURIComponent(env.name)}`,
            );
            return { app: app.name, env: env.name, view: environment };
          } catch (error) {
            // One environment ECS cannot describe stays on the board with why; a lost session ends the read.
            if (!(error instanceof ApiError) || error.status === 401) throw error;
            return { app: app.name, env: env.name, error };
          }
        }),
      ),
    })),
  );
}

function Running({ view }: { view: EnvironmentView }) {
  const images = Object.entries(view.running?.images ?? {});
  if (images.length === 0) return <span class="muted">nothing running</span>;
  const several = images.length > 1;
  return (
    <ul class="plain">
      {images.map(([container, image]) => (
        <li key={container}>
          {several ? `${container}: ` : ''}
          {imageTag(image) ?? 'untagged'} <code>{shortDigest(imageDigest(image) ?? view.running?.digest) ?? ''}</code>
        </li>
      ))}
    </ul>
  );
}

function Health({ view, now }: { view: EnvironmentView; now: number }) {
  if (!view.health || view.health.checks.length === 0) return <span class="muted">no checks run</span>;
  return (
    <>
      <ul class="plain">
        {view.health.checks.map((check) => (
          <li key={check.check} title={check.reason ?? check.url}>
            {check.check}: <StateLabel state={check.ok ? 'ok' : 'failing'} />
            {!check.ok && check.reason ? <span class="muted"> ({check.reason})</span> : null}
          </li>
        ))}
      </ul>
      <span class="muted">
        checked <Age value={view.health.checkedAt} now={now} />
      </span>
    </>
  );
}

function EnvironmentRow({ row, now }: { row: Row; now: number }) {
  const { view } = row;
  const running = view?.running;
  return (
    <tr>
      <td data-label="Environment">
        <a href={paths.environment(row.app, row.env)}>
          {row.app} / {row.env}
        </a>
      </td>
      {view ? (
        <>
          <td data-label="Image">
            <Running view={view} />
          </td>
          <td data-label="Tasks running/desired">
            {running?.runningCount ?? '?'}/{running?.desiredCount ?? '?'}
            {running?.pendingCount ? <span class="muted"> ({running.pendingCount} pending)</span> : null}
          </td>
          <td data-label="Last deployment">
            {view.lastDeployment ? (
              <>
                <DeploymentLink deployment={view.lastDeployment} />{' '}
                <span class="muted">
                  <Age value={view.lastDeployment.updatedAt} now={now} />
                </span>
              </>
            ) : (
              <span class="muted">none</span>
            )}
          </td>
          <td data-label="In flight">
            {view.inFlight ? (
              <>
                <DeploymentLink deployment={view.inFlight} />
                <br />
                <LatestEntry deployment={view.inFlight} now={now} />
              </>
            ) : (
              <span class="muted">none</span>
            )}
          </td>
          <td data-label="Health">
            <Health view={view} now={now} />
          </td>
        </>
      ) : (
        <td colSpan={5} data-label="Problem">
          <Problem error={row.error} />
        </td>
      )}
    </tr>
  );
}

export function Board() {
  const polled = usePolling('board', loadBoard, BOARD_INTERVAL_MS);
  const now = polled.updatedAt ?? Date.now();
  return (
    <>
      <h1 tabIndex={-1}>Board</h1>
      <PollStatus polled={polled} />
      {!polled.data && polled.error ? <Problem error={polled.error} /> : null}
      {polled.data?.length === 0 ? <p>No apps are configured for this stage, or none is in your scope.</p> : null}
      {polled.data?.map(({ app, rows }) => (
        <table key={app} class="cards">
          <caption>{app}</caption>
          <ColumnHeads names={COLUMNS} />
          <tbody>
            {rows.map((row) => (
              <EnvironmentRow key={row.env} row={row} now={now} />
            ))}
          </tbody>
        </table>
      ))}
    </>
  );
}
