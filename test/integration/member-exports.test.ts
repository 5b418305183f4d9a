import {
  CopyDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  DescribeExportTasksCommand,
  type ExportTask,
  RDSClient,
  StartExportTaskCommand,
} from '@aws-sdk/client-rds';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Operation, Place } from '../../lib/aws/account-credentials';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { Backups } from '../../lib/backup/backups';
import type { BackupRecord } from '../../lib/backup/records';
import { configSchema } from '../../lib/config/schema';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import type { Publisher } from '../../lib/notify/publisher';
import { BackupStore } from '../../lib/store/backups';
import { auditOn } from '../support/audit';
import { createStateTable } from '../support/resources';

/**
 * Exports of a database in a member account (lib/backup/snapshot-follow-ups.ts, snapshot-settlement.ts), with the
 * state table on dynalite and each account's RDS mocked per place (aws-sdk-client-mock): the export starts in the
 * database's account, as the export's session on its role, into the control plane's bucket, counted against that
 * account's limit of five; RDS's refusals queue or fail it; a database away from the bucket's region exports its copy
 * there, or fails saying why.
 */

const MEMBER = '222222222222';
const BUCKET = 'slipway-prod-backups';
const EXPORT_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-rds-export`;
const EXPORT_KEY = `arn:aws:kms:us-east-1:${MEMBER}:key/3c4d5e6f-7081-4293-a4b5-c6d7e8f90a1b`;
const HOME_REGION = 'us-east-1';

const configFor = (orders: Record<string, unknown>) =>
  configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    accounts: { staging: { roleArn: `arn:aws:iam::${MEMBER}:role/slipway-member` } },
    databases: {
      'orders-db': {
        rdsInstance: 'orders-staging-db',
        account: 'staging',
        exportToS3: true,
        exportRoleArn: EXPORT_ROLE,
        exportKmsKeyId: EXPORT_KEY,
        ...orders,
      },
    },
  });

let dynamodb: EmbeddedServer;
let dynamo: ReturnType<typeof createDynamoDbClient>;
let documents: DynamoDBDocumentClient;
let tableName: string;
let tables = 0;
let ids = 0;
/** One RDS client per place (`<account>/<region>`, the control plane's account as `home`), each mocked. */
let clients: Map<string, RDSClient>;
let asked: Array<{ place: Place; operation: Operation }>;

const key = (place: Place) => `${place.account ?? 'home'}/${place.region}`;
const clientAt = (where: string) => {
  let client = clients.get(where);
  if (!client) {
    client = new RDSClient({
      region: where.split('/')[1] as string,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    clients.set(where, client);
  }
  return client;
};
const rdsFor = (place: Place, operation: Operation) => {
  asked.push({ place, operation });
  return clientAt(key(place));
};

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  dynamo = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: HOME_REGION });
  documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(() => dynamodb.close());

beforeEach(async () => {
  tables += 1;
  tableName = `slipway-member-exports-test-${tables}`;
  await createStateTable(dynamo, tableName);
  clients = new Map();
  asked = [];
});

const published: string[] = [];
const publisher = {
  publish: async (message: { type: string; state?: string }) => {
    published.push(`${message.type} ${message.state ?? ''}`.trim());
    return true;
  },
} as unknown as Publisher;

function backupsWith(orders: Record<string, unknown> = {}) {
  const store = new BackupStore(documents, tableName);
  const backups = new Backups({
    config: configFor(orders),
    store,
    rdsFor,
    region: HOME_REGION,
    backupBucket: BUCKET,
    publisher,
    audit: auditOn(documents, tableName).audit,
    now: () => new Date('2026-11-22T04:00:00.000Z'),
    newId: () => {
      ids += 1;
      return `bkp-00000000-0000-4000-8000-${String(ids).padStart(12, '0')}`;
    },
  });
  return { backups, store };
}

/** A snapshot (or copy) of orders-db being made in `region`, which RDS now reports available. */
async function snapshotMade(
  store: BackupStore,
  region: string,
  kind: 'rds-snapshot' | 'snapshot-copy' = 'rds-snapshot',
) {
  ids += 1;
  const identifier = 'slipway-orders-db-202611220330';
  const arn = `arn:aws:rds:${region}:${MEMBER}:snapshot:${identifier}`;
  const record: BackupRecord = {
    id: `bkp-snap-${ids}`,
    kind,
    database: 'orders-db',
    source: { type: 'instance', identifier: 'orders-staging-db' },
    region,
    snapshotIdentifier: identifier,
    snapshotArn: arn,
    status: 'CREATING',
    trigger: 'schedule',
    encrypted: false,
    createdAt: '2026-11-22T03:30:00.000Z',
    updatedAt: '2026-11-22T03:30:00.000Z',
  };
  await store.create(record);
  const rds = mockClient(clientAt(`staging/${region}`));
  rds
    .on(DescribeDBSnapshotsCommand)
    .resolves({ DBSnapshots: [] })
    .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: identifier })
    .resolves({ DBSnapshots: [{ DBSnapshotIdentifier: identifier, DBSnapshotArn: arn, Status: 'available' }] });
  return { record, rds };
}

const running = (count: number): ExportTask[] =>
  Array.from({ length: count }, (_, index) => ({ ExportTaskIdentifier: `warehouse-${index}`, Status: 'IN_PROGRESS' }));

const exportOf = async (store: BackupStore) =>
  (await store.list('orders-db', { limit: 20 })).items.find((record) => record.kind === 'snapshot-export') as
    | BackupRecord
    | undefined;

describe('the export of orders-db, in member account staging', () => {
  it('starts in the member account, as the export’s session, into the control plane’s bucket, and settles there', async () => {
    // Given orders-db in the bucket's region, its snapshot now available, and no export running in the account
    const { backups, store } = backupsWith();
    const { record, rds } = await snapshotMade(store, HOME_REGION);
    rds.on(DescribeExportTasksCommand).resolves({ ExportTasks: [] }).on(StartExportTaskCommand).resolves({});

    // When the reconciler runs
    await backups.reconcile();

    // Then the export was started in 222222222222/us-east-1 with the member account's role and key
    expect(rds.commandCalls(StartExportTaskCommand).map((call) => call.args[0].input)).toEqual([
      {
        ExportTaskIdentifier: 'slipway-orders-db-202611220330-export',
        SourceArn: record.snapshotArn,
        S3BucketName: BUCKET,
        S3Prefix: 'rds-exports/orders-db/slipway-orders-db-202611220330',
        IamRoleArn: EXPORT_ROLE,
        KmsKeyId: EXPORT_KEY,
      },
    ]);
    const exported = (await exportOf(store)) as BackupRecord;
    expect(exported).toMatchObject({ status: 'CREATING', region: HOME_REGION, parentId: record.id });
    // And the account's running exports were counted there, not in the control plane's account
    expect(rds.commandCalls(DescribeExportTasksCommand)[0]?.args[0].input).toEqual({
      Filters: [{ Name: 'status', Values: ['starting', 'in_progress', 'canceling'] }],
    });
    expect(clients.has(`home/${HOME_REGION}`)).toBe(false);
    // And the export was started as its own session on the member account's role
    expect(asked).toContainEqual({
      place: { account: 'staging', region: HOME_REGION },
      operation: { id: exported.id, principal: 'slipway' },
    });

    // When RDS reports the task complete, the next reconcile settles it, asking the member account
    rds.on(DescribeExportTasksCommand, { ExportTaskIdentifier: 'slipway-orders-db-202611220330-export' }).resolves({
      ExportTasks: [
        { ExportTaskIdentifier: exported.snapshotIdentifier, Status: 'COMPLETE', TotalExtractedDataInGB: 3 },
      ],
    });
    await backups.reconcile();
    expect(await exportOf(store)).toMatchObject({ status: 'AVAILABLE', sizeGiB: 3 });
  });

  it('waits while the member account runs five exports, and only then, whatever the control plane’s account runs', async () => {
    // Given five exports running in the member account, and five in the control plane's
    const { backups, store } = backupsWith();
    const { rds } = await snapshotMade(store, HOME_REGION);
    rds.on(DescribeExportTasksCommand).resolves({ ExportTasks: running(5) });
    mockClient(clientAt(`home/${HOME_REGION}`))
      .on(DescribeExportTasksCommand)
      .resolves({ ExportTasks: [] });

    // When the reconciler runs, then the export stays queued and RDS is not asked to start it
    const outcomes = await backups.reconcile();
    expect(outcomes).toContainEqual({ id: expect.any(String), outcome: 'queued (account export limit reached)' });
    expect(rds.commandCalls(StartExportTaskCommand)).toEqual([]);

    // When one of the member account's ends (a task reported ended holds no place), it starts, the control plane's
    // account still running five
    rds
      .on(DescribeExportTasksCommand)
      .resolves({ ExportTasks: [...running(4), { ExportTaskIdentifier: 'done', Status: 'COMPLETE' }] });
    rds.on(StartExportTaskCommand).resolves({});
    await backups.reconcile();
    expect(rds.commandCalls(StartExportTaskCommand)).toHaveLength(1);
  });

  it('keeps the export queued when RDS refuses it at its limit, and fails it when the member role may not start it', async () => {
    const { backups, store } = backupsWith();
    const { rds } = await snapshotMade(store, HOME_REGION);
    rds
      .on(DescribeExportTasksCommand)
      .resolves({ ExportTasks: [] })
      .on(StartExportTaskCommand)
      .rejectsOnce(Object.assign(new Error('too many exports'), { name: 'ExportTaskLimitReachedFault' }))
      .rejectsOnce(
        Object.assign(
          new Error(
            `User: arn:aws:sts::${MEMBER}:assumed-role/slipway-member/bkp is not authorized to perform: iam:PassRole`,
          ),
          {
            name: 'AccessDenied',
          },
        ),
      );

    // When the reconciler runs, RDS at its limit: the export is still queued
    await backups.reconcile();
    expect(await exportOf(store)).toMatchObject({ status: 'QUEUED' });

    // When it runs again and the member role is refused: the export fails, saying so
    await backups.reconcile();
    expect(await exportOf(store)).toMatchObject({
      status: 'FAILED',
      reason: expect.stringMatching(/^RDS refused the export \(AccessDenied\): .*iam:PassRole/),
    });
    expect(published).toContain('backup.state FAILED');
  });

  it('keeps the export queued, and still starts the copies, when the member account’s exports cannot be counted', async () => {
    // Given orders-db copied to us-west-2 and exported, and its role refused DescribeExportTasks
    const { backups, store } = backupsWith({ copyToRegion: 'us-west-2' });
    const { rds } = await snapshotMade(store, HOME_REGION);
    rds
      .on(DescribeExportTasksCommand)
      .rejects(
        Object.assign(new Error('not authorized to perform: rds:DescribeExportTasks'), { name: 'AccessDenied' }),
      );
    mockClient(clientAt('staging/us-west-2')).on(CopyDBSnapshotCommand).resolves({ DBSnapshot: {} });

    // When the reconciler runs
    const outcomes = await backups.reconcile();

    // Then the copy starts, and the export waits without asking RDS to start it
    expect(outcomes).toContainEqual({ id: expect.any(String), outcome: 'CREATING' });
    expect(outcomes).toContainEqual({ id: expect.any(String), outcome: 'queued (account export limit reached)' });
    expect(await exportOf(store)).toMatchObject({ status: 'QUEUED' });
    expect(rds.commandCalls(StartExportTaskCommand)).toEqual([]);
  });

  it('exports the copy in the bucket’s region of a database in eu-west-1, once the copy is available', async () => {
    // Given orders-db in eu-west-1, copied to us-east-1, its snapshot available there
    const { backups, store } = backupsWith({ region: 'eu-west-1', copyToRegion: HOME_REGION });
    await snapshotMade(store, 'eu-west-1');

    // When the reconciler settles the snapshot, then a copy is queued and no export
    await backups.reconcile();
    expect(await exportOf(store)).toBeUndefined();

    // When the copy in us-east-1 is available
    const { record: copy, rds } = await snapshotMade(store, HOME_REGION, 'snapshot-copy');
    rds.on(DescribeExportTasksCommand).resolves({ ExportTasks: [] }).on(StartExportTaskCommand).resolves({});
    await backups.reconcile();

    // Then the copy is exported, in us-east-1
    expect(await exportOf(store)).toMatchObject({ status: 'CREATING', region: HOME_REGION, parentId: copy.id });
    expect(rds.commandCalls(StartExportTaskCommand)[0]?.args[0].input.SourceArn).toBe(copy.snapshotArn);
  });

  it('fails the export of a database with no snapshot in the bucket’s region, saying why, without asking RDS', async () => {
    const key = 'arn:aws:kms:eu-west-1:222222222222:key/3c4d5e6f-7081-4293-a4b5-c6d7e8f90a1b';
    const { backups, store } = backupsWith({ region: 'eu-west-1', exportKmsKeyId: key });
    const { rds } = await snapshotMade(store, 'eu-west-1');
    rds.on(DescribeExportTasksCommand).resolves({ ExportTasks: [] });

    await backups.reconcile();

    expect(await exportOf(store)).toMatchObject({
      status: 'FAILED',
      region: 'eu-west-1',
      reason: `the backup bucket is in ${HOME_REGION} and RDS exports a snapshot only to a bucket in its own region (eu-west-1); set copyToRegion: ${HOME_REGION} to export the copy`,
    });
    expect(rds.commandCalls(StartExportTaskCommand)).toEqual([]);
  });
});
