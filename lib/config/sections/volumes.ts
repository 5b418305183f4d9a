import * as z from 'zod';
import { placementKeys, VOLUME_PLACEMENT } from './accounts';
import { archiveDrill, expects, retention, scheduleExpression } from './values';

/** volumes: EFS access points archived to S3 on a schedule. */

export const volume = z.strictObject(
  {
    fileSystemId: z
      .string(expects('an EFS file system id such as fs-0123456789abcdef0'))
      .regex(/^fs-[0-9a-f]{8,40}$/, expects('an EFS file system id such as fs-0123456789abcdef0')),
    accessPointId: z
      .string(expects('an EFS access point id such as fsap-0123456789abcdef0'))
      .regex(/^fsap-[0-9a-f]{8,40}$/, expects('an EFS access point id such as fsap-0123456789abcdef0')),
    ...placementKeys('the EFS file system', VOLUME_PLACEMENT),
    schedule: scheduleExpression.default('cron(30 3 * * ? *)'),
    retention: retention.default({ daily: 7, weekly: 4, monthly: 0 }),
    runner: z
      .enum(['lambda', 'ecs'], expects('lambda or ecs'))
      .default('lambda')
      .describe(
        'lambda: a function with the volume mounted (up to 15 minutes); ecs: the worker task, for volumes that take longer',
      ),
    compression: z
      .enum(['gzip', 'zstd'], expects('gzip or zstd'))
      .default('gzip')
      .describe('zstd is faster and smaller; it needs Node 22.15 or later in the runner'),
    restoreDrill: archiveDrill,
  },
  expects('a volume {fileSystemId, accessPointId, schedule, retention, runner, compression}'),
);
