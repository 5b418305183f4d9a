import { readFileSync } from 'node:fs';
import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  type DBSnapshot,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  StartExportTaskCommand,
} from '@aws-sdk/client-rds';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { makeHandler as makeCreateRestore } from '../../functions/http/create-restore';
import { makeHandler as makeListBackups, previewDeps } from '../../functions/http/list-backups';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { Backups } from '../../lib/backup/backups';
import { rdsSnapshotEvent } from '../../lib/backup/rds-events';
import { retentionPreviews } from '../../lib/backup/retention-previews';
import { configSchema } from '../../lib/config/schema';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { snsPublisher } from '../../lib/notify/publisher';
import { Restores } from '../../lib/restore/restores';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import { auditOn } from '../support/audit';
import { captureEmf } from '../support/emf';
import { type FakeRds, fakeRds } from '../support/fake-rds';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { createStateTable } from '../support/resources';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications';
const COPY_KEY = 'arn:aws:kms:us-west-2:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const EXPORT_KEY = 'arn:aws:kms:us-east-1:123456789012:key/9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4';
const EXPORT_ROLE = 'arn:aws:iam::123456789012:role/slipway-rds-export';
// The keys the fixtures' sources are encrypted with.
const SHOP_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1f2e3d4c-5b6a-4789-8123-456789abcdef';
const ORDERS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d';

function configWith(backups: Record<string, unknown> = {}, shop: Record<string, unknown> = {}) {
  return configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    backups,
    databases: {
      'shop-db': {
        rdsInstance: 'shop-prod',
        kmsKeyArn: SHOP_KEY,
        retention: { daily: 2, weekly: 0, monthly: 0 },
        copyToRegion: 'us-west-2',
        copyKmsKeyId: COPY_KEY,
        exportToS3: true,
        exportRoleArn: EXPORT_ROLE,
        exportKmsKeyId: EXPORT_KEY,
        restoreDrill: { schedule: 'cron(0 6 ? * SUN *)', instanceClass: 'db.t4g.small' },
        ...shop,
      },
    },
  });
}

let dynamodb: EmbeddedServer;
let dynamoClient: ReturnType<typeof createDynamoDbClient>;
let documents: DynamoDBDocumentClient;
let rds: FakeRds;
const mockSns = () => mockClient(SNSClient);
let sns: ReturnType<typeof mockSns>;
let clock: Date;
let tables = 0;
let tableName: string;
let trail: ReturnType<typeof auditOn>;
let ids = 0;

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(() => dynamodb.close());

beforeEach(async () => {
  tables += 1;
  tableName = `slipway-backups-test-${tables}`;
  await createStateTable(dynamoClient, tableName);
  rds = fakeRds();
  sns = mockSns();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  clock = new Date('2026-11-22T03:00:00.000Z');
  trail = auditOn(documents, tableName, () => clock);
});

afterEach(() => {
  rds.restore();
  sns.restore();
});

// The control plane's own account and region, whose RDS events the sample events are (events/rds.*.json).
const HOME = { account: '123456789012', region: 'us-east-1' };

const newId = (prefix: string) => () => {
  ids += 1;
  return `${prefix}-00000000-0000-4000-8000-${String(ids).padStart(12, '0')}`;
};

// These tests are of RDS: an archive route reached here is a routing mistake.
const noArchives = {
  restore: () => Promise.reject(new Error('an RDS restore was routed to archives')),
  retentionPreview: () => Promise.reject(new Error('an RDS preview was routed to archives')),
  settings: () => {
    throw new Error('an RDS preview was routed to archives');
  },
};

function backupsWith(config = configWith()) {
  return new Backups({
    config,
    store: new BackupStore(documents, tableName),
    rdsFor: rds.rdsFor,
    region: 'us-east-1',
    backupBucket: 'slipway-prod-backups',
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    audit: trail.audit,
    now: () => clock,
    newId: newId('bkp'),
  });
}

function restoresWith(config = configWith()) {
  return new Restores({
    config,
    store: new RestoreStore(documents, tableName),
    backups: new BackupStore(documents, tableName),
    rdsFor: rds.rdsFor,
    region: 'us-east-1',
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    audit: trail.audit,
    now: () => clock,
    newId: newId('rst'),
  });
}

const calls = (region: string, command: Parameters<FakeRds['stubs'][string]['commandCalls']>[0]) =>
  (rds.stubs[region]?.commandCalls(command) ?? []).map((call) => call.args[0].input);

/** The first item of a recorded RDS answer in test/fixtures/rds/. */
function fixture(name: string, key: string) {
  const described = JSON.parse(readFileSync(`test/fixtures/rds/${name}.json`, 'utf8'));
  return described[key][0];
}

function snapshotEvent(identifier: string) {
  const event = JSON.parse(readFileSync('events/rds.snapshot-created.json', 'utf8'));
  event.detail.SourceIdentifier = identifier;
  return rdsSnapshotEvent.parse(event);
}

const published = (type: string) =>
  sns.commandCalls(PublishCommand).filter((call) => call.args[0].input.MessageAttributes?.type?.StringValue === type);

