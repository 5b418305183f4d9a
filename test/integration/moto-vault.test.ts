import { CreateKeyCommand, DescribeKeyCommand, KMSClient, ListGrantsCommand } from '@aws-sdk/client-kms';
import {
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  CreateDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotAttributesCommand,
  DescribeDBSnapshotsCommand,
} from '@aws-sdk/client-rds';
import type { AwsCredentialIdentity } from '@smithy/types';
import { mockClient } from 'aws-sdk-client-mock';
import type { AccountCredentials, Operation, Place } from '../../lib/aws/account-credentials';
import { createKmsClient } from '../../lib/aws/clients/kms';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { Backups } from '../../lib/backup/backups';
import type { BackupsDeps } from '../../lib/backup/backups-context';
import type { BackupRecord, RestoreRecord } from '../../lib/backup/records';
import { configSchema, type SlipwayConfig } from '../../lib/config/schema';
import { Conflict, Unprocessable } from '../../lib/errors';
import type { Publisher } from '../../lib/notify/publisher';
import { Restores } from '../../lib/restore/restores';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import { auditOn } from '../support/audit';
import { motoEndpoint, resetMoto } from '../support/moto';
import { sessionOn as onMoto } from '../support/moto-aws';
import { controlPlaneOn } from '../support/moto-member';
import { vaultOnMoto } from '../support/moto-vault';

/**
 * The backup vault end to end on moto, which keeps one backend per account and implements sts:AssumeRole: the
 * control plane in 111111111111/us-east-1 snapshots database shop-db (an instance encrypted with a customer managed
 * key), shares the snapshot with the vault account 444444444444 and grants the vault's role the use of its key; the
 * vault's role copies it into the vault, the reconciler settles the copy and applies the database's retention there
 * through that role; a restore starts from the vault copy into the vault account.
 *
 * One step moto lacks: a cross-account CopyDBSnapshot, answered as RDS would (test/support/moto-vault.ts, which says
 * why); the test asserts what Slipway sends. Every other call goes to moto: the share, the key's description and
 * grant, the vault's reads, its retention's deletions, the restore.
 */

