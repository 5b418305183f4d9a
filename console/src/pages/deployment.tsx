import { useState } from 'preact/hooks';
import { type ApiError, apiGet, apiPost } from '../api';
import { revisionText } from '../components/deployment-parts';
import { Dialog } from '../components/dialog';
import { PollStatus } from '../components/poll-status';
import { Problem } from '../components/problem';
import { StateLabel } from '../components/state';
import { Age, Time } from '../components/time';
import { navigate } from '../navigation';
import { deploymentActions, isFinal } from '../permissions';
import { BOARD_INTERVAL_MS } from '../polling';
import { paths } from '../routes';
import type { DeploymentRecord, Me } from '../types';
import { usePolling } from '../use-polling';

/** One deployment: its state, what it changes, its approvals and timeline, and what the caller may do to it. */

type Confirming = 'cancel' | 'rollback' | undefined;

function Revision({ label, revision }: { label: string; revision: DeploymentRecord['from'] & { tag?: string } }) {
  const images = Object.entries(revision.images ?? {});
  return (
    <div class="revision">
      <h3>{label}</h3>
      <p>{revisionText(revision)}</p>
      <ul class="plain muted">
        {images.map(([container, image]) => (
          <li key={container}>
            {container}: <code>{image}</code>
          </li>
        ))}
        {revision.taskDefinitionArn ? (
          <li>
            task definition <code>{revision.taskDefinitionArn}</code>
          </li>
        ) : null}
        {revision.desiredCount !== undefined ? <li>{revision.desiredCount} tasks desired</li> : null}
      </ul>
    </div>
  );
}

