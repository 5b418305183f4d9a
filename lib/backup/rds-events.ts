import * as z from 'zod/mini';
import '../errors/validation';

/**
 * `RDS DB Snapshot Event` and `RDS DB Cluster Snapshot Event`, as EventBridge delivers them (best effort). Built in
 * a call marked pure: the functions that read only SNAPSHOT_CREATED_EVENTS drop it.
 */
export const rdsSnapshotEvent = /* @__PURE__ */ (() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    source: z.literal('aws.rds'),
    'detail-type': z.enum(['RDS DB Snapshot Event', 'RDS DB Cluster Snapshot Event']),
    account: z.string(),
    region: z.string().check(z.minLength(1)),
    time: z.string(),
    detail: z.object({
      EventID: z.string().check(z.minLength(1)),
      SourceIdentifier: z.string().check(z.minLength(1)),
      SourceArn: z.optional(z.string()),
      SourceType: z.optional(z.string()),
      Message: z._default(z.string(), ''),
      Date: z.optional(z.string()),
    }),
  }))();
export type RdsSnapshotEvent = z.output<typeof rdsSnapshotEvent>;

/**
 * A manual DB snapshot, and a manual DB cluster snapshot (Aurora and Multi-AZ DB clusters), has been
 * created ("Amazon RDS event categories and event messages", RDS User Guide).
 */
export const SNAPSHOT_CREATED_EVENTS = ['RDS-EVENT-0042', 'RDS-EVENT-0075'] as const;