describe('nightly snapshots', () => {
  it('snapshots an available instance with its name and tags, then completes from the RDS event', async () => {
    const backups = backupsWith();

    // When the schedule runs at 03:00
    const record = await backups.take('shop-db', 'schedule');

    // Then one snapshot is asked for, named and tagged for Slipway
    expect(calls('us-east-1', CreateDBSnapshotCommand)).toEqual([
      {
        DBSnapshotIdentifier: 'slipway-shop-db-202611220300',
        DBInstanceIdentifier: 'shop-prod',
        Tags: [
          { Key: 'slipway:database', Value: 'shop-db' },
          { Key: 'slipway:schedule', Value: 'cron(0 3 * * ? *)' },
          { Key: 'slipway:created-by', Value: 'slipway' },
        ],
      },
    ]);
    expect(record).toMatchObject({ status: 'CREATING', kind: 'rds-snapshot', trigger: 'schedule', encrypted: true });

    // When RDS reports the manual snapshot created
    rds.finishSnapshot('us-east-1', 'slipway-shop-db-202611220300');
    clock = new Date('2026-11-22T03:12:00.000Z');
    const outcome = await backups.onSnapshotEvent(snapshotEvent('slipway-shop-db-202611220300'), HOME);

    // Then it is available, with its size and duration, and a copy and an export are queued
    expect(outcome).toEqual({ applied: true, reason: 'slipway-shop-db-202611220300 is AVAILABLE' });
    const store = new BackupStore(documents, tableName);
    const listed = (await store.list('shop-db')).items;
    expect(listed.map((backup) => [backup.kind, backup.status])).toEqual(
      expect.arrayContaining([
        ['rds-snapshot', 'AVAILABLE'],
        ['snapshot-copy', 'QUEUED'],
        ['snapshot-export', 'QUEUED'],
      ]),
    );
    expect(listed.find((backup) => backup.kind === 'rds-snapshot')).toMatchObject({
      sizeGiB: 200,
      durationSeconds: 720,
    });
    // And the scheduled snapshot is in the audit trail, by the schedule
    expect(await trail.entries()).toEqual([
      expect.objectContaining({
        at: '2026-11-22T03:00:00.000Z',
        source: 'automatic',
        actor: 'schedule',
        action: 'backup.take',
        target: { database: 'shop-db', backupId: record.id, kind: 'rds-snapshot' },
        outcome: { result: 'succeeded', code: 'CREATING' },
      }),
    ]);
  });

  it('records a skip, with the reason, when the instance is not available', async () => {
    const instance = rds.regions['us-east-1']?.instances.get('shop-prod');
    if (instance) instance.DBInstanceStatus = 'modifying';
    const record = await backupsWith().take('shop-db', 'schedule');
    expect(record).toMatchObject({ status: 'SKIPPED', reason: 'instance shop-prod is modifying, not available' });
    expect(calls('us-east-1', CreateDBSnapshotCommand)).toEqual([]);
    expect(published('backup.state')).toHaveLength(1);
  });

  it('refuses clearly when the manual snapshot quota is full, and warns at 80 %', async () => {
    const region = rds.regions['us-east-1'];
    const existing = (id: string): DBSnapshot => ({
      DBSnapshotIdentifier: id,
      SnapshotType: 'manual',
      Status: 'available',
    });
    for (let index = 0; index < 3; index++) region?.snapshots.set(`other-${index}`, existing(`other-${index}`));
    const full = await backupsWith(configWith({ manualSnapshotQuota: 3 })).take('shop-db', 'schedule');
    expect(full).toMatchObject({
      status: 'FAILED',
      reason: 'the manual instance snapshot quota is full in us-east-1 (3 of 3); delete snapshots or raise the quota',
    });
    const nearly = await backupsWith(configWith({ manualSnapshotQuota: 5 })).take('shop-db', 'schedule');
    expect(nearly.status).toBe('CREATING');
    expect(published('backup.quota')).toHaveLength(1);
  });

  it('copies off-region with the destination key and exports to S3, within the in-flight limits, from the reconciler', async () => {
    const backups = backupsWith(configWith({ maxCopiesInFlight: 1, maxExportsInFlight: 1 }));
    // Given two nightly snapshots completed, their copies and exports queued
    for (const at of ['2026-11-21T03:00:00.000Z', '2026-11-22T03:00:00.000Z']) {
      clock = new Date(at);
      const record = await backups.take('shop-db', 'schedule');
      rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
      await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);
    }

    // When the reconciler runs
    clock = new Date('2026-11-22T03:20:00.000Z');
    await backups.reconcile();

    // Then exactly one copy (in us-west-2, with its key) and one export started; the others wait
    expect(calls('us-west-2', CopyDBSnapshotCommand)).toEqual([
      {
        SourceDBSnapshotIdentifier: 'arn:aws:rds:us-east-1:123456789012:snapshot:slipway-shop-db-202611210300',
        TargetDBSnapshotIdentifier: 'slipway-shop-db-202611210300',
        CopyTags: true,
        KmsKeyId: COPY_KEY,
      },
    ]);
    expect(calls('us-east-1', StartExportTaskCommand)).toEqual([
      {
        ExportTaskIdentifier: 'slipway-shop-db-202611210300-export',
        SourceArn: 'arn:aws:rds:us-east-1:123456789012:snapshot:slipway-shop-db-202611210300',
        S3BucketName: 'slipway-prod-backups',
        S3Prefix: 'rds-exports/shop-db/slipway-shop-db-202611210300',
        IamRoleArn: EXPORT_ROLE,
        KmsKeyId: EXPORT_KEY,
      },
    ]);

    // When the first copy and export finish, the next reconcile starts the second ones
    rds.finishSnapshot('us-west-2', 'slipway-shop-db-202611210300');
    const task = rds.regions['us-east-1']?.exports.get('slipway-shop-db-202611210300-export');
    if (task) task.Status = 'COMPLETE';
    await backups.reconcile();
    expect(calls('us-west-2', CopyDBSnapshotCommand)).toHaveLength(2);
    expect(calls('us-east-1', StartExportTaskCommand)).toHaveLength(2);
    const statuses = (await new BackupStore(documents, tableName).list('shop-db')).items.map((b) => [
      b.kind,
      b.status,
      'snapshotIdentifier' in b ? b.snapshotIdentifier : undefined,
    ]);
    expect(statuses).toEqual(
      expect.arrayContaining([
        ['snapshot-copy', 'AVAILABLE', 'slipway-shop-db-202611210300'],
        ['snapshot-export', 'AVAILABLE', 'slipway-shop-db-202611210300-export'],
      ]),
    );
  });

  it('snapshots an instance in storage-optimization, which CreateDBSnapshot accepts', async () => {
    // Given the source is fully operational while RDS optimizes its storage
    const instance = rds.regions['us-east-1']?.instances.get('shop-prod');
    if (instance) instance.DBInstanceStatus = 'storage-optimization';

    // When the schedule runs
    const record = await backupsWith().take('shop-db', 'schedule');

    // Then the snapshot is taken, not skipped
    expect(record.status).toBe('CREATING');
    expect(calls('us-east-1', CreateDBSnapshotCommand)).toHaveLength(1);
  });

  it('waits for a cross-region copy in pending, then records it available', async () => {
    const backups = backupsWith(configWith({}, { exportToS3: false }));
    clock = new Date('2026-11-21T03:00:00.000Z');
    const record = await backups.take('shop-db', 'schedule');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);
    clock = new Date('2026-11-21T03:20:00.000Z');
    await backups.reconcile();
    expect(calls('us-west-2', CopyDBSnapshotCommand)).toHaveLength(1);

    // Given the copy is pending in us-west-2, as DescribeDBSnapshots answers there before it starts copying
    const pending = fixture('describe-db-snapshots.copy-pending', 'DBSnapshots') as DBSnapshot;
    rds.regions['us-west-2']?.snapshots.set(pending.DBSnapshotIdentifier as string, pending);

    // When the reconciler runs, the copy is still being made
    clock = new Date('2026-11-21T03:25:00.000Z');
    await backups.reconcile();
    const copy = () =>
      new BackupStore(documents, tableName)
        .list('shop-db')
        .then((page) => page.items.find((backup) => backup.kind === 'snapshot-copy'));
    expect(await copy()).toMatchObject({ status: 'CREATING' });
    expect(published('backup.state').map((call) => call.args[0].input.Subject)).not.toContain(
      'Slipway: shop-db snapshot-copy FAILED',
    );

    // When it has copied, the next reconcile records it available
    rds.finishSnapshot('us-west-2', 'slipway-shop-db-202611210300');
    clock = new Date('2026-11-21T03:40:00.000Z');
    await backups.reconcile();
    expect(await copy()).toMatchObject({ status: 'AVAILABLE', durationSeconds: 2400 });
  });

  it('starts no export while the account runs five, whoever started them', async () => {
    const backups = backupsWith(configWith({}, { copyToRegion: undefined, copyKmsKeyId: undefined }));
    const record = await backups.take('shop-db', 'schedule');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);
    // Given five exports of the account's other snapshots still running in the region
    for (let index = 0; index < 5; index++) {
      rds.regions['us-east-1']?.exports.set(`nightly-warehouse-${index}`, {
        ExportTaskIdentifier: `nightly-warehouse-${index}`,
        Status: index % 2 === 0 ? 'STARTING' : 'IN_PROGRESS',
      });
    }

    // When the reconciler runs, the export stays queued
    const outcomes = await backups.reconcile();
    expect(calls('us-east-1', StartExportTaskCommand)).toEqual([]);
    expect(outcomes).toContainEqual({ id: expect.any(String), outcome: 'queued (account export limit reached)' });

    // When one of them completes, the export starts
    const done = rds.regions['us-east-1']?.exports.get('nightly-warehouse-0');
    if (done) done.Status = 'COMPLETE';
    await backups.reconcile();
    expect(calls('us-east-1', StartExportTaskCommand)).toHaveLength(1);
  });

  it('puts an export RDS refuses at its limit back in the queue, and starts it later', async () => {
    const backups = backupsWith(configWith({}, { copyToRegion: undefined, copyKmsKeyId: undefined }));
    const record = await backups.take('shop-db', 'schedule');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);
    // Given RDS refuses the export for its limit (started elsewhere between our count and our call)
    rds.refuseNext(
      'us-east-1',
      'StartExportTask',
      Object.assign(new Error('You have reached the maximum number of concurrent export tasks.'), {
        name: 'SnapshotQuotaExceededFault',
        $fault: 'client',
      }),
    );

    // When the reconciler runs, the export is queued again, not failed
    await backups.reconcile();
    const exported = () =>
      new BackupStore(documents, tableName)
        .list('shop-db')
        .then((page) => page.items.find((backup) => backup.kind === 'snapshot-export'));
    expect(await exported()).toMatchObject({ status: 'QUEUED' });
    expect(published('backup.state').map((call) => call.args[0].input.Subject)).not.toContain(
      'Slipway: shop-db snapshot-export FAILED',
    );

    // When the next reconcile runs, it starts
    await backups.reconcile();
    expect(calls('us-east-1', StartExportTaskCommand)).toHaveLength(2);
    expect(await exported()).toMatchObject({
      status: 'CREATING',
      snapshotIdentifier: `${record.snapshotIdentifier}-export`,
    });
  });

  it('names the export of a long database name with its whole time stamp', async () => {
    // Given a database whose name leaves no room for the stamp in 60 characters
    const name = 'orders-ledger-reconciliation-eu-central-1x';
    const config = configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      databases: {
        [name]: { rdsInstance: 'shop-prod', exportToS3: true, exportRoleArn: EXPORT_ROLE, exportKmsKeyId: EXPORT_KEY },
      },
    });
    const backups = backupsWith(config);
    const record = await backups.take(name, 'schedule');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);

    // When the export starts
    await backups.reconcile();

    // Then its identifier fits, and ends with the snapshot's own stamp
    const id = calls('us-east-1', StartExportTaskCommand)[0]?.ExportTaskIdentifier ?? '';
    expect(id.length).toBeLessThanOrEqual(60);
    expect(id).toMatch(/^slipway-orders-ledger-reconcili-[0-9a-f]{8}-202611220300-export$/);
  });

  it('settles a snapshot whose event never came, from the reconciler', async () => {
    const backups = backupsWith();
    const record = await backups.take('shop-db', 'schedule');
    await backups.reconcile();
    expect((await new BackupStore(documents, tableName).get(record.id))?.status).toBe('CREATING');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.reconcile();
    expect((await new BackupStore(documents, tableName).get(record.id))?.status).toBe('AVAILABLE');
  });

  it('applies retention to Slipway snapshots only, recording each deletion, and previews it over HTTP', async () => {
    const backups = backupsWith();
    const region = rds.regions['us-east-1'];
    region?.snapshots.set('manual-by-a-person', {
      DBSnapshotIdentifier: 'manual-by-a-person',
      DBInstanceIdentifier: 'shop-prod',
      SnapshotType: 'manual',
      Status: 'available',
      SnapshotCreateTime: new Date('2026-10-01T00:00:00Z'),
      TagList: [],
    });
    // Three nightly snapshots with daily: 2
    const taken = [];
    for (const day of ['19', '20', '21']) {
      clock = new Date(`2026-11-${day}T03:00:00.000Z`);
      const record = await backups.take('shop-db', 'schedule');
      const snapshot = region?.snapshots.get(record.snapshotIdentifier);
      if (snapshot) snapshot.SnapshotCreateTime = clock;
      taken.push(record);
    }
    clock = new Date('2026-11-21T04:00:00.000Z');
    const viewer = memoryTokenSource();
    // The listing's own previews, as its function builds them: RDS and the table, read-only
    const previews = retentionPreviews({
      config: configWith(),
      store: new BackupStore(documents, tableName),
      rdsFor: rds.rdsFor,
      region: 'us-east-1',
      now: () => clock,
    });
    const previewHandler = makeListBackups({
      tokens: viewer.source,
      ...previewDeps(previews),
      store: new BackupStore(documents, tableName),
      databases: ['shop-db'],
      volumes: [],
    });
    for (const record of taken) rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    const response = await previewHandler(
      httpEvent('not-found', {
        method: 'GET',
        path: '/v1/backups',
        routeKey: 'GET /v1/backups',
        query: { database: 'shop-db', retention: 'preview' },
        token: viewer.tokens.viewer,
      }),
      lambdaContext(),
    );
    const body = JSON.parse((response as APIGatewayProxyStructuredResultV2).body ?? '{}');
    expect(body.delete).toEqual([
      expect.objectContaining({
        id: 'slipway-shop-db-202611190300',
        reason: 'beyond retention (daily 2, weekly 0, monthly 0)',
      }),
    ]);
    expect(body.keep.map((kept: { id: string }) => kept.id)).toEqual(
      expect.arrayContaining(['slipway-shop-db-202611210300', 'slipway-shop-db-202611200300', 'manual-by-a-person']),
    );
    expect(calls('us-east-1', DeleteDBSnapshotCommand)).toEqual([]);

    // When retention runs, the oldest Slipway snapshot goes and its record says so
    await backups.applyRetention('shop-db', { id: 'bkp-retention', principal: 'slipway' });
    expect(calls('us-east-1', DeleteDBSnapshotCommand)).toEqual([
      { DBSnapshotIdentifier: 'slipway-shop-db-202611190300' },
    ]);
    const oldest = await new BackupStore(documents, tableName).get(taken[0]?.id as string);
    expect(oldest).toMatchObject({
      status: 'DELETED',
      reason: 'retention: beyond retention (daily 2, weekly 0, monthly 0)',
    });
    // And the deletion is in the audit trail, by retention, with why
    expect((await trail.entries()).filter((entry) => entry.action === 'backup.delete')).toEqual([
      expect.objectContaining({
        actor: 'retention',
        decision: 'allowed',
        target: { database: 'shop-db', snapshot: 'slipway-shop-db-202611190300', region: 'us-east-1' },
        outcome: {
          result: 'succeeded',
          code: 'DELETED',
          detail: 'beyond retention (daily 2, weekly 0, monthly 0)',
        },
      }),
    ]);
  });
});

