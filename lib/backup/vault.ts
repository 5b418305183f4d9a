import type { Tag } from '@aws-sdk/client-rds';
import { accountIdOf } from '../config/account-ids';
import { keyRegion, vaultKeyIn, vaultKeyList } from '../config/vault-keys';
import type { BackupRecord } from './records';
import type { SnapshotInfo } from './retention';

/**
 * The backup vault's decisions, from plain data: which account keeps the copies, what sharing and copying one
 * snapshot there takes (or why it cannot be), and which of the vault's snapshots retention may judge.
 */

export interface Vault {
  /** The account's name under accounts. */
  account: string;
  accountId: string;
  roleArn: string;
  /** The vault's own keys, at most one per region, for copies of encrypted snapshots made there. */
  kmsKeys: readonly string[];
}

interface VaultConfig {
  accounts: Record<string, { roleArn: string }>;
  backups: { vaultAccount?: string | undefined; vaultKmsKey?: string | string[] | undefined };
}

/** The vault config names; undefined without backups.vaultAccount. */
export function vaultOf(config: VaultConfig): Vault | undefined {
  const { vaultAccount, vaultKmsKey } = config.backups;
  const account = vaultAccount === undefined ? undefined : config.accounts[vaultAccount];
  if (vaultAccount === undefined || !account) return undefined;
  return {
    account: vaultAccount,
    accountId: accountIdOf(account.roleArn),
    roleArn: account.roleArn,
    kmsKeys: vaultKeyList(vaultKmsKey),
  };
}

/** A record that is a copy in the vault (or any other account), rather than in the control plane's own. */
export const isVaultCopy = (record: Pick<BackupRecord, 'account'>) => record.account !== undefined;

/** Who manages a KMS key, as DescribeKey's KeyMetadata.KeyManager says: AWS (aws/rds) or CUSTOMER. */
export type KeyManager = 'AWS' | 'CUSTOMER' | (string & {});

/**
 * What the vault account's role may do with the source key: RDS, calling as the vault's copying role, reads the
 * shared snapshot's data keys and re-encrypts them under the vault's key, creating grants of its own as it goes
 * (RDS User Guide, "Sharing encrypted snapshots": the target account is given the use of the source key).
 */
export const VAULT_GRANT_OPERATIONS = ['Decrypt', 'DescribeKey', 'CreateGrant', 'ReEncryptFrom'] as const;

/** The name of the grant on a source key, the same for every copy: KMS keeps one grant per name and parameters. */
export const VAULT_GRANT_NAME = 'slipway-vault-copies';

/** What copying one available snapshot into the vault takes, in order. */
export interface VaultCopySteps {
  /** ModifyDB(Cluster)SnapshotAttribute `restore` with the vault's account id. */
  share: { type: 'instance' | 'cluster'; identifier: string; attribute: 'restore'; accountId: string };
  /** kms:CreateGrant on the source's customer managed key, to the vault's role. */
  grant?: { keyId: string; granteePrincipal: string; name: string; operations: string[] };
  /** CopyDB(Cluster)Snapshot in the vault account, by the vault's role. */
  copy: {
    type: 'instance' | 'cluster';
    sourceArn: string;
    targetIdentifier: string;
    /** The vault's own key: required to copy a shared encrypted snapshot; never given for an unencrypted one. */
    kmsKeyId?: string;
    tags: Tag[];
  };
}

export type VaultCopyPlan = { steps: VaultCopySteps } | { refused: string };

/** The tag that marks a snapshot as a vault copy Slipway made: the vault role deletes no other. */
export const VAULT_COPY_TAG = 'slipway:vault-copy';

/** The tags every vault copy carries: the vault role may delete only snapshots tagged so. */
export function vaultCopyTags(database: string, sourceAccountId: string | undefined): Tag[] {
  return [
    { Key: 'slipway:database', Value: database },
    { Key: 'slipway:created-by', Value: 'slipway' },
    { Key: VAULT_COPY_TAG, Value: 'true' },
    ...(sourceAccountId ? [{ Key: 'slipway:source-account', Value: sourceAccountId }] : []),
  ];
}