function Failure({ failure }: { failure: NonNullable<DeploymentRecord['failure']> }) {
  return (
    <section aria-labelledby="failure">
      <h2 id="failure">Why it failed</h2>
      <p>{failure.reason}</p>
      {failure.serviceEvents.length > 0 ? (
        <ul>
          {failure.serviceEvents.map((event) => (
            <li key={`${event.at}${event.message}`}>
              <Time value={event.at} />: {event.message}
            </li>
          ))}
        </ul>
      ) : null}
      {failure.stoppedTasks.length > 0 ? (
        <ul>
          {failure.stoppedTasks.map((task) => (
            <li key={task.taskArn}>
              Task <code>{task.taskArn.slice(task.taskArn.lastIndexOf('/') + 1)}</code> stopped
              {task.stoppedReason ? `: ${task.stoppedReason}` : ''}
              {task.containers
                .filter((container) => container.exitCode !== undefined || container.reason)
                .map((container) => ` · ${container.name} exit ${container.exitCode ?? '?'} ${container.reason ?? ''}`)}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export function Deployment({ id, me }: { id: string; me: Me }) {
  const path = `/v1/deployments/${encodeURIComponent(id)}`;
  const polled = usePolling(
    `deployment:${id}`,
    async () => (await apiGet<{ deployment: DeploymentRecord }>(path)).deployment,
    BOARD_INTERVAL_MS,
    isFinal,
  );
  const [confirming, setConfirming] = useState<Confirming>();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState<ApiError>();
  const [done, setDone] = useState<string>();
  const deployment = polled.data;
  const now = polled.updatedAt ?? Date.now();

  const act = async (what: 'approve' | 'cancel' | 'rollback') => {
    if (!deployment) return;
    setBusy(true);
    setFailed(undefined);
    setDone(undefined);
    try {
      if (what === 'rollback') {
        const body = reason.trim() ? { reason: reason.trim() } : {};
        const answer = await apiPost<{ deployment: DeploymentRecord }>(
          `/v1/apps/${encodeURIComponent(deployment.app)}/environments/${encodeURIComponent(deployment.environment)}/rollback`,
          body,
        );
        setConfirming(undefined);
        navigate(paths.deployment(answer.deployment.id));
        return;
      }
      await apiPost<{ deployment: DeploymentRecord }>(`${path}/${what}`);
      setConfirming(undefined);
      setDone(what === 'approve' ? 'Approved.' : 'Cancelled.');
      polled.reload();
    } catch (error) {
      setConfirming(undefined);
      setFailed(error as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const actions = deployment ? deploymentActions(me, deployment, Date.now()) : undefined;
  return (
    <>
      <h1 tabIndex={-1}>Deployment {id}</h1>
      <PollStatus polled={polled} finalText="The deployment has ended: no more updates." />
      {!deployment && polled.error ? <Problem error={polled.error} /> : null}
      {deployment ? (
        <>
          <p role="status" class="big-state">
            State: <StateLabel state={deployment.state} />
          </p>
          <dl class="facts">
            <dt>Environment</dt>
            <dd>
              <a href={paths.environment(deployment.app, deployment.environment)}>
                {deployment.app} / {deployment.environment}
              </a>
            </dd>
            <dt>Kind</dt>
            <dd>{deployment.kind}</dd>
            <dt>Requested by</dt>
            <dd>
              {deployment.requestedBy.name}
              {deployment.requestedBy.person && deployment.requestedBy.person !== deployment.requestedBy.name
                ? ` (${deployment.requestedBy.person})`
                : ''}
            </dd>
            {deployment.reason ? (
              <>
                <dt>Reason</dt>
                <dd>{deployment.reason}</dd>
              </>
            ) : null}
            <dt>Requested</dt>
            <dd>
              <Time value={deployment.createdAt} /> (<Age value={deployment.createdAt} now={now} />)
            </dd>
            <dt>Last change</dt>
            <dd>
              <Time value={deployment.updatedAt} />
            </dd>
          </dl>
          <section aria-labelledby="change">
            <h2 id="change">From → to</h2>
            <div class="revisions">
              <Revision label="From" revision={deployment.from} />
              <span aria-hidden="true" class="arrow">
                →
              </span>
              <Revision label="To" revision={deployment.to} />
            </div>
          </section>
          <section aria-labelledby="approvals">
            <h2 id="approvals">Approvals</h2>
            {deployment.approvals.required === 0 ? (
              <p>None needed.</p>
            ) : (
              <>
                <p>
                  {deployment.approvals.by.length} of {deployment.approvals.required} given
                  {deployment.approvals.deadline ? (
                    <>
                      ; {deployment.state === 'PENDING_APPROVAL' ? 'expires' : 'deadline'}{' '}
                      <Time value={deployment.approvals.deadline} />
                    </>
                  ) : null}
                  .
                </p>
                {deployment.approvals.by.length > 0 ? (
                  <ul>
                    {deployment.approvals.by.map((approval) => (
                      <li key={`${approval.by}${approval.at}`}>
                        {approval.by} at <Time value={approval.at} />
                      </li>
                    ))}
                  </ul>
                ) : null}
              </>
            )}
          </section>
          {actions && (actions.approve || actions.cancel || actions.rollback) ? (
            <section aria-labelledby="actions" class="actions">
              <h2 id="actions">Actions</h2>
              {actions.approve ? (
                <button type="button" class="primary" disabled={busy} onClick={() => act('approve')}>
                  Approve
                </button>
              ) : null}
              {actions.cancel ? (
                <button type="button" disabled={busy} onClick={() => setConfirming('cancel')}>
                  Cancel deployment
                </button>
              ) : null}
              {actions.rollback ? (
                <button type="button" disabled={busy} onClick={() => setConfirming('rollback')}>
                  Roll back
                </button>
              ) : null}
            </section>
          ) : null}
          <Problem error={failed} />
          {done ? <p class="done">{done}</p> : null}
          {deployment.failure ? <Failure failure={deployment.failure} /> : null}
          {deployment.ecsUnreachable ? (
            <p class="problem">
              ECS could not be asked about this deployment since <Time value={deployment.ecsUnreachable.at} />:{' '}
              {deployment.ecsUnreachable.reason}
            </p>
          ) : null}
          <section aria-labelledby="timeline">
            <h2 id="timeline">Timeline</h2>
            <ol aria-labelledby="timeline" class="timeline">
              {deployment.timeline.map((entry) => (
                <li key={`${entry.at}${entry.state}`}>
                  <Time value={entry.at} /> <StateLabel state={entry.state} />
                  {entry.by ? ` by ${entry.by}` : ''}
                  {entry.note ? `: ${entry.note}` : ''}
                </li>
              ))}
            </ol>
          </section>
        </>
      ) : null}
      {confirming && deployment ? (
        <Dialog
          title={
            confirming === 'cancel'
              ? `Cancel deployment ${deployment.id}?`
              : `Roll back ${deployment.app} / ${deployment.environment}?`
          }
          onDismiss={() => setConfirming(undefined)}
        >
          {confirming === 'cancel' ? (
            <p>It will never start; it is waiting for approval now.</p>
          ) : (
            <>
              <p>
                {deployment.app} / {deployment.environment} goes back to the revision that ran before the successful
                deployment of what runs there now, as a new deployment.
              </p>
              <label for="rollback-reason">Reason (optional)</label>
              <input
                id="rollback-reason"
                type="text"
                maxLength={500}
                value={reason}
                onInput={(event) => setReason((event.target as HTMLInputElement).value)}
              />
            </>
          )}
          <div class="dialog-buttons">
            <button type="button" class="primary" disabled={busy} onClick={() => act(confirming)}>
              Confirm
            </button>
            <button type="button" data-autofocus onClick={() => setConfirming(undefined)}>
              Back
            </button>
          </div>
        </Dialog>
      ) : null}
    </>
  );
}
