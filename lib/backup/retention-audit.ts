import type { AuditInput, AuditOutcome } from '../audit/records';

/** The audit entry of a backup the retention rules deleted, snapshots and archives alike: automatic, never a person. */
export const retentionDeletion = (target: AuditInput['target'], outcome: AuditOutcome): AuditInput => ({
  source: 'automatic',
  actor: 'retention',
  action: 'backup.delete',
  decision: 'allowed',
  target,
  outcome,
});