describe('restores', () => {
  /** POST /v1/restores through its route, with this suite's restores. */
  function restoreRoute() {
    const tokens = memoryTokenSource();
    const handler = makeCreateRestore({
      tokens: tokens.source,
      audit: trail.audit,
      restores: restoresWith(),
      archives: noArchives,
    });
    const post = (token: string, body: unknown) =>
      handler(
        httpEvent('not-found', { method: 'POST', path: '/v1/restores', routeKey: 'POST /v1/restores', token, body }),
        lambdaContext(),
      );
    return { tokens: tokens.tokens, post };
  }

  async function availableBackup() {
    const backups = backupsWith();
    const record = await backups.take('shop-db', 'schedule');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);
    return record;
  }

  it('restores a backup into a new instance with the source network and shape, and follows it until available', async () => {
    const backup = await availableBackup();
    const restores = restoresWith();
    clock = new Date('2026-11-22T09:00:00.000Z');
    const restore = await restores.request({
      database: 'shop-db',
      backupId: backup.id,
      targetIdentifier: 'shop-prod-restore-1',
      requestedBy: 'admin',
    });

    const input = calls('us-east-1', RestoreDBInstanceFromDBSnapshotCommand)[0];
    expect(input).toMatchObject({
      DBInstanceIdentifier: 'shop-prod-restore-1',
      DBSnapshotIdentifier: backup.snapshotIdentifier,
      DBSubnetGroupName: 'shop-prod-private',
      VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718', 'sg-0f9e8d7c6b5a40312'],
      DBInstanceClass: 'db.r6g.xlarge',
    });
    expect(input).not.toHaveProperty('MasterUserPassword');
    expect(restore).toMatchObject({ status: 'RESTORING', targetIdentifier: 'shop-prod-restore-1', drill: false });

    // When the target becomes available, the reconciler records the measured duration
    const target = rds.regions['us-east-1']?.instances.get('shop-prod-restore-1');
    if (target) target.DBInstanceStatus = 'available';
    clock = new Date('2026-11-22T09:14:30.000Z');
    await restores.reconcile();
    expect(await restores.get(restore.id)).toMatchObject({ status: 'AVAILABLE', durationSeconds: 870 });
    // And the source was never touched
    expect(rds.regions['us-east-1']?.instances.get('shop-prod')?.DBInstanceStatus).toBe('available');
  });

  it('settles a target from its RDS event only when the event comes from its database’s account and region', async () => {
    const backup = await availableBackup();
    const restores = restoresWith();
    const restore = await restores.request({
      database: 'shop-db',
      backupId: backup.id,
      targetIdentifier: 'shop-prod-restore-1',
      requestedBy: 'admin',
    });
    // Every RDS call of the restore is made as its session, where its database is
    expect(rds.sessions.at(-1)).toEqual({
      place: { account: undefined, region: 'us-east-1' },
      operation: { id: restore.id, principal: 'admin' },
    });
    const target = rds.regions['us-east-1']?.instances.get('shop-prod-restore-1');
    if (target) target.DBInstanceStatus = 'available';
    const restored = (account: string, region: string) => ({
      id: 'ev-restored',
      account,
      region,
      identifier: 'shop-prod-restore-1',
    });

    // When the target's event claims another account, or another region, then nothing changes
    for (const [account, region] of [
      ['222222222222', 'us-east-1'],
      [HOME.account, 'eu-west-1'],
    ] as const) {
      expect(await restores.onTargetEvent(restored(account, region), HOME)).toMatch(
        /^not applied: the event comes from account/,
      );
    }
    expect(await restores.get(restore.id)).toMatchObject({ status: 'RESTORING' });

    // When it comes from the control plane's own account and region, then the restore is AVAILABLE
    expect(await restores.onTargetEvent(restored(HOME.account, 'us-east-1'), HOME)).toBe('AVAILABLE');
  });

  it.each([
    'restore-error',
    'incompatible-network',
    'inaccessible-encryption-credentials',
    'insufficient-capacity',
    'incompatible-option-group',
  ])('ends a restore whose target is %s as FAILED at once, naming the status', async (status) => {
    const backup = await availableBackup();
    const restores = restoresWith();
    const restore = await restores.request({
      database: 'shop-db',
      backupId: backup.id,
      targetIdentifier: 'shop-prod-restore-1',
      requestedBy: 'admin',
    });
    const target = rds.regions['us-east-1']?.instances.get('shop-prod-restore-1');
    if (target) target.DBInstanceStatus = status;

    // When the reconciler runs a minute later, long before any timeout
    clock = new Date(clock.getTime() + 60_000);
    await restores.reconcile();

    expect(await restores.get(restore.id)).toMatchObject({
      status: 'FAILED',
      reason: `RDS reports the target ${status}`,
    });
  });

  describe('of an encrypted source', () => {
    const OTHER_KEY = 'arn:aws:kms:us-east-1:123456789012:key/99999999-8888-4777-a666-555555555555';

    it.each([
      ['no kmsKeyArn', undefined, 'and databases.shop-db.kmsKeyArn is not set'],
      ['another kmsKeyArn', OTHER_KEY, `not with databases.shop-db.kmsKeyArn (${OTHER_KEY})`],
    ])('is refused with %s, naming the key and the config key, before anything is created', async (_, key, why) => {
      const backup = await availableBackup();
      const restores = restoresWith(configWith({}, { kmsKeyArn: key }));

      const refused = restores.request({
        database: 'shop-db',
        backupId: backup.id,
        targetIdentifier: 'shop-prod-restore-1',
        requestedBy: 'admin',
      });

      await expect(refused).rejects.toMatchObject({
        status: 422,
        message: `snapshot ${backup.snapshotIdentifier} is encrypted with KMS key ${SHOP_KEY}, ${why}: set databases.shop-db.kmsKeyArn to ${SHOP_KEY} so that Slipway may use it (kms:CreateGrant, kms:DescribeKey), then restore again`,
        details: { field: 'databases.shop-db.kmsKeyArn', kmsKeyId: SHOP_KEY },
      });
      expect(calls('us-east-1', RestoreDBInstanceFromDBSnapshotCommand)).toEqual([]);
    });

    it('refuses a point-in-time restore by the source key, and restores when it is the configured one', async () => {
      await expect(
        restoresWith(configWith({}, { kmsKeyArn: undefined })).request({
          database: 'shop-db',
          pointInTime: 'latest',
          targetIdentifier: 'shop-prod-restore-pitr',
          requestedBy: 'admin',
        }),
      ).rejects.toMatchObject({ status: 422, details: { kmsKeyId: SHOP_KEY } });
      expect(calls('us-east-1', RestoreDBInstanceToPointInTimeCommand)).toEqual([]);

      await restoresWith().request({
        database: 'shop-db',
        pointInTime: 'latest',
        targetIdentifier: 'shop-prod-restore-pitr',
        requestedBy: 'admin',
      });
      expect(calls('us-east-1', RestoreDBInstanceToPointInTimeCommand)).toHaveLength(1);
    });

    it('restores an unencrypted source without any key configured', async () => {
      if (rds.source) Object.assign(rds.source, { StorageEncrypted: false, KmsKeyId: undefined });
      await restoresWith(configWith({}, { kmsKeyArn: undefined })).request({
        database: 'shop-db',
        pointInTime: 'latest',
        targetIdentifier: 'shop-prod-restore-pitr',
        requestedBy: 'admin',
      });
      expect(calls('us-east-1', RestoreDBInstanceToPointInTimeCommand)).toHaveLength(1);
    });
  });

  it('never restores over an existing identifier, the source included', async () => {
    const backup = await availableBackup();
    const restores = restoresWith();
    await expect(
      restores.request({
        database: 'shop-db',
        backupId: backup.id,
        targetIdentifier: 'shop-prod',
        requestedBy: 'admin',
      }),
    ).rejects.toThrow(
      'instance shop-prod already exists; a restore always creates a new instance and never overwrites one',
    );
    expect(calls('us-east-1', RestoreDBInstanceFromDBSnapshotCommand)).toEqual([]);
  });

  it("restores only into its source's <source>-restore- names, the only ones its role may create: 400 otherwise", async () => {
    // Given an admin asking over HTTP for restores into names outside shop-prod-restore-
    const backup = await availableBackup();
    const { tokens, post } = restoreRoute();
    for (const targetIdentifier of ['shop-copy', 'orders-prod-restore-1', 'shop-prodrestore-1']) {
      // When each is asked for, from a snapshot and from a point in time
      for (const from of [{ backupId: backup.id }, { pointInTime: 'latest' }]) {
        const response = await post(tokens.admin, { database: 'shop-db', targetIdentifier, ...from });
        // Then it is a 400 naming the field and the rule, and RDS is asked to create nothing
        expect(response.statusCode).toBe(400);
        expect(JSON.parse(response.body ?? '{}').error).toMatchObject({
          code: 'INVALID_INPUT',
          message: `targetIdentifier: must start with shop-prod-restore-: a restore of shop-prod goes into shop-prod-restore-<name>, the only names Slipway may create`,
          details: [{ location: 'body', field: 'targetIdentifier' }],
        });
      }
    }
    expect(calls('us-east-1', RestoreDBInstanceFromDBSnapshotCommand)).toEqual([]);
    expect(calls('us-east-1', RestoreDBInstanceToPointInTimeCommand)).toEqual([]);
    // And a name with the prefix, in any case, is taken and asked for in lowercase: RDS stores identifiers
    // lowercased (RDS User Guide, "Naming constraints in Amazon RDS"), so the ARN IAM judges is the one the role names
    const record = await restoresWith().request({
      database: 'shop-db',
      backupId: backup.id,
      targetIdentifier: 'Shop-Prod-Restore-Copy',
      requestedBy: 'admin',
    });
    expect(calls('us-east-1', RestoreDBInstanceFromDBSnapshotCommand)).toEqual([
      expect.objectContaining({ DBInstanceIdentifier: 'shop-prod-restore-copy' }),
    ]);
    expect(record.targetIdentifier).toBe('shop-prod-restore-copy');
  });

  it('restores to the latest restorable time', async () => {
    await restoresWith().request({
      database: 'shop-db',
      pointInTime: 'latest',
      targetIdentifier: 'shop-prod-restore-pitr',
      requestedBy: 'admin',
    });
    expect(calls('us-east-1', RestoreDBInstanceToPointInTimeCommand)[0]).toMatchObject({
      SourceDBInstanceIdentifier: 'shop-prod',
      TargetDBInstanceIdentifier: 'shop-prod-restore-pitr',
      UseLatestRestorableTime: true,
      DBSubnetGroupName: 'shop-prod-private',
    });
  });

  it('validates the request over HTTP: admin only, exactly one of backupId or pointInTime', async () => {
    const { tokens, post } = restoreRoute();
    const body = { database: 'shop-db', targetIdentifier: 'shop-prod-restore-2', pointInTime: 'latest' };
    expect((await post(tokens.deployer, body)).statusCode).toBe(403);
    const both = await post(tokens.admin, { ...body, backupId: 'bkp-00000000-0000-4000-8000-000000000001' });
    expect(both.statusCode).toBe(400);
    expect(JSON.parse(both.body ?? '{}').error.message).toBe(
      'body.pointInTime: give exactly one of backupId or pointInTime, not both',
    );
    expect((await post(tokens.admin, body)).statusCode).toBe(202);
  });
});