/**
 * What sharing and copying `snapshot` (available, in its source account) into `vault` takes, or why it cannot:
 * - no ARN: CopyDBSnapshot names a shared snapshot by ARN (RDS API Reference, CopyDBSnapshot);
 * - encrypted with the default key aws/rds (KeyManager AWS): RDS shares no such snapshot (RDS User Guide,
 *   "Sharing encrypted snapshots": "You can't share a snapshot that has been encrypted using the default KMS key");
 * - encrypted without a vault key: a shared encrypted snapshot is copied only with a key of the copier's own
 *   (CopyDBSnapshot, KmsKeyId);
 * - encrypted, in a region where the vault has no key: the copy is made in the snapshot's region (a shared snapshot is
 *   copied where it is), and a KMS key encrypts only in its own region, so the copy takes the vault's key of that region;
 * - unencrypted: copied as it is, with no key (CopyDBClusterSnapshot refuses a KmsKeyId for an unencrypted source).
 */
export function planVaultCopy(
  snapshot: Pick<BackupRecord, 'database' | 'source' | 'snapshotIdentifier' | 'snapshotArn' | 'encrypted' | 'kmsKeyId'>,
  vault: Vault,
  keyManager: KeyManager | undefined,
): VaultCopyPlan {
  if (!snapshot.snapshotArn) return { refused: `snapshot ${snapshot.snapshotIdentifier} has no ARN to copy from` };
  const sourceAccountId = snapshot.snapshotArn.split(':')[4];
  if (sourceAccountId === vault.accountId) {
    return {
      refused: `snapshot ${snapshot.snapshotIdentifier} is in the vault account ${vault.account} itself; a vault copy must be in another account`,
    };
  }
  const share = {
    type: snapshot.source.type,
    identifier: snapshot.snapshotIdentifier,
    attribute: 'restore' as const,
    accountId: vault.accountId,
  };
  const copy = {
    type: snapshot.source.type,
    sourceArn: snapshot.snapshotArn,
    targetIdentifier: snapshot.snapshotIdentifier,
    tags: vaultCopyTags(snapshot.database, sourceAccountId),
  };
  if (!snapshot.encrypted) return { steps: { share, copy } };
  if (!snapshot.kmsKeyId) {
    return {
      refused: `snapshot ${snapshot.snapshotIdentifier} is encrypted, and Slipway does not know with which key`,
    };
  }
  if (keyManager === 'AWS') {
    return {
      refused: `snapshot ${snapshot.snapshotIdentifier} is encrypted with the default key aws/rds, and RDS shares no snapshot encrypted with an account's default key (RDS User Guide, "Sharing encrypted snapshots"): encrypt database ${snapshot.database} with a customer managed key`,
    };
  }
  if (vault.kmsKeys.length === 0) {
    return {
      refused: `snapshot ${snapshot.snapshotIdentifier} is encrypted, and backups.vaultKmsKey names no key of the vault to copy it with`,
    };
  }
  const snapshotRegion = snapshot.snapshotArn.split(':')[3] ?? '';
  const vaultKey = vaultKeyIn(vault.kmsKeys, snapshotRegion);
  if (!vaultKey) {
    return {
      refused: `snapshot ${snapshot.snapshotIdentifier} is in ${snapshotRegion}, and backups.vaultKmsKey has no key there (only in ${vault.kmsKeys.map(keyRegion).join(', ')}): the copy is made in the snapshot's region, encrypted with a key of that region (CopyDBSnapshot, KmsKeyId)`,
    };
  }
  return {
    steps: {
      share,
      grant: {
        keyId: snapshot.kmsKeyId,
        granteePrincipal: vault.roleArn,
        name: VAULT_GRANT_NAME,
        operations: [...VAULT_GRANT_OPERATIONS],
      },
      copy: { ...copy, kmsKeyId: vaultKey },
    },
  };
}

/**
 * The vault's snapshots retention may judge for a database: only copies Slipway made there (tagged
 * slipway:vault-copy) of that database; anything else in the vault is not Slipway's to judge, and is kept.
 */
export function vaultSnapshotInfo(
  snapshot: { id: string; createdAt: string; status: string; tags: Tag[] | undefined },
  database: string,
  region: string,
): SnapshotInfo | undefined {
  const tags = snapshot.tags ?? [];
  const has = (key: string, value: string) => tags.some((tag) => tag.Key === key && tag.Value === value);
  if (!has('slipway:database', database)) return undefined;
  return {
    id: snapshot.id,
    createdAt: snapshot.createdAt,
    status: snapshot.status,
    createdBySlipway: has('slipway:created-by', 'slipway') && has(VAULT_COPY_TAG, 'true'),
    region,
  };
}
