import { CreateGrantCommand, DescribeKeyCommand, type GrantOperation, type KMSClient } from '@aws-sdk/client-kms';
import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBSnapshots,
  type RDSClient,
  type Tag,
} from '@aws-sdk/client-rds';
import type { Operation } from '../aws/account-credentials';
import { logger, metrics } from '../observability';
import {
  type BackupsContext,
  configuredDatabase,
  errorName,
  notify,
  snapshotsOnly,
  sourceOf,
  type VaultPorts,
} from './backups-context';
import { backupOperation, databasePlace, databaseRegion } from './database-places';
import type { BackupRecord } from './records';
import { planRetention, type RetentionDecision, type SnapshotInfo } from './retention';
import { carryOutRetention, describeSnapshotIn, retentionAfter, settleFrom } from './snapshot-outcome';
import { changeSnapshotShare } from './snapshot-shares';
import { isVaultCopy, planVaultCopy, type Vault, type VaultCopySteps, vaultOf, vaultSnapshotInfo } from './vault';

/**
 * Copies of every snapshot in the vault account (backups.vaultAccount): shared by the source account, copied and
 * kept by the vault's own role, which alone deletes them. Settled by the reconciler, which asks the vault through
 * its role: RDS's events about the copy are the vault account's, which would need forwarding rules there and a
 * bus that takes them, for a copy that takes minutes to hours and waits 5 at most for the next reconcile.
 */

/** Where the snapshot is: its account's RDS (ModifyDBSnapshotAttribute) and KMS (the grant on its key). */
export interface SourcePorts {
  rds: RDSClient;
  kms: KMSClient;
}

const VAULT_PRINCIPAL = 'slipway-vault';
const operationOf = (id: string): Operation => ({ id, principal: VAULT_PRINCIPAL });

function vaultPorts(ctx: BackupsContext): { vault: Vault; ports: VaultPorts } | undefined {
  const vault = vaultOf(ctx.deps.config);
  return vault && ctx.deps.vault ? { vault, ports: ctx.deps.vault } : undefined;
}

