import { imageTag, shortDigest } from '../format';
import { paths } from '../routes';
import type { DeploymentRecord } from '../types';
import { StateLabel } from './state';
import { Age } from './time';

/** Pieces the board, the environment and the deployment pages show of deployments alike. */

type Revision = DeploymentRecord['from'] & { tag?: string };

/** What a revision runs, shortly: its tag and short digest, else its task definition's revision, else its count. */
export function revisionText(revision: Revision | undefined): string {
  if (!revision) return '–';
  const tag =
    revision.tag ??
    Object.values(revision.images ?? {})
      .map(imageTag)
      .find(Boolean);
  const digest = shortDigest(revision.digest);
  const parts = [tag, digest].filter(Boolean);
  if (parts.length > 0) return parts.join(' ');
  const arn = revision.taskDefinitionArn;
  if (arn) return arn.slice(arn.lastIndexOf('/') + 1);
  return revision.desiredCount !== undefined ? `${revision.desiredCount} tasks` : '–';
}

export function DeploymentLink({ deployment }: { deployment: Pick<DeploymentRecord, 'id' | 'state'> }) {
  return (
    <>
      <a class="id" href={paths.deployment(deployment.id)}>
        {deployment.id}
      </a>{' '}
      <StateLabel state={deployment.state} />
    </>
  );
}

/** The newest entry of a deployment's timeline: its state, note and age. */
export function LatestEntry({ deployment, now }: { deployment: DeploymentRecord; now: number }) {
  const entry = deployment.timeline[deployment.timeline.length - 1];
  if (!entry) return null;
  return (
    <span class="muted">
      {entry.state}
      {entry.note ? `: ${entry.note}` : ''} (<Age value={entry.at} now={now} />)
    </span>
  );
}
