import { CreateKeyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import {
  CreateDBClusterCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotAttributesCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  type RestoreDBInstanceFromDBSnapshotCommandInput,
} from '@aws-sdk/client-rds';
import type { AwsCredentialIdentity } from '@smithy/types';
import { mockClient } from 'aws-sdk-client-mock';
import type { AccountCredentials, Operation, Place } from '../../lib/aws/account-credentials';
import { createKmsClient } from '../../lib/aws/clients/kms';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import type { BackupRecord, RestoreRecord } from '../../lib/backup/records';
import { configSchema } from '../../lib/config/schema';
import { Conflict, Unprocessable } from '../../lib/errors';
import type { Publisher } from '../../lib/notify/publisher';
import { Restores } from '../../lib/restore/restores';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import { auditOn } from '../support/audit';
import { motoEndpoint, resetMoto } from '../support/moto';
import { sessionOn as onMoto } from '../support/moto-aws';
import { controlPlaneOn } from '../support/moto-member';

/**
 * A vault copy restored into another account, end to end on moto (one backend per account, sts:AssumeRole): the vault
 * account 444444444444 holds Slipway's copy of shop-db, encrypted with the vault's key; a restore into account staging
 * (222222222222) has the vault's role share the copy with staging and grant staging's role the use of the vault's key,
 * then staging's role restores the copy by its ARN; the reconciler sees the instance available in staging and has the
 * vault's role remove the share.
 *
 * One call moto cannot make faithfully: the restore of a snapshot shared from another account. moto 5.2.1 looks the
 * ARN's snapshot up by name in the caller's own account (moto/rds/models.py, RDSBackend.get_snapshot ignores the ARN's
 * account), so staging's RestoreDBInstanceFromDBSnapshot is answered by aws-sdk-client-mock on staging's session
 * client: it records what Slipway sends, refuses (as RDS does) unless moto says the vault shares the copy with staging,
 * and makes in staging what RDS would (the instance, with the tags asked for). The control plane's own restore of the
 * copy (account "@control-plane") is answered the same way on the function's client in 111111111111, for the same
 * reason. Every other call goes to moto.
 */

const CONTROL_PLANE = '111111111111';
const STAGING = '222222222222';
const VAULT = '444444444444';
const REGION = 'us-east-1';
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-createRestore`;
const STAGING_ROLE = `arn:aws:iam::${STAGING}:role/slipway-member`;
const VAULT_ROLE = `arn:aws:iam::${VAULT}:role/slipway-vault`;
const TABLE = 'slipway-vault-restore-state';
const COPY = 'slipway-shop-db-202611220300';
const COPY_ARN = `arn:aws:rds:${REGION}:${VAULT}:snapshot:${COPY}`;
const TARGET = 'shop-prod-restore-into-staging';

let env: Record<string, string>;
let own: AwsCredentialIdentity;
let vaultOperator: AwsCredentialIdentity;
let inVault: RDSClient;
let inStaging: RDSClient;
let vaultKey: string;
let accounts: AccountCredentials;
let restores: Restores;
let copy: BackupRecord;
let backupStore: BackupStore;
let ids = 0;
const restoresAsked: RestoreDBInstanceFromDBSnapshotCommandInput[] = [];
const stubs: Array<{ restore: () => void }> = [];
const stubbed = new WeakSet<RDSClient>();
let refuseNext = false;
let atHome: RDSClient | undefined;

const sharedWith = async () =>
  (
    await inVault.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: COPY }))
  ).DBSnapshotAttributesResult?.DBSnapshotAttributes?.find(({ AttributeName }) => AttributeName === 'restore')
    ?.AttributeValues ?? [];

/** The target account's restore of the shared copy, as RDS answers it (see above): staging's, or the control plane's. */
async function restoreAsRdsWould(
  input: RestoreDBInstanceFromDBSnapshotCommandInput,
  into: { accountId: string; rds: () => RDSClient },
) {
  restoresAsked.push(input);
  if (refuseNext) {
    refuseNext = false;
    throw Object.assign(new Error('Invalid storage size for engine name postgres'), {
      name: 'InvalidParameterCombination',
    });
  }
  if (!(await sharedWith()).includes(into.accountId)) {
    throw Object.assign(new Error(`DBSnapshot ${input.DBSnapshotIdentifier} not found`), {
      name: 'DBSnapshotNotFoundFault',
    });
  }
  const { DBInstance } = await into.rds().send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: input.DBInstanceIdentifier,
      DBInstanceClass: 'db.t4g.small',
      Engine: 'postgres',
      AllocatedStorage: 20,
      Tags: input.Tags,
    }),
  );
  return { DBInstance };
}

/**
 * RDS as the functions reach it: a session on the account's role, or the function's own credentials in the control
 * plane's account; staging's and the control plane's with their restore of the shared copy answered as above.
 */
function rdsWhere(place: Place, operation: Operation): RDSClient {
  if (place.account === undefined) {
    if (!atHome) {
      atHome = createRdsClient({ ...env, AWS_REGION: place.region ?? REGION }, own);
      const stub = mockClient(atHome);
      stub.send.callThrough();
      const home = atHome;
      stub
        .on(RestoreDBInstanceFromDBSnapshotCommand)
        .callsFake((input) => restoreAsRdsWould(input, { accountId: CONTROL_PLANE, rds: () => home }));
      stubs.push(stub);
    }
    return atHome;
  }
  const client = accounts.client(createRdsClient, place, operation);
  if (place.account === 'staging' && !stubbed.has(client)) {
    const stub = mockClient(client);
    stub.send.callThrough();
    stub
      .on(RestoreDBInstanceFromDBSnapshotCommand)
      .callsFake((input) => restoreAsRdsWould(input, { accountId: STAGING, rds: () => inStaging }));
    stubbed.add(client);
    stubs.push(stub);
  }
  return client;
}

/**
 * The copy shared with `accountId` alone, the vault key's use granted to `grantee`, and the restore asked last of the
 * target account by the copy's ARN, tagged as Slipway's restore.
 */
async function expectSharedGrantedAndAsked(into: { accountId: string; grantee: string; restore: RestoreRecord }) {
  expect(await sharedWith()).toEqual([into.accountId]);
  const grants =
    (await createKmsClient(env, vaultOperator).send(new ListGrantsCommand({ KeyId: vaultKey }))).Grants ?? [];
  expect(grants).toContainEqual(
    expect.objectContaining({
      GranteePrincipal: into.grantee,
      Name: 'slipway-vault-restores',
      Operations: ['Decrypt', 'DescribeKey', 'CreateGrant', 'ReEncryptFrom'],
    }),
  );
  expect(restoresAsked.at(-1)).toEqual({
    DBInstanceIdentifier: into.restore.targetIdentifier,
    DBSnapshotIdentifier: COPY_ARN,
    Tags: [
      { Key: 'slipway:restore-of', Value: 'shop-prod' },
      { Key: 'slipway:restore-id', Value: into.restore.id },
      { Key: 'slipway:vault-copy', Value: COPY },
    ],
  });
}

const newId = (prefix: string) => () => {
  ids += 1;
  return `${prefix}-00000000-0000-4000-8000-${String(ids).padStart(12, '0')}`;
};

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION };
  own = await onMoto(env, FUNCTION_ROLE, 'slipway-prod-createRestore');
  vaultOperator = await onMoto(env, VAULT_ROLE, 'operator-seeding', own);
  inVault = createRdsClient(env, vaultOperator);
  inStaging = createRdsClient(env, await onMoto(env, STAGING_ROLE, 'operator-reading', own));

  // Given the vault's key, and Slipway's copy of shop-db in the vault, encrypted with it and tagged as a vault copy
  vaultKey = (await createKmsClient(env, vaultOperator).send(new CreateKeyCommand({ Description: 'vault' })))
    .KeyMetadata?.Arn as string;
  await inVault.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: 'shop-prod',
      DBInstanceClass: 'db.t4g.small',
      Engine: 'postgres',
      AllocatedStorage: 20,
      StorageEncrypted: true,
      KmsKeyId: vaultKey,
    }),
  );
  const { DBSnapshot } = await inVault.send(
    new CreateDBSnapshotCommand({
      DBSnapshotIdentifier: COPY,
      DBInstanceIdentifier: 'shop-prod',
      Tags: [{ Key: 'slipway:vault-copy', Value: 'true' }],
    }),
  );
  expect(DBSnapshot?.DBSnapshotArn).toBe(COPY_ARN);

  const config = configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    accounts: { vault: { roleArn: VAULT_ROLE }, staging: { roleArn: STAGING_ROLE } },
    backups: { vaultAccount: 'vault', vaultKmsKey: vaultKey },
    databases: { 'shop-db': { rdsInstance: 'shop-prod' }, 'reports-db': { rdsCluster: 'reports-aurora' } },
  });
  const controlPlane = await controlPlaneOn(env, own, {
    accounts: config.accounts,
    secrets: createSecretsManagerClient(env, own),
    table: TABLE,
  });
  const { documents } = controlPlane;
  accounts = controlPlane.accounts;
  const backups = new BackupStore(documents, TABLE);
  backupStore = backups;
  copy = {
    id: 'bkp-00000000-0000-4000-8000-000000000100',
    kind: 'snapshot-copy',
    database: 'shop-db',
    source: { type: 'instance', identifier: 'shop-prod' },
    snapshotIdentifier: COPY,
    snapshotArn: COPY_ARN,
    region: REGION,
    account: 'vault',
    status: 'AVAILABLE',
    trigger: 'schedule',
    encrypted: true,
    kmsKeyId: vaultKey,
    createdAt: '2026-11-22T03:00:00.000Z',
    updatedAt: '2026-11-22T03:10:00.000Z',
  } as BackupRecord;
  await backups.create(copy);
  restores = new Restores({
    config,
    store: new RestoreStore(documents, TABLE),
    backups,
    rdsFor: rdsWhere,
    kmsFor: (place, operation) => accounts.client(createKmsClient, place, operation),
    controlPlane: { accountId: CONTROL_PLANE, restoringRoleArn: FUNCTION_ROLE },
    region: REGION,
    publisher: { publish: async () => true } as unknown as Publisher,
    audit: auditOn(documents, TABLE).audit,
    newId: newId('rst'),
  });
});

afterAll(() => {
  for (const stub of stubs) stub.restore();
});

describe('a vault copy restored into account staging', () => {
  let restore: RestoreRecord;

  it('is shared with staging, its key granted to staging’s role, and restored there by its ARN', async () => {
    // When an operator restores the vault copy into staging
    restore = await restores.request({
      database: 'shop-db',
      backupId: copy.id,
      targetIdentifier: TARGET,
      account: 'staging',
      requestedBy: 'alice',
    });

    // Then the restore is recorded in staging, with the share it holds
    expect(restore).toMatchObject({
      status: 'RESTORING',
      account: 'staging',
      region: REGION,
      targetIdentifier: TARGET,
      vaultShare: { vault: 'vault', accountId: STAGING },
    });
    // And the vault shares the copy with staging, granted staging's role the use of its key, and staging was asked to
    // restore the copy by its ARN, tagged as Slipway's restore
    await expectSharedGrantedAndAsked({ accountId: STAGING, grantee: STAGING_ROLE, restore });
    expect(restoresAsked).toHaveLength(1);
    // And the instance is in staging's DescribeDBInstances, and not in the vault's
    const inStagingNow = await inStaging.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: TARGET }));
    expect(inStagingNow.DBInstances?.[0]?.DBInstanceArn).toBe(`arn:aws:rds:${REGION}:${STAGING}:db:${TARGET}`);
    await expect(inVault.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: TARGET }))).rejects.toMatchObject({
      name: 'DBInstanceNotFoundFault',
    });
  });

  it('is refused (409) into an instance that exists in staging, and shares nothing more for it', async () => {
    const again = await restores
      .request({
        database: 'shop-db',
        backupId: copy.id,
        targetIdentifier: TARGET,
        account: 'staging',
        requestedBy: 'bob',
      })
      .catch((error: unknown) => error);
    expect(again).toBeInstanceOf(Conflict);
    expect(restoresAsked).toHaveLength(1);
  });

  it('settles when staging reports the instance available, and the vault’s role then unshares the copy', async () => {
    // When the reconciler follows restores
    const outcomes = await restores.reconcile();

    // Then the restore is available, and the copy is shared with no account any more
    expect(outcomes).toContainEqual({ id: restore.id, outcome: 'AVAILABLE; copy unshared' });
    expect(await sharedWith()).toEqual([]);
    expect((await restores.get(restore.id)) as RestoreRecord).toMatchObject({
      status: 'AVAILABLE',
      vaultShare: { vault: 'vault', accountId: STAGING, removedAt: expect.any(String) },
    });
    // And the next reconcile has nothing left to do for it
    expect((await restores.reconcile()).map(({ id }) => id)).not.toContain(restore.id);
  });

  it('leaves no share behind when staging refuses the restore', async () => {
    // Given staging refusing the next restore, as RDS refuses one for its storage
    refuseNext = true;

    // When a restore into staging is asked
    const refused = await restores
      .request({
        database: 'shop-db',
        backupId: copy.id,
        targetIdentifier: `${TARGET}-2`,
        account: 'staging',
        requestedBy: 'carol',
      })
      .catch((error: unknown) => error);

    // Then it is refused (422) once the copy was shared for it, and the copy is shared with no account after
    expect(refused).toBeInstanceOf(Unprocessable);
    expect((refused as Error).message).toMatch(/^RDS refused the restore: Invalid storage size/);
    expect(restoresAsked.at(-1)?.DBInstanceIdentifier).toBe(`${TARGET}-2`);
    expect(await sharedWith()).toEqual([]);
  });
});

describe('a vault copy restored into the control plane’s own account', () => {
  const HOME_TARGET = 'shop-prod-restore-into-home';
  let restore: RestoreRecord;

  it('is shared with the control plane’s account, its key granted to the restoring role, and restored there by its ARN', async () => {
    // When an operator restores the vault copy into the control plane's own account
    restore = await restores.request({
      database: 'shop-db',
      backupId: copy.id,
      targetIdentifier: HOME_TARGET,
      account: '@control-plane',
      requestedBy: 'alice',
    });

    // Then the restore is recorded in the control plane's account (no account under accounts), with the share it holds
    expect(restore).toMatchObject({
      status: 'RESTORING',
      region: REGION,
      targetIdentifier: HOME_TARGET,
      vaultShare: { vault: 'vault', accountId: CONTROL_PLANE },
    });
    expect(restore).not.toHaveProperty('account');
    // And the vault shares the copy with the control plane's account, granted createRestore's role its key's use, and
    // the control plane restored the copy by its ARN with its own credentials
    await expectSharedGrantedAndAsked({ accountId: CONTROL_PLANE, grantee: FUNCTION_ROLE, restore });
    const atHomeNow = await (atHome as RDSClient).send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: HOME_TARGET }),
    );
    expect(atHomeNow.DBInstances?.[0]?.DBInstanceArn).toBe(`arn:aws:rds:${REGION}:${CONTROL_PLANE}:db:${HOME_TARGET}`);
  });

  it('is left to the reconciler by the control plane’s RDS event, which unshares the copy once it is available', async () => {
    // When RDS tells the control plane the instance is available
    const told = await restores.onTargetEvent(
      { id: 'evt-1', account: CONTROL_PLANE, region: REGION, identifier: HOME_TARGET },
      { account: CONTROL_PLANE, region: REGION },
    );

    // Then the event settles nothing, and the copy stays shared for the reconciler
    expect(told).toBe('not a restore Slipway follows');
    expect(await sharedWith()).toEqual([CONTROL_PLANE]);

    // When the reconciler follows restores
    expect(await restores.reconcile()).toContainEqual({ id: restore.id, outcome: 'AVAILABLE; copy unshared' });

    // Then the copy is shared with no account any more
    expect(await sharedWith()).toEqual([]);
    expect((await restores.get(restore.id)) as RestoreRecord).toMatchObject({
      status: 'AVAILABLE',
      vaultShare: { vault: 'vault', accountId: CONTROL_PLANE, removedAt: expect.any(String) },
    });
  });
});

describe('a cluster’s vault copy restored in the vault', () => {
  it('restores the cluster from the copy with the copy’s engine version, gives it a writer of the class asked, and settles', async () => {
    // Given Slipway's copy of an Aurora cluster's snapshot in the vault
    await inVault.send(
      new CreateDBClusterCommand({
        DBClusterIdentifier: 'reports-aurora',
        Engine: 'aurora-postgresql',
        EngineVersion: '16.4',
        MasterUsername: 'reports',
        MasterUserPassword: 'not-a-secret-1',
      }),
    );
    await inVault.send(
      new CreateDBClusterSnapshotCommand({
        DBClusterSnapshotIdentifier: 'slipway-reports-db-202611220300',
        DBClusterIdentifier: 'reports-aurora',
        Tags: [{ Key: 'slipway:vault-copy', Value: 'true' }],
      }),
    );
    const clusterCopy = {
      ...copy,
      id: 'bkp-00000000-0000-4000-8000-000000000200',
      kind: 'snapshot-copy',
      database: 'reports-db',
      source: { type: 'cluster', identifier: 'reports-aurora' },
      snapshotIdentifier: 'slipway-reports-db-202611220300',
      snapshotArn: `arn:aws:rds:${REGION}:${VAULT}:cluster-snapshot:slipway-reports-db-202611220300`,
      encrypted: false,
    } as BackupRecord;
    delete clusterCopy.kmsKeyId;
    await backupStore.create(clusterCopy);

    // When an operator restores it into the vault, naming the writer's class
    const restore = await restores.request({
      database: 'reports-db',
      backupId: clusterCopy.id,
      targetIdentifier: 'reports-aurora-restore-1',
      overrides: { instanceClass: 'db.r6g.large' },
      requestedBy: 'alice',
    });

    // Then the cluster and its writer are in the vault, and nothing was shared
    expect(restore).toMatchObject({ status: 'RESTORING', account: 'vault', source: { type: 'cluster' } });
    expect(restore).not.toHaveProperty('vaultShare');
    const { DBClusters } = await inVault.send(
      new DescribeDBClustersCommand({ DBClusterIdentifier: 'reports-aurora-restore-1' }),
    );
    expect(DBClusters?.[0]).toMatchObject({ Engine: 'aurora-postgresql', EngineVersion: '16.4' });
    const { DBInstances } = await inVault.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'reports-aurora-restore-1-1' }),
    );
    expect(DBInstances?.[0]).toMatchObject({
      DBClusterIdentifier: 'reports-aurora-restore-1',
      DBInstanceClass: 'db.r6g.large',
    });

    // And the reconciler settles it on its writer
    expect(await restores.reconcile()).toContainEqual({ id: restore.id, outcome: 'AVAILABLE' });
  });
});