describe('restore drills', () => {
  it('restores the newest snapshot into a scratch instance, records the RTO and deletes the scratch', async () => {
    const backups = backupsWith();
    const record = await backups.take('shop-db', 'schedule');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);
    const restores = restoresWith();
    clock = new Date('2026-11-22T06:00:00.000Z');
    const drill = await restores.drill('shop-db');
    expect(drill).toMatchObject({ drill: true, targetIdentifier: 'slipway-drill-shop-db-202611220600' });
    expect((await trail.entries()).filter((entry) => entry.action === 'restore.drill')).toEqual([
      expect.objectContaining({
        actor: 'drill',
        target: { database: 'shop-db', restoreId: drill.id, backupId: record.id },
        outcome: { result: 'succeeded', code: 'RESTORING' },
      }),
    ]);
    expect(calls('us-east-1', RestoreDBInstanceFromDBSnapshotCommand)[0]).toMatchObject({
      DBInstanceClass: 'db.t4g.small',
    });

    const scratch = rds.regions['us-east-1']?.instances.get('slipway-drill-shop-db-202611220600');
    if (scratch) scratch.DBInstanceStatus = 'available';
    clock = new Date('2026-11-22T06:21:00.000Z');
    const before = await captureEmf(() => restores.reconcile());
    expect(await restores.get(drill.id)).toMatchObject({ status: 'AVAILABLE', durationSeconds: 1260 });
    // The scratch is being deleted, not yet gone: the drill is not recorded clean until it is.
    expect(await restores.get(drill.id)).not.toHaveProperty('deletedAt');
    expect(before.filter((metrics) => 'DrillSuccesses' in metrics)).toHaveLength(1);
    // No drill had passed when this reconcile began; the next one reports the age of this one.
    expect(before).toContainEqual(expect.objectContaining({ Database: 'shop-db', NewestDrillAgeMinutes: 10_000_000 }));
    // When RDS has finished deleting it, the next reconcile sees it gone and records the drill clean
    rds.regions['us-east-1']?.instances.delete('slipway-drill-shop-db-202611220600');
    clock = new Date('2026-11-22T07:06:00.000Z');
    const after = await captureEmf(() => restores.reconcile());
    expect(after).toContainEqual(expect.objectContaining({ Database: 'shop-db', NewestDrillAgeMinutes: 45 }));
    // And the drill's outcome was counted once, not again at its clean-up
    expect(after.filter((metrics) => 'DrillSuccesses' in metrics)).toEqual([]);
    expect(await restores.get(drill.id)).toMatchObject({ deletedAt: '2026-11-22T07:06:00.000Z' });
    const deletion = {
      DBInstanceIdentifier: 'slipway-drill-shop-db-202611220600',
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    };
    expect(calls('us-east-1', DeleteDBInstanceCommand)).toEqual([deletion, deletion]);
  });

  async function snapshotToDrill(config = configWith()) {
    const backups = backupsWith(config);
    const record = await backups.take('shop-db', 'schedule');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);
    return record;
  }

  it('ends a drill of an encrypted source without its key configured as FAILED, told, before anything is created', async () => {
    await snapshotToDrill();
    const restores = restoresWith(configWith({}, { kmsKeyArn: undefined }));

    const emf = await captureEmf(async () => {
      const drill = await restores.drill('shop-db');

      // Then the drill is recorded FAILED with the reason, and nothing is restored
      expect(drill).toMatchObject({ status: 'FAILED', drill: true });
      expect(drill.reason).toContain(`set databases.shop-db.kmsKeyArn to ${SHOP_KEY}`);
      expect(await restores.get(drill.id)).toMatchObject({ status: 'FAILED', reason: drill.reason });
    });
    expect(calls('us-east-1', RestoreDBInstanceFromDBSnapshotCommand)).toEqual([]);
    expect(emf).toContainEqual(expect.objectContaining({ Database: 'shop-db', DrillFailures: 1 }));
    expect(published('restore.drill').map((call) => call.args[0].input.Subject)).toEqual([
      'Slipway: shop-db restore drill FAILED',
    ]);
    // And a reconcile has no scratch database to delete
    await restores.reconcile();
    expect(calls('us-east-1', DeleteDBInstanceCommand)).toEqual([]);
  });

  it('fails a drill whose scratch RDS cannot place (insufficient-capacity) without waiting for the timeout', async () => {
    await snapshotToDrill();
    const restores = restoresWith();
    const drill = await restores.drill('shop-db');
    const scratch = rds.regions['us-east-1']?.instances.get(drill.targetIdentifier);
    if (scratch) scratch.DBInstanceStatus = 'insufficient-capacity';

    clock = new Date(clock.getTime() + 5 * 60_000);
    await restores.reconcile();

    expect(await restores.get(drill.id)).toMatchObject({
      status: 'FAILED',
      reason: 'RDS reports the target insufficient-capacity',
    });
    expect(calls('us-east-1', DeleteDBInstanceCommand)).toHaveLength(1);
  });

  it('keeps deleting a scratch RDS refuses to delete for its state, until it is gone', async () => {
    await snapshotToDrill();
    const restores = restoresWith();
    const drill = await restores.drill('shop-db');
    const scratch = rds.regions['us-east-1']?.instances.get(drill.targetIdentifier);
    if (scratch) scratch.DBInstanceStatus = 'available';
    // Given RDS refuses the first delete: the instance is busy (a backup right after it came up)
    const invalidState = Object.assign(new Error(`Instance ${drill.targetIdentifier} is not in available state.`), {
      name: 'InvalidDBInstanceStateFault',
      $fault: 'client',
    });
    rds.refuseNext('us-east-1', 'DeleteDBInstance', invalidState);

    // When the reconciler settles the drill, the scratch is not recorded deleted
    await restores.reconcile();
    expect(await restores.get(drill.id)).toMatchObject({ status: 'AVAILABLE' });
    expect(await restores.get(drill.id)).not.toHaveProperty('deletedAt');

    // When it runs again, the delete is made again, and RDS takes it
    await restores.reconcile();
    expect(calls('us-east-1', DeleteDBInstanceCommand)).toHaveLength(2);
    expect(rds.regions['us-east-1']?.instances.get(drill.targetIdentifier)?.DBInstanceStatus).toBe('deleting');
    expect(await restores.get(drill.id)).not.toHaveProperty('deletedAt');

    // When RDS has deleted it, the next reconcile records the drill clean
    rds.regions['us-east-1']?.instances.delete(drill.targetIdentifier);
    await restores.reconcile();
    expect(await restores.get(drill.id)).toMatchObject({ deletedAt: expect.any(String) });
    expect(calls('us-east-1', DeleteDBInstanceCommand)).toHaveLength(3);
  });

  it('deletes the scratch instance when the drill fails too', async () => {
    const backups = backupsWith();
    const record = await backups.take('shop-db', 'schedule');
    rds.finishSnapshot('us-east-1', record.snapshotIdentifier);
    await backups.onSnapshotEvent(snapshotEvent(record.snapshotIdentifier), HOME);
    const restores = restoresWith();
    const drill = await restores.drill('shop-db');
    const scratch = rds.regions['us-east-1']?.instances.get(drill.targetIdentifier);
    if (scratch) scratch.DBInstanceStatus = 'incompatible-restore';
    await restores.reconcile();
    expect(await restores.get(drill.id)).toMatchObject({
      status: 'FAILED',
      reason: 'RDS reports the target incompatible-restore',
    });
    expect(calls('us-east-1', DeleteDBInstanceCommand)).toHaveLength(1);
  });
});