/** The vault copy an available snapshot gets, queued; none without a vault. */
export function vaultCopyRecord(ctx: BackupsContext, snapshot: BackupRecord): BackupRecord | undefined {
  const vault = vaultOf(ctx.deps.config);
  if (!vault || isVaultCopy(snapshot) || snapshot.kind === 'snapshot-export') return undefined;
  const at = ctx.now().toISOString();
  return {
    id: ctx.newId(),
    kind: 'snapshot-copy',
    database: snapshot.database,
    source: snapshot.source,
    region: snapshot.region,
    account: vault.account,
    snapshotIdentifier: snapshot.snapshotIdentifier,
    status: 'QUEUED',
    trigger: `after ${snapshot.id}`,
    parentId: snapshot.id,
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * Starts a queued vault copy from where its snapshot is: the database's account (the control plane's own, or a
 * member account's through its role, as the copy's session) shares it and grants its key there.
 */
export function startVaultCopyFromSource(ctx: BackupsContext, record: BackupRecord, parent: BackupRecord) {
  const ports = ctx.deps.vault;
  if (!ports) return failVaultCopy(ctx, record, 'backups.vaultAccount no longer names a vault');
  const place = databasePlace(ctx.deps.config, parent.database, parent.region);
  const operation = backupOperation(record);
  return startVaultCopy(ctx, record, parent, {
    rds: ctx.deps.rdsFor(place, operation),
    kms: ports.kmsFor(place, operation),
  });
}

/**
 * Shares the parent snapshot with the vault, lets the vault's role use its key, and has the vault's role copy it
 * there. A refusal (a default key, no vault key) fails the copy with its reason before anything is shared.
 */
export async function startVaultCopy(
  ctx: BackupsContext,
  record: BackupRecord,
  parent: BackupRecord,
  source: SourcePorts,
): Promise<BackupRecord> {
  const found = vaultPorts(ctx);
  if (!found) return failVaultCopy(ctx, record, 'backups.vaultAccount no longer names a vault');
  const { vault, ports } = found;
  let plan: ReturnType<typeof planVaultCopy>;
  try {
    const keyManager =
      parent.encrypted && parent.kmsKeyId ? await keyManagerOf(source.kms, parent.kmsKeyId) : undefined;
    plan = planVaultCopy(parent, vault, keyManager);
  } catch (error) {
    return failVaultCopy(ctx, record, `KMS did not describe the snapshot's key (${errorName(error)})`);
  }
  if ('refused' in plan) return failVaultCopy(ctx, record, plan.refused);
  const { steps } = plan;
  let step = 'share';
  try {
    await changeSnapshotShare(source.rds, steps.share, 'add');
    if (steps.grant) {
      step = 'grant';
      await source.kms.send(
        new CreateGrantCommand({
          KeyId: steps.grant.keyId,
          GranteePrincipal: steps.grant.granteePrincipal,
          Name: steps.grant.name,
          Operations: steps.grant.operations as GrantOperation[],
        }),
      );
    }
    step = 'copy';
    const arn = await copy(ports.rdsIn(record.region, operationOf(record.id)), steps.copy);
    const started = await ctx.deps.store.update<BackupRecord>(record.id, ['QUEUED'], {
      status: 'CREATING',
      ...(arn ? { snapshotArn: arn } : {}),
      encrypted: parent.encrypted ?? false,
      ...(steps.copy.kmsKeyId ? { kmsKeyId: steps.copy.kmsKeyId } : {}),
      updatedAt: ctx.now().toISOString(),
    });
    metrics.addMetric('VaultCopiesStarted', 'Count', 1);
    return started ?? record;
  } catch (error) {
    const what = {
      share: 'RDS refused to share the snapshot',
      grant: 'KMS refused the grant',
      copy: 'RDS refused the copy',
    }[step];
    return failVaultCopy(ctx, record, `${what} (${errorName(error)}): ${(error as Error).message}`.slice(0, 500));
  }
}

async function keyManagerOf(kms: KMSClient, keyId: string) {
  return (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyManager;
}

async function copy(rds: RDSClient, step: VaultCopySteps['copy']): Promise<string | undefined> {
  const kms = step.kmsKeyId ? { KmsKeyId: step.kmsKeyId } : {};
  if (step.type === 'cluster') {
    const answer = await rds.send(
      new CopyDBClusterSnapshotCommand({
        SourceDBClusterSnapshotIdentifier: step.sourceArn,
        TargetDBClusterSnapshotIdentifier: step.targetIdentifier,
        Tags: step.tags,
        ...kms,
      }),
    );
    return answer.DBClusterSnapshot?.DBClusterSnapshotArn;
  }
  const answer = await rds.send(
    new CopyDBSnapshotCommand({
      SourceDBSnapshotIdentifier: step.sourceArn,
      TargetDBSnapshotIdentifier: step.targetIdentifier,
      Tags: step.tags,
      ...kms,
    }),
  );
  return answer.DBSnapshot?.DBSnapshotArn;
}

/** Asks the vault about a copy in flight; available, it is settled and the vault's retention runs. */
export async function settleVaultCopy(ctx: BackupsContext, record: BackupRecord): Promise<BackupRecord | undefined> {
  const found = vaultPorts(ctx);
  if (!found) return failVaultCopy(ctx, record, 'backups.vaultAccount no longer names a vault', ['CREATING']);
  const rds = found.ports.rdsIn(record.region, operationOf(record.id));
  const described = await describeSnapshotIn(rds, record.source.type, record.snapshotIdentifier);
  const settled = await settleFrom(ctx, record, described, { noun: 'vault copy', metric: 'VaultCopies' });
  if (settled?.status === 'AVAILABLE') {
    await retentionAfter(settled.database, () => applyVaultRetention(ctx, settled.database));
  }
  return settled;
}

/**
 * The database's retention plan applied to its copies in the vault, by the vault's role: the same GFS plan as in
 * the source account, decided on the vault's snapshots alone.
 */
export async function applyVaultRetention(ctx: BackupsContext, database: string): Promise<RetentionDecision> {
  const found = vaultPorts(ctx);
  if (!found) return { keep: [], delete: [] };
  const db = configuredDatabase(ctx, database);
  const { type } = sourceOf(db);
  // The copies are in their snapshots' region: the database's.
  const region = databaseRegion(ctx.deps.config, database, ctx.deps.region);
  const rds = found.ports.rdsIn(region, operationOf(`retention-${database}`));
  const decision = planRetention(await vaultSnapshots(rds, database, type, region), db.retention, ctx.now());
  const records = snapshotsOnly((await ctx.deps.store.list(database, { limit: 200 })).items).filter(
    (record) => record.account === found.vault.account,
  );
  await carryOutRetention(ctx, database, decision, {
    rdsOf: () => rds,
    type,
    recordOf: (snapshot) => records.find((candidate) => candidate.snapshotIdentifier === snapshot.id),
    account: found.vault.account,
  });
  return decision;
}

/** The vault's manual snapshots of a database's kind, as retention judges them (by tags: a copy keeps no source id). */
async function vaultSnapshots(
  rds: RDSClient,
  database: string,
  type: 'instance' | 'cluster',
  region: string,
): Promise<SnapshotInfo[]> {
  const listed: Array<{ id: string; createdAt: string; status: string; tags: Tag[] | undefined }> = [];
  // A copy is dated by its original's creation: the backup it holds is of then (OriginalSnapshotCreateTime, RDS API Reference).
  const dated = (original: Date | undefined, created: Date | undefined) => (original ?? created)?.toISOString() ?? '';
  if (type === 'cluster') {
    for await (const page of paginateDescribeDBClusterSnapshots({ client: rds }, { SnapshotType: 'manual' })) {
      for (const snapshot of page.DBClusterSnapshots ?? []) {
        listed.push({
          id: snapshot.DBClusterSnapshotIdentifier ?? '',
          createdAt: dated(undefined, snapshot.SnapshotCreateTime),
          status: snapshot.Status ?? 'unknown',
          tags: snapshot.TagList,
        });
      }
    }
  } else {
    for await (const page of paginateDescribeDBSnapshots({ client: rds }, { SnapshotType: 'manual' })) {
      for (const snapshot of page.DBSnapshots ?? []) {
        listed.push({
          id: snapshot.DBSnapshotIdentifier ?? '',
          createdAt: dated(snapshot.OriginalSnapshotCreateTime, snapshot.SnapshotCreateTime),
          status: snapshot.Status ?? 'unknown',
          tags: snapshot.TagList,
        });
      }
    }
  }
  return listed.flatMap((snapshot) => {
    const info = vaultSnapshotInfo(snapshot, database, region);
    return info ? [info] : [];
  });
}

async function failVaultCopy(
  ctx: BackupsContext,
  record: BackupRecord,
  reason: string,
  from: readonly string[] = ['QUEUED'],
): Promise<BackupRecord> {
  const failed = await ctx.deps.store.update<BackupRecord>(record.id, from, {
    status: 'FAILED',
    reason,
    updatedAt: ctx.now().toISOString(),
  });
  logger.warn('vault copy failed', { backupId: record.id, reason });
  metrics.addMetric('VaultCopiesFailed', 'Count', 1);
  if (failed) await notify(ctx, failed);
  return failed ?? record;
}
