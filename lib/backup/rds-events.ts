import * as z from 'zod';

/** `RDS DB Snapshot Event` and `RDS DB Cluster Snapshot Event`, as EventBridge delivers them (best effort). */
export const rdsSnapshotEvent = z.object({
  id: z.string().min(1),
  source: z.literal('aws.rds'),
  'detail-type': z.enum(['RDS DB Snapshot Event', 'RDS DB Cluster Snapshot Event']),
  account: z.string(),
  region: z.string().min(1),
  time: z.string(),
  detail: z.object({
    EventID: z.string().min(1),
    SourceIdentifier: z.string().min(1),
    SourceArn: z.string().optional(),
    SourceType: z.string().optional(),
    Message: z.string().default(''),
    Date: z.string().optional(),
  }),
});
export type RdsSnapshotEvent = z.output<typeof rdsSnapshotEvent>;

/**
 * A manual DB snapshot, and a manual DB cluster snapshot (Aurora and Multi-AZ DB clusters), has been
 * created ("Amazon RDS event categories and event messages", RDS User Guide).
 */
export const SNAPSHOT_CREATED_EVENTS = ['RDS-EVENT-0042', 'RDS-EVENT-0075'] as const;