/** Cluster snapshots in us-east-1 made available at once, with `fields` of the cluster they are of. */
function clusterSnapshotsIn(east: FakeRds['stubs'][string], fields: Record<string, unknown>) {
  const snapshots = new Map<string, Record<string, unknown>>();
  east.on(DescribeDBClusterSnapshotsCommand).callsFake((input) => ({
    DBClusterSnapshots: [...snapshots.values()].filter(
      (snapshot) =>
        !input.DBClusterSnapshotIdentifier ||
        snapshot.DBClusterSnapshotIdentifier === input.DBClusterSnapshotIdentifier,
    ),
  }));
  east.on(CreateDBClusterSnapshotCommand).callsFake((input) => {
    const snapshot = {
      DBClusterSnapshotIdentifier: input.DBClusterSnapshotIdentifier,
      DBClusterIdentifier: input.DBClusterIdentifier,
      DBClusterSnapshotArn: `arn:aws:rds:us-east-1:123456789012:cluster-snapshot:${input.DBClusterSnapshotIdentifier}`,
      Status: 'available',
      SnapshotType: 'manual',
      ...fields,
      TagList: input.Tags,
    };
    snapshots.set(input.DBClusterSnapshotIdentifier as string, snapshot);
    return { DBClusterSnapshot: snapshot };
  });
}

