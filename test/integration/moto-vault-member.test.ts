import { CreateKeyCommand, type KMSClient, ListGrantsCommand } from '@aws-sdk/client-kms';
import {
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  DescribeDBSnapshotAttributesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { AccountCredentials, Operation, Place } from '../../lib/aws/account-credentials';
import { createKmsClient } from '../../lib/aws/clients/kms';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { Backups } from '../../lib/backup/backups';
import type { BackupRecord } from '../../lib/backup/records';
import { configSchema, type SlipwayConfig } from '../../lib/config/schema';
import type { Publisher } from '../../lib/notify/publisher';
import { BackupStore } from '../../lib/store/backups';
import { auditOn } from '../support/audit';
import { motoEndpoint, resetMoto } from '../support/moto';
import { sessionOn as onMoto } from '../support/moto-aws';
import { controlPlaneOn } from '../support/moto-member';
import { vaultOnMoto } from '../support/moto-vault';

/**
 * The backup vault for a database in a member account, end to end on moto (one backend per account, sts:AssumeRole):
 * the control plane runs in 111111111111/us-east-1; database orders-db, an instance encrypted with a customer managed
 * key of member account 222222222222, is in that account's eu-west-1. Its snapshot is shared with the vault account
 * 444444444444, and its key granted to the vault's role, by sessions on the member account's role; the vault's role
 * copies it there with the vault's own key of eu-west-1, and the reconciler settles the copy through the vault's role.
 *
 * The one step moto lacks, the cross-account CopyDBSnapshot, is answered as RDS would (test/support/moto-vault.ts):
 * the test asserts what Slipway sends. Every other call goes to moto.
 */

const CONTROL_PLANE = '111111111111';
const MEMBER = '222222222222';
const VAULT = '444444444444';
const HOME = 'us-east-1';
const REGION = 'eu-west-1';
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-reconcileBackups`;
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-member`;
const VAULT_ROLE = `arn:aws:iam::${VAULT}:role/slipway-vault`;
const TABLE = 'slipway-vault-member-state';
const SOURCE = 'orders-staging-db';

let env: Record<string, string>;
let own: AwsCredentialIdentity;
let memberOperator: AwsCredentialIdentity;
let vaultOperator: AwsCredentialIdentity;
let memberKey: string;
let vaultKey: string;
let config: SlipwayConfig;
let backups: Backups;
let accounts: AccountCredentials;
let store: BackupStore;
let clock: Date;
let ids = 0;
const ordersInstance = (extra: Partial<CreateDBInstanceCommandInput> = {}): CreateDBInstanceCommandInput => ({
  DBInstanceIdentifier: SOURCE,
  DBInstanceClass: 'db.t4g.small',
  Engine: 'postgres',
  AllocatedStorage: 20,
  MasterUsername: 'orders',
  MasterUserPassword: 'not-a-secret-1',
  ...extra,
});

const vault = vaultOnMoto({
  accounts: () => accounts,
  inVault: () => rdsAs(vaultOperator),
  standIn: ordersInstance(),
});
const { rdsIn: vaultRdsIn, copiesAsked } = vault;
/** Where each KMS and RDS session the flow asked for was: account and region. */
const placesAsked: Array<{ service: string; place: Place }> = [];

const sessionOn = (roleArn: string, name: string, as?: AwsCredentialIdentity) => onMoto(env, roleArn, name, as);
const inRegion = { AWS_REGION: REGION };
const rdsAs = (credentials: AwsCredentialIdentity) => createRdsClient({ ...env, ...inRegion }, credentials);
const kmsAs = (credentials: AwsCredentialIdentity) => createKmsClient({ ...env, ...inRegion }, credentials);

/** A client as the functions reach it: their own credentials at home, a session on the account's role elsewhere. */
function where<T extends object>(
  service: string,
  create: typeof createRdsClient | typeof createKmsClient,
  place: Place,
  operation: Operation,
): T {
  placesAsked.push({ service, place });
  return (
    place.account === undefined
      ? create({ ...env, AWS_REGION: place.region ?? HOME }, own)
      : accounts.client(create as never, place, operation)
  ) as T;
}

// moto dates snapshots by the wall clock; Slipway's clock runs from tomorrow, so that none is dated after it.
const TOMORROW = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
const at = (minutes: number) => new Date(TOMORROW + minutes * 60_000);

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: HOME };
  // Given the reconciler's own credentials, and operators' in the member account and in the vault
  own = await sessionOn(FUNCTION_ROLE, 'slipway-prod-reconcileBackups');
  memberOperator = await sessionOn(MEMBER_ROLE, 'operator-seeding', own);
  vaultOperator = await sessionOn(VAULT_ROLE, 'operator-seeding', own);

  // And a customer managed key in eu-west-1 of each account: the member's for orders-db, the vault's own
  memberKey = (await kmsAs(memberOperator).send(new CreateKeyCommand({ Description: 'orders-db' }))).KeyMetadata
    ?.Arn as string;
  vaultKey = (await kmsAs(vaultOperator).send(new CreateKeyCommand({ Description: 'vault' }))).KeyMetadata
    ?.Arn as string;

  // And orders-db, an instance encrypted with the member's key, in the member account's eu-west-1
  await rdsAs(memberOperator).send(
    new CreateDBInstanceCommand(ordersInstance({ StorageEncrypted: true, KmsKeyId: memberKey })),
  );

  config = configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    accounts: { staging: { roleArn: MEMBER_ROLE }, vault: { roleArn: VAULT_ROLE } },
    backups: { vaultAccount: 'vault', vaultKmsKey: vaultKey },
    databases: {
      'orders-db': {
        rdsInstance: SOURCE,
        account: 'staging',
        region: REGION,
        kmsKeyArn: memberKey,
        retention: { daily: 1, weekly: 0, monthly: 0 },
      },
    },
  });

  const controlPlane = await controlPlaneOn(env, own, {
    accounts: config.accounts,
    secrets: createSecretsManagerClient(env, own),
    table: TABLE,
  });
  const { documents } = controlPlane;
  accounts = controlPlane.accounts;
  clock = at(0);
  store = new BackupStore(documents, TABLE);
  backups = new Backups({
    config,
    store,
    rdsFor: (place, operation) => where<RDSClient>('rds', createRdsClient, place, operation),
    region: HOME,
    backupBucket: 'slipway-vault-member-backups',
    publisher: { publish: async () => true } as unknown as Publisher,
    audit: auditOn(documents, TABLE, () => clock).audit,
    vault: {
      rdsIn: vaultRdsIn,
      kmsFor: (place, operation) => where<KMSClient>('kms', createKmsClient, place, operation),
    },
    now: () => clock,
    newId: () => {
      ids += 1;
      return `bkp-00000000-0000-4000-8000-${String(ids).padStart(12, '0')}`;
    },
  });
});

