import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import { imageScanEvent, scanOf } from '../../lib/release/ecr-events';
import type { Releases, TargetOutcome } from '../../lib/release/releases';
import { eventHandlerDeps } from '../../lib/wiring/events';
import { releases } from '../../lib/wiring/releases';

export interface EcrImageScanDeps extends EventHandlerDeps {
  releases: Pick<Releases, 'onScan' | 'fromElsewhere'>;
}

/**
 * `ECR Image Scan` (basic scanning) and `Inspector2 Scan` (enhanced scanning): releases waiting for
 * this digest's scan deploy, or are refused with the counts.
 */
export function makeHandler(deps: EcrImageScanDeps) {
  return eventHandler(
    { name: 'ecrImageScan', schema: imageScanEvent },
    deps,
    async (event): Promise<{ ignored?: string; targets: TargetOutcome[] }> => {
      const scan = scanOf(event);
      const elsewhere = deps.releases.fromElsewhere(event, scan.repository);
      if (elsewhere) return { ignored: elsewhere, targets: [] };
      if ('ignored' in scan) {
        logger.info('scan event ignored', { eventId: event.id, repository: scan.repository, reason: scan.ignored });
        return { ignored: scan.ignored, targets: [] };
      }
      const targets = await deps.releases.onScan(scan.repository, scan.digest, scan.counts);
      logger.info('scan handled', { eventId: event.id, repository: scan.repository, targets });
      return { targets };
    },
  );
}

function defaultDeps(): EcrImageScanDeps {
  return { releases: releases(), ...eventHandlerDeps() };
}

export const handler = makeHandler(defaultDeps());
