import { clients } from '../../lib/aws/traced-clients';
import { sqsDeadLetters } from '../../lib/events/dead-letter';
import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import { ecrImageScanEvent, repositoryUri } from '../../lib/release/ecr-events';
import type { Releases, TargetOutcome } from '../../lib/release/releases';
import { runtime } from '../../lib/runtime';
import { releases } from '../../lib/runtime/releases';

export interface EcrImageScanDeps extends EventHandlerDeps {
  releases: Pick<Releases, 'onScan'>;
}

/** `ECR Image Scan`: releases waiting for this digest's scan deploy, or are refused with the counts. */
export function makeHandler(deps: EcrImageScanDeps) {
  return eventHandler(
    { name: 'ecrImageScan', schema: ecrImageScanEvent },
    deps,
    async (event): Promise<{ ignored?: string; targets: TargetOutcome[] }> => {
      const repository = repositoryUri(event.account, event.region, event.detail['repository-name']);
      if (event.detail['scan-status'] !== 'COMPLETE') {
        const ignored = `scan status ${event.detail['scan-status']}`;
        logger.info('scan event ignored', { eventId: event.id, repository, reason: ignored });
        return { ignored, targets: [] };
      }
      const targets = await deps.releases.onScan(
        repository,
        event.detail['image-digest'],
        event.detail['finding-severity-counts'],
      );
      logger.info('scan handled', { eventId: event.id, repository, targets });
      return { targets };
    },
  );
}

function defaultDeps(): EcrImageScanDeps {
  return { releases: releases(), deadLetters: sqsDeadLetters(clients.sqs(), runtime().env.deadLetterQueueUrl) };
}

export const handler = makeHandler(defaultDeps());