afterAll(() => vault.restore());

describe('a snapshot of orders-db in member account 222222222222, copied into the vault account 444444444444', () => {
  let snapshot: BackupRecord;
  let copy: BackupRecord;

  it('is shared and its key granted by the member account’s role, and copied by the vault’s role with the vault’s key', async () => {
    // Given a snapshot of orders-db, taken in the member account through its role (available at once on moto)
    snapshot = await backups.take('orders-db', 'schedule');
    expect(snapshot.snapshotArn).toBe(`arn:aws:rds:${REGION}:${MEMBER}:snapshot:${snapshot.snapshotIdentifier}`);

    // When the reconciler runs: it settles the snapshot, queues its vault copy and starts it
    await backups.reconcile();

    // Then the member account's snapshot is shared with the vault account, as the member's own RDS says
    const { DBSnapshotAttributesResult } = await rdsAs(memberOperator).send(
      new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: snapshot.snapshotIdentifier }),
    );
    expect(DBSnapshotAttributesResult?.DBSnapshotAttributes).toEqual([
      { AttributeName: 'restore', AttributeValues: [VAULT] },
    ]);
    // And the vault's session sees it shared with its account
    const shared = await vaultRdsIn(REGION, { id: 'check', principal: 'test' }).send(
      new DescribeDBSnapshotsCommand({ SnapshotType: 'shared' }),
    );
    expect(shared.DBSnapshots?.map(({ DBSnapshotArn }) => DBSnapshotArn)).toEqual([snapshot.snapshotArn]);
    // And the member's key has one grant, to the vault's role, of what copying takes
    const { Grants } = await kmsAs(memberOperator).send(new ListGrantsCommand({ KeyId: memberKey }));
    expect(Grants?.map(({ GranteePrincipal, Operations, Name }) => ({ GranteePrincipal, Operations, Name }))).toEqual([
      {
        GranteePrincipal: VAULT_ROLE,
        Operations: ['Decrypt', 'DescribeKey', 'CreateGrant', 'ReEncryptFrom'],
        Name: 'slipway-vault-copies',
      },
    ]);
    // And every RDS and KMS call for the source went to the member account's eu-west-1, none to the control plane's
    expect(placesAsked.filter(({ place }) => place.account !== 'staging' || place.region !== REGION)).toEqual([]);
    expect(placesAsked.map(({ service }) => service)).toContain('kms');
    // And the vault's role asked for the copy by the member snapshot's ARN, with the vault's key, naming its source account
    expect(copiesAsked).toEqual([
      {
        SourceDBSnapshotIdentifier: snapshot.snapshotArn,
        TargetDBSnapshotIdentifier: snapshot.snapshotIdentifier,
        KmsKeyId: vaultKey,
        Tags: [
          { Key: 'slipway:database', Value: 'orders-db' },
          { Key: 'slipway:created-by', Value: 'slipway' },
          { Key: 'slipway:vault-copy', Value: 'true' },
          { Key: 'slipway:source-account', Value: MEMBER },
        ],
      },
    ]);
    // And the copy is recorded in the vault account and the database's region, in flight
    const records = (await store.list('orders-db', { limit: 50 })).items as BackupRecord[];
    copy = records.find((record) => record.account === 'vault') as BackupRecord;
    expect(copy).toMatchObject({
      kind: 'snapshot-copy',
      account: 'vault',
      region: REGION,
      status: 'CREATING',
      parentId: snapshot.id,
      encrypted: true,
      kmsKeyId: vaultKey,
      snapshotArn: `arn:aws:rds:${REGION}:${VAULT}:snapshot:${snapshot.snapshotIdentifier}`,
    });
  });

  it('settles when the vault reports the copy available, asked through the vault’s role in the database’s region', async () => {
    // When the reconciler runs again
    clock = at(5);
    await backups.reconcile();

    // Then the copy is available, as the vault's own RDS in eu-west-1 says
    expect(await store.get(copy.id)).toMatchObject({ status: 'AVAILABLE', durationSeconds: 300 });
  });

  it('keeps the vault to the database’s retention in the database’s region, through the vault’s role', async () => {
    // Given, a day later, the next snapshot and its vault copy
    clock = at(24 * 60);
    const second = await backups.take('orders-db', 'schedule');
    await backups.reconcile();

    // When the second copy settles (daily: 1 keeps one)
    clock = at(24 * 60 + 5);
    await backups.reconcile();

    // Then the vault's eu-west-1 holds the newest copy only, and the first copy's record says why it went
    const inVault = await rdsAs(vaultOperator).send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }));
    expect(inVault.DBSnapshots?.map(({ DBSnapshotIdentifier }) => DBSnapshotIdentifier)).toEqual([
      second.snapshotIdentifier,
    ]);
    expect(await store.get(copy.id)).toMatchObject({
      status: 'DELETED',
      reason: 'retention: beyond retention (daily 1, weekly 0, monthly 0)',
    });
  });
});