describe('Aurora clusters', () => {
  const clusterConfig = () =>
    configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      databases: {
        'orders-db': {
          rdsCluster: 'orders-prod',
          kmsKeyArn: ORDERS_KEY,
          copyToRegion: 'us-west-2',
          copyKmsKeyId: COPY_KEY,
        },
      },
    });
  beforeEach(() => {
    const east = rds.stubs['us-east-1'];
    const west = rds.stubs['us-west-2'];
    const cluster = fixture('describe-db-clusters.aurora', 'DBClusters');
    const writer = fixture('describe-db-instances.aurora-writer', 'DBInstances');
    east?.on(DescribeDBClustersCommand).callsFake((input) => {
      if (input.DBClusterIdentifier === 'orders-prod') return { DBClusters: [cluster] };
      throw Object.assign(new Error('not found'), { name: 'DBClusterNotFoundFault' });
    });
    east?.on(DescribeDBInstancesCommand).callsFake((input) => {
      if (input.DBInstanceIdentifier === 'orders-prod-writer') return { DBInstances: [writer] };
      throw Object.assign(new Error('not found'), { name: 'DBInstanceNotFoundFault' });
    });
    if (east) clusterSnapshotsIn(east, { StorageEncrypted: true, KmsKeyId: ORDERS_KEY, AllocatedStorage: 1 });
    west?.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [] });
    west?.on(CopyDBClusterSnapshotCommand).resolves({
      DBClusterSnapshot: { DBClusterSnapshotArn: 'arn:aws:rds:us-west-2:123456789012:cluster-snapshot:copy' },
    });
    east
      ?.on(RestoreDBClusterFromSnapshotCommand)
      .resolves({ DBCluster: { DBClusterIdentifier: 'orders-prod-restore-1' } });
  });

  it('snapshots the cluster, copies it with the destination key, and restores it with a writer', async () => {
    const backups = backupsWith(clusterConfig());
    const record = await backups.take('orders-db', 'schedule');
    expect(calls('us-east-1', CreateDBClusterSnapshotCommand)).toEqual([
      {
        DBClusterSnapshotIdentifier: 'slipway-orders-db-202611220300',
        DBClusterIdentifier: 'orders-prod',
        Tags: [
          { Key: 'slipway:database', Value: 'orders-db' },
          { Key: 'slipway:schedule', Value: 'cron(0 3 * * ? *)' },
          { Key: 'slipway:created-by', Value: 'slipway' },
        ],
      },
    ]);
    const event = JSON.parse(readFileSync('events/rds.cluster-snapshot-created.json', 'utf8'));
    expect(await backups.onSnapshotEvent(rdsSnapshotEvent.parse(event), HOME)).toEqual({
      applied: true,
      reason: 'slipway-orders-db-202611220300 is AVAILABLE',
    });
    await backups.reconcile();
    expect(calls('us-west-2', CopyDBClusterSnapshotCommand)).toEqual([
      {
        SourceDBClusterSnapshotIdentifier:
          'arn:aws:rds:us-east-1:123456789012:cluster-snapshot:slipway-orders-db-202611220300',
        TargetDBClusterSnapshotIdentifier: 'slipway-orders-db-202611220300',
        CopyTags: true,
        KmsKeyId: COPY_KEY,
      },
    ]);

    const restore = await restoresWith(clusterConfig()).request({
      database: 'orders-db',
      backupId: record.id,
      targetIdentifier: 'orders-prod-restore-1',
      requestedBy: 'admin',
    });
    expect(calls('us-east-1', RestoreDBClusterFromSnapshotCommand)[0]).toMatchObject({
      DBClusterIdentifier: 'orders-prod-restore-1',
      SnapshotIdentifier: 'slipway-orders-db-202611220300',
      Engine: 'aurora-postgresql',
      EngineVersion: '16.4',
      DBSubnetGroupName: 'orders-prod-private',
    });
    expect(calls('us-east-1', CreateDBInstanceCommand)[0]).toMatchObject({
      DBInstanceIdentifier: 'orders-prod-restore-1-1',
      DBClusterIdentifier: 'orders-prod-restore-1',
      Engine: 'aurora-postgresql',
      DBInstanceClass: 'db.r7g.large',
    });
    expect(restore).toMatchObject({ status: 'RESTORING', source: { type: 'cluster', identifier: 'orders-prod' } });
  });
});

