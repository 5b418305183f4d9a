import { z } from 'zod';

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

/** Manual snapshot created (instance), manual cluster snapshot created (Aurora). */
export const SNAPSHOT_CREATED_EVENTS = ['RDS-EVENT-0042', 'RDS-EVENT-0075'] as const;

const SNAPSHOT_NAME = /^slipway-([a-z][a-z0-9-]*)-(\d{12})$/;

/** `slipway-<database>-<yyyymmddhhmm>` in UTC: sortable, and names its database. */
export function snapshotName(database: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, '').slice(0, 12);
  return `slipway-${database}-${stamp}`;
}

export function databaseOfSnapshot(identifier: string): string | undefined {
  return SNAPSHOT_NAME.exec(identifier)?.[1];
}
