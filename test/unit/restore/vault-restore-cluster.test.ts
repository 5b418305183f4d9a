import {
  CreateDBInstanceCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  ModifyDBClusterSnapshotAttributeCommand,
  RDSClient,
  RestoreDBClusterFromSnapshotCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import type { BackupRecord, RestoreRecord } from '../../../lib/backup/records';
import { configSchema } from '../../../lib/config/schema';
import type { Publisher } from '../../../lib/notify/publisher';
import { requestRestore } from '../../../lib/restore/restore-requests';
import { type RestoresDeps, restoresContext } from '../../../lib/restore/restores-context';
import { memoryAudit } from '../../support/audit';

/**
 * A cluster's vault copy restored into another account, in the order AWS needs it: the copy described in the vault,
 * shared with the target account, restored there by its ARN, then given its writer. RDS answers are
 * aws-sdk-client-mock's, shaped as the RDS API Reference's.
 */

const COPY_ARN = 'arn:aws:rds:us-east-1:444444444444:cluster-snapshot:slipway-reports-db-202611220300';
const copy = {
  id: 'bkp-00000000-0000-4000-8000-000000000200',
  kind: 'snapshot-copy',
  database: 'reports-db',
  source: { type: 'cluster', identifier: 'reports-aurora' },
  snapshotIdentifier: 'slipway-reports-db-202611220300',
  snapshotArn: COPY_ARN,
  region: 'us-east-1',
  account: 'vault',
  status: 'AVAILABLE',
  trigger: 'schedule',
  encrypted: false,
  createdAt: '2026-11-22T03:00:00.000Z',
  updatedAt: '2026-11-22T03:10:00.000Z',
} as BackupRecord;

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  accounts: {
    vault: { roleArn: 'arn:aws:iam::444444444444:role/slipway-vault' },
    staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member' },
  },
  backups: { vaultAccount: 'vault' },
  databases: { 'reports-db': { rdsCluster: 'reports-aurora' } },
});

describe('a cluster’s vault copy restored into account staging', () => {
  it('is described in the vault, shared with staging, restored there by ARN at its engine version, and given its writer', async () => {
    // Given RDS in the vault and in staging, each answering as the RDS API Reference shows
    const vault = new RDSClient({ region: 'us-east-1' });
    const staging = new RDSClient({ region: 'us-east-1' });
    const inVault = mockClient(vault);
    const inStaging = mockClient(staging);
    const calls: string[] = [];
    inVault.on(DescribeDBClusterSnapshotsCommand).callsFake(() => {
      calls.push('vault DescribeDBClusterSnapshots');
      return {
        DBClusterSnapshots: [
          { DBClusterIdentifier: 'reports-aurora', Engine: 'aurora-postgresql', EngineVersion: '16.4' },
        ],
      };
    });
    inVault.on(ModifyDBClusterSnapshotAttributeCommand).callsFake(() => {
      calls.push('vault ModifyDBClusterSnapshotAttribute');
      return {};
    });
    inStaging.on(DescribeDBClustersCommand).callsFake(() => {
      calls.push('staging DescribeDBClusters');
      throw Object.assign(new Error('DBCluster not found'), { name: 'DBClusterNotFoundFault' });
    });
    inStaging.on(RestoreDBClusterFromSnapshotCommand).callsFake(() => {
      calls.push('staging RestoreDBClusterFromSnapshot');
      return {};
    });
    inStaging.on(CreateDBInstanceCommand).callsFake(() => {
      calls.push('staging CreateDBInstance');
      return {};
    });
    const created: RestoreRecord[] = [];
    const ctx = restoresContext({
      config,
      store: { create: async (record: RestoreRecord) => created.push(record) } as unknown as RestoresDeps['store'],
      backups: { get: async () => copy } as unknown as RestoresDeps['backups'],
      rdsFor: (place) => (place.account === 'vault' ? vault : staging),
      region: 'us-east-1',
      publisher: { publish: async () => true } as unknown as Publisher,
      audit: memoryAudit().audit,
      newId: () => 'rst-00000000-0000-4000-8000-000000000001',
    });

    // When an operator restores the copy into staging with a writer class
    const record = await requestRestore(ctx, {
      database: 'reports-db',
      backupId: copy.id,
      targetIdentifier: 'reports-aurora-restore-1',
      account: 'staging',
      overrides: { instanceClass: 'db.r6g.large' },
      requestedBy: 'alice',
    });

    // Then the calls come in that order, the share before the restore
    expect(calls).toEqual([
      'staging DescribeDBClusters',
      'vault DescribeDBClusterSnapshots',
      'vault ModifyDBClusterSnapshotAttribute',
      'staging RestoreDBClusterFromSnapshot',
      'staging CreateDBInstance',
    ]);
    expect(inVault.commandCalls(ModifyDBClusterSnapshotAttributeCommand)[0]?.args[0].input).toEqual({
      DBClusterSnapshotIdentifier: 'slipway-reports-db-202611220300',
      AttributeName: 'restore',
      ValuesToAdd: ['222222222222'],
    });
    expect(inStaging.commandCalls(RestoreDBClusterFromSnapshotCommand)[0]?.args[0].input).toMatchObject({
      DBClusterIdentifier: 'reports-aurora-restore-1',
      SnapshotIdentifier: COPY_ARN,
      Engine: 'aurora-postgresql',
      EngineVersion: '16.4',
    });
    expect(inStaging.commandCalls(CreateDBInstanceCommand)[0]?.args[0].input).toMatchObject({
      DBInstanceIdentifier: 'reports-aurora-restore-1-1',
      DBClusterIdentifier: 'reports-aurora-restore-1',
      DBInstanceClass: 'db.r6g.large',
    });
    // And the restore is recorded in staging, followed on its writer, with its share to remove
    expect(record).toMatchObject({
      account: 'staging',
      source: { type: 'cluster', identifier: 'reports-aurora' },
      vaultShare: { vault: 'vault', accountId: '222222222222' },
    });
    expect(record).not.toHaveProperty('multiAZCluster');
    expect(created).toEqual([record]);
  });
});
