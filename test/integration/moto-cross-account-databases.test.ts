import { EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  DescribeExportTasksCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import { AccountCredentials } from '../../lib/aws/account-credentials';
import { clientConfig } from '../../lib/aws/client-config';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { createStsClient } from '../../lib/aws/clients/sts';
import { Backups, type BackupsDeps } from '../../lib/backup/backups';
import { rdsSnapshotEvent } from '../../lib/backup/rds-events';
import type { BackupRecord } from '../../lib/backup/records';
import { configSchema } from '../../lib/config/schema';
import type { Publisher } from '../../lib/notify/publisher';
import { Restores } from '../../lib/restore/restores';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import { auditOn } from '../support/audit';
import { motoEndpoint, resetMoto } from '../support/moto';
import { createNetwork, createPostgresInstance, rdsSnapshotCreatedEvent, sessionOn } from '../support/moto-aws';
import { createStateTable } from '../support/resources';

/**
 * A database in another account and region, end to end on moto (which keeps a backend per account and region,
 * and implements sts:AssumeRole): the control plane in 111111111111/us-east-1 snapshots orders-db, an instance
 * in 222222222222/eu-west-1, as the backup's session on the member account's role; the snapshot is there and
 * not in the control plane's account; its RDS-EVENT-0042 from 222222222222 settles it, one claiming
 * 333333333333 is ignored; a restore of it creates a new instance in the member account; and its copy in us-east-1,
 * the backup bucket's region, is exported to the control plane's bucket through the member account's role (moto
 * implements StartExportTask and DescribeExportTasks: a task completes at once, and nothing is written to S3).
 */

const CONTROL_PLANE = '111111111111';
const MEMBER = '222222222222';
const MEMBER_REGION = 'eu-west-1';
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-takeBackup`;
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-member`;
const SOURCE = 'orders-staging-db';
const TARGET = 'orders-staging-db-restore-1';
const TABLE = 'slipway-cross-account-databases-state';
const HOME = { account: CONTROL_PLANE, region: 'us-east-1' };
const BUCKET = 'slipway-prod-backups';
const EXPORT_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-rds-export`;
const EXPORT_KEY = `arn:aws:kms:us-east-1:${MEMBER}:key/3c4d5e6f-7081-4293-a4b5-c6d7e8f90a1b`;

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  accounts: {
    staging: {
      roleArn: MEMBER_ROLE,
      externalIdSecret: 'slipway/staging-external-id',
      regions: [MEMBER_REGION, 'us-east-1'],
    },
  },
  databases: {
    'orders-db': {
      rdsInstance: SOURCE,
      account: 'staging',
      region: MEMBER_REGION,
      copyToRegion: 'us-east-1',
      exportToS3: true,
      exportRoleArn: EXPORT_ROLE,
      exportKmsKeyId: EXPORT_KEY,
    },
  },
});

let env: Record<string, string>;
let own: AwsCredentialIdentity;
let memberRds: RDSClient;
let backups: Backups;
let restores: Restores;
let store: BackupStore;
const assumed: AssumeRoleCommandInput[] = [];
const published: Array<{ type: string; state?: string }> = [];

/** The instances and manual snapshots one account's RDS holds in a region. */
async function heldBy(rds: RDSClient) {
  const [{ DBInstances }, { DBSnapshots }] = await Promise.all([
    rds.send(new DescribeDBInstancesCommand({})),
    rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' })),
  ]);
  return {
    instances: (DBInstances ?? []).map((instance) => instance.DBInstanceIdentifier),
    snapshots: (DBSnapshots ?? []).map((snapshot) => snapshot.DBSnapshotIdentifier),
  };
}

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' };
  // Given the function's own credentials in the control plane's account, and the member's external id there
  own = await sessionOn(env, FUNCTION_ROLE, 'slipway-prod-takeBackup');
  const secrets = createSecretsManagerClient(env, own);
  await secrets.send(
    new CreateSecretCommand({ Name: 'slipway/staging-external-id', SecretString: 'orders-staging-5c1d' }),
  );

  // And, in 222222222222/eu-west-1, the orders PostgreSQL instance in a subnet group of its own network
  const seeding = await sessionOn(env, MEMBER_ROLE, 'operator-seeding', own);
  const memberEnv = { ...env, AWS_REGION: MEMBER_REGION };
  memberRds = createRdsClient(memberEnv, seeding);
  const network = await createNetwork(
    new EC2Client(clientConfig('ecs', memberEnv, seeding)),
    'orders-db',
    MEMBER_REGION,
  );
  await createPostgresInstance(memberRds, network, {
    identifier: SOURCE,
    subnetGroup: 'orders-db-subnets',
    username: 'orders',
    instanceClass: 'db.t4g.medium',
  });

  // And the control plane's state table in its own account, and its sessions on the accounts config names
  const dynamo = createDynamoDbClient(env, own);
  await createStateTable(dynamo, TABLE);
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const sts = createStsClient(env, own);
  sts.middlewareStack.add(
    (next) => async (args) => {
      assumed.push((args as { input: AssumeRoleCommandInput }).input);
      return next(args);
    },
    { step: 'initialize', name: 'recordAssumeRole' },
  );
  const accounts = new AccountCredentials(config.accounts, { sts, secrets, env });
  // As lib/wiring/rds.ts's rdsFor: the function's own credentials at home, the operation's session elsewhere.
  const rdsFor: BackupsDeps['rdsFor'] = (place, operation) =>
    place.account === undefined
      ? createRdsClient({ ...env, AWS_REGION: place.region ?? 'us-east-1' }, own)
      : accounts.client(createRdsClient, place, operation);
  const publisher = {
    publish: async (message: { type: string; state?: string }) => {
      published.push({ type: message.type, ...(message.state ? { state: message.state } : {}) });
      return true;
    },
  } as unknown as Publisher;
  const { audit } = auditOn(documents, TABLE);
  store = new BackupStore(documents, TABLE);
  const common = { config, rdsFor, region: 'us-east-1', publisher, audit };
  backups = new Backups({ ...common, store, backupBucket: BUCKET });
  restores = new Restores({ ...common, store: new RestoreStore(documents, TABLE), backups: store });
});

describe('orders-db in 222222222222/eu-west-1, backed up and restored from a control plane in 111111111111/us-east-1', () => {
  let taken: BackupRecord;

  it('snapshots the instance in the member account, as the backup’s session on its role', async () => {
    // When alice asks for a snapshot of orders-db
    taken = await backups.take('orders-db', 'api:alice');

    // Then it is being created, in eu-west-1
    expect(taken).toMatchObject({ status: 'CREATING', kind: 'rds-snapshot', region: MEMBER_REGION });
    expect(taken.snapshotArn).toBe(`arn:aws:rds:${MEMBER_REGION}:${MEMBER}:snapshot:${taken.snapshotIdentifier}`);
    // And the member account's RDS holds it, seen with that account's credentials
    expect((await heldBy(memberRds)).snapshots).toEqual([taken.snapshotIdentifier]);
    // And the control plane's own account holds no snapshot nor instance, in either region
    for (const region of ['us-east-1', MEMBER_REGION]) {
      expect(await heldBy(createRdsClient({ ...env, AWS_REGION: region }, own))).toEqual({
        instances: [],
        snapshots: [],
      });
    }
    // And the role was assumed as a session named after the backup, with alice as its source identity
    expect(assumed).toEqual([
      expect.objectContaining({
        RoleArn: MEMBER_ROLE,
        RoleSessionName: taken.id,
        SourceIdentity: 'alice',
        ExternalId: 'orders-staging-5c1d',
      }),
    ]);
  });

  it('ignores an RDS-EVENT-0042 naming the snapshot that claims account 333333333333', async () => {
    // Given the snapshot's completion event, claimed by another account
    const forged = rdsSnapshotEvent.parse(
      await rdsSnapshotCreatedEvent(memberRds, taken.snapshotIdentifier, '333333333333'),
    );

    // When it is delivered
    const outcome = await backups.onSnapshotEvent(forged, HOME);

    // Then nothing changes
    expect(outcome).toEqual({
      applied: false,
      reason: `the event comes from account 333333333333 in ${MEMBER_REGION}, but database orders-db is in account ${MEMBER} in ${MEMBER_REGION} or us-east-1`,
    });
    expect((await store.get(taken.id))?.status).toBe('CREATING');
  });

  it('settles the snapshot on its RDS-EVENT-0042 from 222222222222 in eu-west-1', async () => {
    // Given the completion event, from the member account and region, as RDS sends it
    const event = rdsSnapshotEvent.parse(await rdsSnapshotCreatedEvent(memberRds, taken.snapshotIdentifier));
    expect({ account: event.account, region: event.region }).toEqual({ account: MEMBER, region: MEMBER_REGION });

    // When it is delivered
    const outcome = await backups.onSnapshotEvent(event, HOME);

    // Then the backup is AVAILABLE, and it was notified
    expect(outcome).toEqual({ applied: true, reason: `${taken.snapshotIdentifier} is AVAILABLE` });
    expect((await store.get(taken.id))?.status).toBe('AVAILABLE');
    expect(published.at(-1)).toEqual({ type: 'backup.state', state: 'AVAILABLE' });
  });

  it('restores the snapshot into a new instance in the member account, as the restore’s session', async () => {
    // When bob restores the backup into orders-staging-db-restore-1
    const restore = await restores.request({
      database: 'orders-db',
      backupId: taken.id,
      targetIdentifier: TARGET,
      requestedBy: 'bob',
    });

    // Then the restore runs in eu-west-1, and the member account holds the new instance beside its source
    expect(restore).toMatchObject({ status: 'RESTORING', region: MEMBER_REGION, targetIdentifier: TARGET });
    expect((await heldBy(memberRds)).instances.sort()).toEqual([SOURCE, TARGET]);
    const restored = (await memberRds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: TARGET })))
      .DBInstances?.[0];
    expect(restored?.DBSubnetGroup?.DBSubnetGroupName).toBe('orders-db-subnets');
    // And the control plane's account still holds none
    expect((await heldBy(createRdsClient({ ...env, AWS_REGION: MEMBER_REGION }, own))).instances).toEqual([]);
    // And the role was assumed as the restore's session, with bob as its source identity
    expect(assumed.at(-1)).toMatchObject({ RoleSessionName: restore.id, SourceIdentity: 'bob' });

    // When the reconciler asks after it, through the same session, then it is AVAILABLE (moto restores at once)
    expect(await restores.reconcile()).toEqual([{ id: restore.id, outcome: 'AVAILABLE' }]);
  });
  it('exports the snapshot’s copy in us-east-1 to the control plane’s bucket, through the member account’s role', async () => {
    // When the reconciler runs: the copy to us-east-1 starts in the member account, and moto makes it at once
    const copyStarted = await backups.reconcile();
    const copy = (await store.list('orders-db', { limit: 20 })).items.find(
      (record) => record.kind === 'snapshot-copy',
    ) as BackupRecord;
    expect(copyStarted).toEqual([{ id: copy.id, outcome: 'CREATING' }]);

    // When it runs again: the copy is available, and its export starts through the member role
    const exportStarted = await backups.reconcile();
    const exported = (await store.list('orders-db', { limit: 20 })).items.find(
      (record) => record.kind === 'snapshot-export',
    ) as BackupRecord;
    expect(exportStarted).toEqual([
      { id: copy.id, outcome: 'AVAILABLE' },
      { id: exported.id, outcome: 'CREATING' },
    ]);
    expect(exported).toMatchObject({ region: 'us-east-1', parentId: copy.id });
    expect(assumed.at(-1)).toMatchObject({
      RoleArn: MEMBER_ROLE,
      RoleSessionName: exported.id,
      SourceIdentity: 'slipway',
    });

    // Then the member account's RDS in us-east-1 holds the task, of the copy, into the control plane's bucket
    const memberUs = await sessionOn(env, MEMBER_ROLE, 'operator-checking', own);
    const tasks = (
      await createRdsClient({ ...env, AWS_REGION: 'us-east-1' }, memberUs).send(new DescribeExportTasksCommand({}))
    ).ExportTasks;
    expect(tasks).toEqual([
      expect.objectContaining({
        ExportTaskIdentifier: exported.snapshotIdentifier,
        SourceArn: `arn:aws:rds:us-east-1:${MEMBER}:snapshot:${taken.snapshotIdentifier}`,
        S3Bucket: BUCKET,
        S3Prefix: `rds-exports/orders-db/${taken.snapshotIdentifier}`,
        IamRoleArn: EXPORT_ROLE,
        KmsKeyId: EXPORT_KEY,
      }),
    ]);
    // And the control plane's own account runs none
    const ownTasks = (
      await createRdsClient({ ...env, AWS_REGION: 'us-east-1' }, own).send(new DescribeExportTasksCommand({}))
    ).ExportTasks;
    expect(ownTasks).toEqual([]);

    // When the reconciler runs once more, the export is settled from the member account's answer
    expect(await backups.reconcile()).toEqual([{ id: exported.id, outcome: 'AVAILABLE' }]);
  });
});
