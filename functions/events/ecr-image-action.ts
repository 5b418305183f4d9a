import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger, metrics } from '../../lib/observability';
import { type EcrImageActionEvent, ecrImageActionEvent, repositoryUri } from '../../lib/release/ecr-events';
import type { PushOutcome, Releases } from '../../lib/release/releases';
import { eventHandlerDeps } from '../../lib/wiring/events';
import { releases } from '../../lib/wiring/releases';

export interface EcrImageActionDeps extends EventHandlerDeps {
  releases: Pick<Releases, 'onPush' | 'fromElsewhere'>;
}

/** Why an ECR image action is not a push to consider, or undefined when it is one. */
function noise(detail: EcrImageActionEvent['detail']): { reason: string; metric: string } | undefined {
  if (detail['action-type'] !== 'PUSH') return { reason: `${detail['action-type']} action`, metric: 'Delete' };
  if (detail.result !== 'SUCCESS') return { reason: 'the push failed', metric: 'Failure' };
  if (!detail['image-digest']) return { reason: 'the event names no digest', metric: 'NoDigest' };
  if (!detail['image-tag']) {
    return { reason: 'untagged push (an image index, attestation or signature)', metric: 'Untagged' };
  }
  return undefined;
}

/** `ECR Image Action`: a successful, tagged push becomes a release for every environment whose policy wants it. */
export function makeHandler(deps: EcrImageActionDeps) {
  return eventHandler(
    { name: 'ecrImageAction', schema: ecrImageActionEvent },
    deps,
    async (event): Promise<PushOutcome> => {
      const repository = repositoryUri(event.account, event.region, event.detail['repository-name']);
      const elsewhere = deps.releases.fromElsewhere(event, repository);
      if (elsewhere) return { ignored: elsewhere, targets: [] };
      const ignored = noise(event.detail);
      if (ignored) {
        logger.info('push ignored', { eventId: event.id, repository, reason: ignored.reason });
        metrics.addMetric(`PushesIgnored${ignored.metric}`, 'Count', 1);
        return { ignored: ignored.reason, targets: [] };
      }
      const outcome = await deps.releases.onPush({
        source: 'ecr-push',
        repository,
        digest: event.detail['image-digest'] as string,
        tags: [event.detail['image-tag'] as string],
        pushedAt: event.time,
      });
      logger.info('push handled', { eventId: event.id, repository, ...outcome });
      return outcome;
    },
  );
}

function defaultDeps(): EcrImageActionDeps {
  return { releases: releases(), ...eventHandlerDeps() };
}

export const handler = makeHandler(defaultDeps());