const CONTROL_PLANE = '111111111111';
const VAULT = '444444444444';
const REGION = 'us-east-1';
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-reconcileBackups`;
const VAULT_ROLE = `arn:aws:iam::${VAULT}:role/slipway-vault`;
const TABLE = 'slipway-vault-state';
const SOURCE = 'shop-prod';

let env: Record<string, string>;
let own: AwsCredentialIdentity;
let operator: AwsCredentialIdentity;
let sourceKey: string;
let vaultKey: string;
let config: SlipwayConfig;
let backups: Backups;
let backupsDeps: BackupsDeps;
let restores: Restores;
let accounts: AccountCredentials;
let clock: Date;
let ids = 0;
const stubs: Array<{ restore: () => void }> = [];
let store: BackupStore;

/** Instance shop-prod, as the operator made it. */
const shopInstance = (extra: Partial<CreateDBInstanceCommandInput> = {}): CreateDBInstanceCommandInput => ({
  DBInstanceIdentifier: SOURCE,
  DBInstanceClass: 'db.t4g.small',
  Engine: 'postgres',
  AllocatedStorage: 20,
  MasterUsername: 'shop',
  MasterUserPassword: 'not-a-secret-1',
  ...extra,
});

const vault = vaultOnMoto({ accounts: () => accounts, inVault: () => inVault(), standIn: shopInstance() });
const { rdsIn: vaultRdsIn, copiesAsked } = vault;

const sessionOn = (roleArn: string, name: string, as?: AwsCredentialIdentity) => onMoto(env, roleArn, name, as);

const inVault = () => createRdsClient(env, operator);
const inControlPlane = () => createRdsClient(env, own);
/** RDS as the functions reach it: their own credentials at home, a session on the account's role elsewhere. */
const rdsWhere = (place: Place, operation: Operation) =>
  place.account === undefined
    ? createRdsClient({ ...env, AWS_REGION: place.region ?? REGION }, own)
    : accounts.client(createRdsClient, place, operation);

// moto dates snapshots by the wall clock; Slipway's clock runs from tomorrow, so that none is dated after it.
const TOMORROW = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
const at = (days: number, minutes: number) => new Date(TOMORROW + days * 86_400_000 + minutes * 60_000);

const newId = (prefix: string) => () => {
  ids += 1;
  return `${prefix}-00000000-0000-4000-8000-${String(ids).padStart(12, '0')}`;
};

const thrownBy = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

const recordsOf = async (store: BackupStore) => (await store.list('shop-db', { limit: 50 })).items as BackupRecord[];

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION };
  // Given the reconciler's own credentials in the control plane's account, and an operator's in the vault
  own = await sessionOn(FUNCTION_ROLE, 'slipway-prod-reconcileBackups');
  operator = await sessionOn(VAULT_ROLE, 'operator-seeding', own);

  // And a customer managed key in each account: the source's, and the vault's own
  sourceKey = (await createKmsClient(env, own).send(new CreateKeyCommand({ Description: 'shop-db' }))).KeyMetadata
    ?.Arn as string;
  vaultKey = (await createKmsClient(env, operator).send(new CreateKeyCommand({ Description: 'vault' }))).KeyMetadata
    ?.Arn as string;

  // And database shop-db, an instance encrypted with the source key, in the control plane's account
  await inControlPlane().send(
    new CreateDBInstanceCommand(shopInstance({ StorageEncrypted: true, KmsKeyId: sourceKey })),
  );

  config = configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    accounts: { vault: { roleArn: VAULT_ROLE } },
    backups: { vaultAccount: 'vault', vaultKmsKey: vaultKey },
    databases: {
      'shop-db': { rdsInstance: SOURCE, kmsKeyArn: sourceKey, retention: { daily: 1, weekly: 0, monthly: 0 } },
    },
  });

  // And the control plane's state table, and its sessions on the vault's role
  const controlPlane = await controlPlaneOn(env, own, {
    accounts: config.accounts,
    secrets: createSecretsManagerClient(env, own),
    table: TABLE,
  });
  const { documents } = controlPlane;
  accounts = controlPlane.accounts;
  clock = at(0, 0);
  const publisher = { publish: async () => true } as unknown as Publisher;
  const audit = auditOn(documents, TABLE, () => clock).audit;
  store = new BackupStore(documents, TABLE);
  backupsDeps = {
    config,
    store,
    rdsFor: (place, operation) => rdsWhere(place, operation),
    region: REGION,
    backupBucket: 'slipway-vault-backups',
    publisher,
    audit,
    vault: {
      rdsIn: vaultRdsIn,
      kmsFor: (place) => createKmsClient({ ...env, AWS_REGION: place.region ?? REGION }, own),
    },
    now: () => clock,
    newId: newId('bkp'),
  };
  backups = new Backups(backupsDeps);
  restores = new Restores({
    config,
    store: new RestoreStore(documents, TABLE),
    backups: store,
    rdsFor: (place, operation) => rdsWhere(place, operation),
    region: REGION,
    publisher,
    audit,
    now: () => clock,
    newId: newId('rst'),
  });
});

afterAll(() => {
  vault.restore();
  for (const stub of stubs) stub.restore();
});

describe('a snapshot of shop-db in 111111111111, copied into the vault account 444444444444', () => {
  let first: BackupRecord;
  let copy: BackupRecord;

  it('is shared with the vault, its key granted to the vault’s role, and copied there with the vault’s key', async () => {
    // Given a snapshot of shop-db, available at once on moto
    first = await backups.take('shop-db', 'schedule');

    // When the reconciler runs: it settles the snapshot, queues its vault copy and starts it
    await backups.reconcile();

    // Then the vault's session sees the snapshot shared with its account (ModifyDBSnapshotAttribute, on moto)
    const shared = await vaultRdsIn(REGION, { id: 'check', principal: 'test' }).send(
      new DescribeDBSnapshotsCommand({ SnapshotType: 'shared' }),
    );
    expect(shared.DBSnapshots?.map((snapshot) => snapshot.DBSnapshotArn)).toEqual([first.snapshotArn]);
    // And the source key has one grant, to the vault's role, of what copying takes (CreateGrant, on moto)
    const { Grants } = await createKmsClient(env, own).send(new ListGrantsCommand({ KeyId: sourceKey }));
    expect(Grants?.map(({ GranteePrincipal, Operations, Name }) => ({ GranteePrincipal, Operations, Name }))).toEqual([
      {
        GranteePrincipal: VAULT_ROLE,
        Operations: ['Decrypt', 'DescribeKey', 'CreateGrant', 'ReEncryptFrom'],
        Name: 'slipway-vault-copies',
      },
    ]);
    // And the vault's role asked for the copy by the source's ARN, encrypted with the vault's key, tagged as a vault copy
    expect(copiesAsked).toEqual([
      {
        SourceDBSnapshotIdentifier: first.snapshotArn,
        TargetDBSnapshotIdentifier: first.snapshotIdentifier,
        KmsKeyId: vaultKey,
        Tags: [
          { Key: 'slipway:database', Value: 'shop-db' },
          { Key: 'slipway:created-by', Value: 'slipway' },
          { Key: 'slipway:vault-copy', Value: 'true' },
          { Key: 'slipway:source-account', Value: CONTROL_PLANE },
        ],
      },
    ]);
    // And the copy is recorded, in the vault account, in flight
    copy = (await recordsOf(store)).find((record) => record.account === 'vault') as BackupRecord;
    expect(copy).toMatchObject({
      kind: 'snapshot-copy',
      account: 'vault',
      region: REGION,
      status: 'CREATING',
      parentId: first.id,
      snapshotIdentifier: first.snapshotIdentifier,
      encrypted: true,
      kmsKeyId: vaultKey,
    });
    expect(copy.snapshotArn).toBe(`arn:aws:rds:${REGION}:${VAULT}:snapshot:${first.snapshotIdentifier}`);
  });

  it('settles when the vault reports the copy available, asked through the vault’s role', async () => {
    // When the reconciler runs again
    clock = at(0, 5);
    await backups.reconcile();

    // Then the copy is available, as the vault's own RDS says
    expect(await store.get(copy.id)).toMatchObject({ status: 'AVAILABLE', durationSeconds: 300 });
  });

  it('keeps the vault to the database’s retention, deleting through the vault’s role only its own older copies', async () => {
    // Given a snapshot someone made by hand in the vault, which is not Slipway's to judge
    await inVault().send(
      new CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'by-hand', DBInstanceIdentifier: SOURCE }),
    );
    // And, a day later, the next snapshot and its vault copy
    clock = at(1, 0);
    const second = await backups.take('shop-db', 'schedule');
    await backups.reconcile();
    clock = at(1, 5);

    // When the second copy settles (daily: 1 keeps one per account)
    await backups.reconcile();

    // Then the vault holds the newest copy and the snapshot made by hand, no older copy
    const left = await inVault().send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }));
    expect(left.DBSnapshots?.map((snapshot) => snapshot.DBSnapshotIdentifier).sort()).toEqual(
      ['by-hand', second.snapshotIdentifier].sort(),
    );
    // And the first copy's record says why it went
    expect(await store.get(copy.id)).toMatchObject({
      status: 'DELETED',
      reason: 'retention: beyond retention (daily 1, weekly 0, monthly 0)',
    });
    // And the control plane's own snapshots were judged on their own: its first snapshot went too, by its own role
    const controlPlane = await inControlPlane().send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }));
    expect(controlPlane.DBSnapshots?.map((snapshot) => snapshot.DBSnapshotIdentifier)).toEqual([
      second.snapshotIdentifier,
    ]);
  });
});

describe('a restore from the vault copy', () => {
  let vaultCopy: BackupRecord;
  let restore: RestoreRecord;
  const target = `${SOURCE}-restore-from-vault`;

  beforeAll(async () => {
    vaultCopy = (await recordsOf(store)).find(
      (record) => record.account === 'vault' && record.status === 'AVAILABLE',
    ) as BackupRecord;
  });

  it('creates a new instance in the vault account and region, by the vault’s role, and nothing in the control plane’s', async () => {
    // When an operator restores the vault copy into the vault account
    restore = await restores.request({
      database: 'shop-db',
      backupId: vaultCopy.id,
      targetIdentifier: target,
      account: 'vault',
      region: REGION,
      requestedBy: 'alice',
    });

    // Then the restore is recorded in the vault account
    expect(restore).toMatchObject({ status: 'RESTORING', account: 'vault', region: REGION, targetIdentifier: target });
    // And the instance is in the vault, seen with its credentials, and not in the control plane's account
    const inTheVault = await inVault().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: target }));
    expect(inTheVault.DBInstances?.[0]?.DBInstanceArn).toBe(`arn:aws:rds:${REGION}:${VAULT}:db:${target}`);
    await expect(
      inControlPlane().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: target })),
    ).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
  });

  it('is refused (409) into an instance that exists there, and (422) into another region', async () => {
    // When the same target is asked again
    const again = await thrownBy(
      restores.request({ database: 'shop-db', backupId: vaultCopy.id, targetIdentifier: target, requestedBy: 'alice' }),
    );
    // And another region
    const elsewhere = await thrownBy(
      restores.request({
        database: 'shop-db',
        backupId: vaultCopy.id,
        targetIdentifier: `${SOURCE}-restore-elsewhere`,
        region: 'eu-west-1',
        requestedBy: 'alice',
      }),
    );

    // Then the first is a conflict, and the second names the field
    expect(again).toBeInstanceOf(Conflict);
    expect(elsewhere).toBeInstanceOf(Unprocessable);
    expect((elsewhere as Error).message).toMatch(/^region: backup .* is a copy in us-east-1/);
  });

  it('settles when the vault reports the instance available, asked through the vault’s role', async () => {
    // When the reconciler follows restores
    const outcomes = await restores.reconcile();

    // Then the vault's restore is available
    expect(outcomes).toContainEqual({ id: restore.id, outcome: 'AVAILABLE' });
  });
});

describe('a snapshot encrypted with the default key aws/rds', () => {
  it('gets no vault copy: it fails with the reason, and nothing is shared nor granted', async () => {
    // Given the source's key described as AWS managed: moto makes customer managed keys only (CreateKey), so that one
    // answer is aws-sdk-client-mock's, shaped as DescribeKey's KeyMetadata (KMS API Reference)
    const kms = new KMSClient({ region: REGION });
    const stub = mockClient(kms);
    stub.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: sourceKey, Arn: sourceKey, KeyManager: 'AWS' } });
    stubs.push(stub);
    const withDefaultKey = new Backups({ ...backupsDeps, vault: { rdsIn: vaultRdsIn, kmsFor: () => kms } });
    const grantsBefore = (await createKmsClient(env, own).send(new ListGrantsCommand({ KeyId: sourceKey }))).Grants;
    clock = at(2, 0);
    const taken = await withDefaultKey.take('shop-db', 'schedule');

    // When the reconciler settles it and starts its vault copy
    await withDefaultKey.reconcile();

    // Then the vault copy failed, saying why
    const failed = (await recordsOf(store)).find(
      (record) => record.account === 'vault' && record.parentId === taken.id,
    );
    expect(failed).toMatchObject({
      status: 'FAILED',
      reason: expect.stringContaining(
        'RDS shares no snapshot encrypted with an account\'s default key (RDS User Guide, "Sharing encrypted snapshots")',
      ),
    });
    // And the snapshot is shared with no account, the key has no new grant, and the vault was asked for no copy
    const { DBSnapshotAttributesResult } = await inControlPlane().send(
      new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: taken.snapshotIdentifier }),
    );
    expect(DBSnapshotAttributesResult?.DBSnapshotAttributes).toEqual([
      { AttributeName: 'restore', AttributeValues: [] },
    ]);
    expect((await createKmsClient(env, own).send(new ListGrantsCommand({ KeyId: sourceKey }))).Grants).toEqual(
      grantsBefore,
    );
    expect(copiesAsked.map(({ TargetDBSnapshotIdentifier }) => TargetDBSnapshotIdentifier)).not.toContain(
      taken.snapshotIdentifier,
    );
  });
});