describe('Multi-AZ DB clusters', () => {
  const LEDGER_KEY = 'arn:aws:kms:us-east-1:123456789012:key/5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c';
  const ledgerConfig = () =>
    configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      databases: {
        'ledger-db': {
          rdsCluster: 'ledger-multi-az',
          kmsKeyArn: LEDGER_KEY,
          restoreDrill: { schedule: 'cron(15 8 ? * SUN *)', instanceClass: 'db.m6gd.large' },
        },
      },
    });
  // The clusters RDS knows in us-east-1: the source, and what restores create.
  let clusters: Map<string, Record<string, unknown>>;

  beforeEach(() => {
    const east = rds.stubs['us-east-1'];
    clusters = new Map([['ledger-multi-az', fixture('describe-db-clusters.multi-az', 'DBClusters')]]);
    east?.on(DescribeDBClustersCommand).callsFake((input) => {
      const found = clusters.get(input.DBClusterIdentifier ?? '');
      if (found) return { DBClusters: [found] };
      throw Object.assign(new Error(`DBCluster ${input.DBClusterIdentifier} not found.`), {
        name: 'DBClusterNotFoundFault',
      });
    });
    if (east) {
      clusterSnapshotsIn(east, {
        Engine: 'postgres',
        StorageEncrypted: true,
        KmsKeyId: LEDGER_KEY,
        AllocatedStorage: 400,
      });
    }
    east?.on(RestoreDBClusterFromSnapshotCommand).callsFake((input) => {
      // RDS creates the Multi-AZ cluster with its writer and two readers.
      const cluster = { DBClusterIdentifier: input.DBClusterIdentifier, Status: 'creating', Engine: input.Engine };
      clusters.set(input.DBClusterIdentifier as string, cluster);
      return { DBCluster: cluster };
    });
    east?.on(DeleteDBClusterCommand).callsFake((input) => {
      const found = clusters.get(input.DBClusterIdentifier ?? '');
      if (!found) throw Object.assign(new Error('not found'), { name: 'DBClusterNotFoundFault' });
      if (found.Status === 'deleting') {
        throw Object.assign(new Error('already being deleted'), { name: 'InvalidDBClusterStateFault' });
      }
      found.Status = 'deleting';
      return { DBCluster: found };
    });
  });

  async function ledgerSnapshot() {
    const backups = backupsWith(ledgerConfig());
    const record = await backups.take('ledger-db', 'schedule');
    await backups.reconcile();
    return record;
  }

  it('restores with its instance class and storage, creates no writer, and follows the cluster', async () => {
    const backup = await ledgerSnapshot();
    const restores = restoresWith(ledgerConfig());
    clock = new Date('2026-11-22T09:00:00.000Z');

    const restore = await restores.request({
      database: 'ledger-db',
      backupId: backup.id,
      targetIdentifier: 'ledger-multi-az-restore-1',
      requestedBy: 'admin',
    });

    // Then RDS is asked for a Multi-AZ cluster shaped as the source, and for no instance of its own
    expect(calls('us-east-1', RestoreDBClusterFromSnapshotCommand)).toEqual([
      expect.objectContaining({
        DBClusterIdentifier: 'ledger-multi-az-restore-1',
        SnapshotIdentifier: backup.snapshotIdentifier,
        Engine: 'postgres',
        EngineVersion: '16.4',
        DBClusterInstanceClass: 'db.m6gd.large',
        StorageType: 'io1',
        Iops: 3000,
        PubliclyAccessible: false,
        DBSubnetGroupName: 'ledger-private',
        VpcSecurityGroupIds: ['sg-0e4f6a8b0c2d4e6f8'],
      }),
    ]);
    expect(calls('us-east-1', CreateDBInstanceCommand)).toEqual([]);
    expect(restore).toMatchObject({ status: 'RESTORING', multiAZCluster: true });

    // When DescribeDBClusters says it is available, the restore is
    await restores.reconcile();
    expect(await restores.get(restore.id)).toMatchObject({ status: 'RESTORING' });
    const target = clusters.get('ledger-multi-az-restore-1');
    if (target) target.Status = 'available';
    clock = new Date('2026-11-22T09:31:00.000Z');
    await restores.reconcile();
    expect(await restores.get(restore.id)).toMatchObject({ status: 'AVAILABLE', durationSeconds: 1860 });
  });

  it('drills into a scratch cluster and deletes it, instances and all, until it is gone', async () => {
    await ledgerSnapshot();
    const restores = restoresWith(ledgerConfig());
    clock = new Date('2026-11-22T08:15:00.000Z');
    const drill = await restores.drill('ledger-db');
    expect(calls('us-east-1', RestoreDBClusterFromSnapshotCommand)[0]).toMatchObject({
      DBClusterIdentifier: 'slipway-drill-ledger-db-202611220815',
      DBClusterInstanceClass: 'db.m6gd.large',
      DeletionProtection: false,
    });

    const scratch = clusters.get('slipway-drill-ledger-db-202611220815');
    if (scratch) scratch.Status = 'available';
    await restores.reconcile();
    expect(await restores.get(drill.id)).toMatchObject({ status: 'AVAILABLE' });
    expect(calls('us-east-1', DeleteDBClusterCommand)).toEqual([
      { DBClusterIdentifier: 'slipway-drill-ledger-db-202611220815', SkipFinalSnapshot: true },
    ]);
    expect(calls('us-east-1', DeleteDBInstanceCommand)).toEqual([]);
    expect(await restores.get(drill.id)).not.toHaveProperty('deletedAt');

    // When RDS has deleted the cluster, the next reconcile records the drill clean
    clusters.delete('slipway-drill-ledger-db-202611220815');
    await restores.reconcile();
    expect(await restores.get(drill.id)).toMatchObject({ deletedAt: expect.any(String) });
  });
});
