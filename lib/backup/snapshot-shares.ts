import {
  ModifyDBClusterSnapshotAttributeCommand,
  ModifyDBSnapshotAttributeCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';

/** A manual snapshot's `restore` attribute, given or taken from one account (ModifyDBSnapshotAttribute, RDS API Reference). */
export interface SnapshotShare {
  type: 'instance' | 'cluster';
  identifier: string;
  accountId: string;
}

/** Shares the snapshot with the account (`add`) or stops sharing it (`remove`). */
export function changeSnapshotShare(rds: RDSClient, share: SnapshotShare, change: 'add' | 'remove') {
  const values = change === 'add' ? { ValuesToAdd: [share.accountId] } : { ValuesToRemove: [share.accountId] };
  return share.type === 'cluster'
    ? rds.send(
        new ModifyDBClusterSnapshotAttributeCommand({
          DBClusterSnapshotIdentifier: share.identifier,
          AttributeName: 'restore',
          ...values,
        }),
      )
    : rds.send(
        new ModifyDBSnapshotAttributeCommand({
          DBSnapshotIdentifier: share.identifier,
          AttributeName: 'restore',
          ...values,
        }),
      );
}
