import { drillIdentifier, restoreTargetPrefix, snapshotName } from '../../backup/identifiers';
import { VAULT_GRANT_OPERATIONS, vaultOf } from '../../backup/vault';
import type { DatabaseConfig, SlipwayConfig } from '../../config/schema';
import { unique } from './cloudformation';

/**
 * What a member account's template holds for the databases config places in it (databases.<name>.account): the
 * RDS and KMS calls their snapshots, copies, retention, restores and drills make through the account's role, on
 * those databases, their snapshots (by Slipway's names) and their restores' targets only, each in its regions;
 * and the identifiers whose RDS events its rules forward. The control plane's own grants for the same calls
 * (serverless/iam/statements.yml: snapshotDatabases to deleteDrillDatabases) narrowed to the account's databases.
 */

type Json = Record<string, unknown>;

interface PlacedDatabase {
  name: string;
  db: DatabaseConfig;
  type: 'instance' | 'cluster';
  identifier: string;
  /** Where the database is. */
  region: string;
  /** Where its snapshots are: its region, and copyToRegion. */
  regions: string[];
}

const rdsArn = (region: string, resource: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:rds:${region}:\${AWS::AccountId}:${resource}`,
});

/** The databases config places in the account (undefined: the control plane's own), each with its region. */
function placedDatabases(
  config: SlipwayConfig,
  account: string | undefined,
  controlPlaneRegion: string,
): PlacedDatabase[] {
  return Object.entries(config.databases)
    .filter(([, db]) => db.account === account)
    .map(([name, db]) => {
      const region = db.region ?? controlPlaneRegion;
      return {
        name,
        db,
        type: db.rdsCluster ? ('cluster' as const) : ('instance' as const),
        identifier: (db.rdsCluster ?? db.rdsInstance) as string,
        region,
        regions: unique([region, ...(db.copyToRegion ? [db.copyToRegion] : [])]),
      };
    });
}

/** The regions the account's databases and their copies are in: each gets forwarding rules. */
export function databaseRegions(
  config: SlipwayConfig,
  account: string | undefined,
  controlPlaneRegion: string,
): string[] {
  return unique(placedDatabases(config, account, controlPlaneRegion).flatMap(({ regions }) => regions)).sort();
}

/** What Slipway's snapshots of a database are named (slipway-<database>-<yyyymmddhhmm>, lib/backup/identifiers.ts) from. */
export const snapshotPrefix = (database: string) => snapshotName(database, new Date(0)).replace(/\d{12}$/, '');

/** Slipway's snapshots of a database, in a region. */
function snapshotArns(placed: PlacedDatabase, region: string) {
  return rdsArn(
    region,
    `${placed.type === 'cluster' ? 'cluster-snapshot' : 'snapshot'}:${snapshotPrefix(placed.name)}*`,
  );
}

/** A drill's scratch names start so, however its name is shortened (lib/backup/identifiers.ts, drillIdentifier). */
const DRILL_PREFIX = drillIdentifier('d', new Date(0)).slice(0, 'slipway-drill-'.length);

/** What a restore of the database may create: `<source>-restore-*`, and drills' scratch databases. */
function restoreTargets(placed: PlacedDatabase) {
  const prefixes = [restoreTargetPrefix(placed.identifier), DRILL_PREFIX];
  return prefixes.flatMap((prefix) =>
    placed.type === 'cluster'
      ? // An Aurora cluster is restored, then given a writer instance named after it.
        [rdsArn(placed.region, `cluster:${prefix}*`), rdsArn(placed.region, `db:${prefix}*`)]
      : [rdsArn(placed.region, `db:${prefix}*`)],
  );
}

const RESTORES = [
  'rds:RestoreDBInstanceFromDBSnapshot',
  'rds:RestoreDBInstanceToPointInTime',
  'rds:RestoreDBClusterFromSnapshot',
  'rds:RestoreDBClusterToPointInTime',
];

/** The role's statements for the account's databases; none when config places none there. */
export function databaseStatements(config: SlipwayConfig, account: string, controlPlaneRegion: string): Json[] {
  const placed = placedDatabases(config, account, controlPlaneRegion);
  if (placed.length === 0) return [];
  const regions = databaseRegions(config, account, controlPlaneRegion);
  const sources = unique(
    placed.map((one) => rdsArn(one.region, `${one.type === 'cluster' ? 'cluster' : 'db'}:${one.identifier}`)),
  );
  const snapshots = unique(placed.flatMap((one) => one.regions.map((region) => snapshotArns(one, region))));
  const sourceSnapshots = unique(placed.map((one) => snapshotArns(one, one.region)));
  const targets = unique(placed.flatMap(restoreTargets));
  const groups = unique(
    placed.flatMap((one) => ['subgrp', 'og', 'pg', 'cluster-pg'].map((type) => rdsArn(one.region, `${type}:*`))),
  );
  const restoreKeys = unique(placed.flatMap(({ db }) => (db.kmsKeyArn ? [db.kmsKeyArn] : [])));
  const copyKeys = unique(placed.flatMap(({ db }) => (db.copyToRegion && db.copyKmsKeyId ? [db.copyKmsKeyId] : [])));
  const drills = unique(
    placed.flatMap((one) =>
      one.type === 'cluster'
        ? [rdsArn(one.region, `cluster:${DRILL_PREFIX}*`), rdsArn(one.region, `db:${DRILL_PREFIX}*`)]
        : [rdsArn(one.region, `db:${DRILL_PREFIX}*`)],
    ),
  );
  return [
    // List and describe calls made without an identifier (the manual snapshot quota) are authorised against "*":
    // held to the databases' regions.
    {
      Sid: 'DescribeDatabasesAndSnapshots',
      Effect: 'Allow',
      Action: [
        'rds:DescribeDBInstances',
        'rds:DescribeDBClusters',
        'rds:DescribeDBSnapshots',
        'rds:DescribeDBClusterSnapshots',
      ],
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': regions } },
    },
    {
      Sid: 'SnapshotDatabases',
      Effect: 'Allow',
      Action: ['rds:CreateDBSnapshot', 'rds:CreateDBClusterSnapshot'],
      Resource: sources,
    },
    // Slipway's snapshots of these databases: taken with its tags, copied with them (CopyTags), deleted by retention.
    {
      Sid: 'CreateCopyAndDeleteSnapshots',
      Effect: 'Allow',
      Action: [
        'rds:CreateDBSnapshot',
        'rds:CreateDBClusterSnapshot',
        'rds:CopyDBSnapshot',
        'rds:CopyDBClusterSnapshot',
        'rds:AddTagsToResource',
        'rds:DeleteDBSnapshot',
        'rds:DeleteDBClusterSnapshot',
      ],
      Resource: snapshots,
    },
    // A restore reads a snapshot Slipway took of a configured source in its region, or the source's history...
    { Sid: 'RestoreFromSources', Effect: 'Allow', Action: RESTORES, Resource: [...sources, ...sourceSnapshots] },
    // ...into a new instance or cluster named by the rule, with an Aurora cluster's writer, tagged on create...
    {
      Sid: 'RestoreIntoTargets',
      Effect: 'Allow',
      Action: [...RESTORES, 'rds:CreateDBInstance', 'rds:AddTagsToResource'],
      Resource: targets,
    },
    // ...with the subnet, option and parameter groups it copies from the source: used, never changed.
    {
      Sid: 'RestoreWithGroups',
      Effect: 'Allow',
      Action: [...RESTORES, 'rds:CreateDBInstance'],
      Resource: groups,
    },
    {
      Sid: 'DeleteDrillDatabases',
      Effect: 'Allow',
      Action: ['rds:DeleteDBInstance', 'rds:DeleteDBCluster'],
      Resource: drills,
    },
    // RDS encrypts a restore with its source's key, and a copy with copyKmsKeyId, creating a grant as the caller.
    ...(restoreKeys.length > 0
      ? [
          {
            Sid: 'UseRestoreKeys',
            Effect: 'Allow',
            Action: ['kms:CreateGrant', 'kms:DescribeKey'],
            Resource: restoreKeys,
            Condition: {
              StringEquals: {
                'kms:ViaService': unique(placed.map(({ region }) => `rds.${region}.amazonaws.com`)).sort(),
              },
            },
          },
        ]
      : []),
    ...(copyKeys.length > 0
      ? [{ Sid: 'UseCopyKeys', Effect: 'Allow', Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: copyKeys }]
      : []),
    ...vaultSourceStatements(config, account, placed, sourceSnapshots, restoreKeys),
  ];
}

/**
 * What sharing the databases' snapshots with the backup vault takes of the account's role (lib/backup/vault-copies.ts),
 * the control plane's own shareSnapshotsWithTheVault, grantVaultTheSourceKeys and describeVaultSourceKeys
 * (serverless/iam/statements.yml) narrowed to them: share Slipway's snapshots of them, grant their keys to the vault's
 * role alone with the operations a copy takes, and ask who manages those keys. None without a vault, nor in the vault
 * account itself (its snapshots get no vault copy).
 */
function vaultSourceStatements(
  config: SlipwayConfig,
  account: string,
  placed: PlacedDatabase[],
  snapshots: Json[],
  keys: string[],
): Json[] {
  const vault = vaultOf(config);
  if (!vault || vault.account === account) return [];
  const types = new Set(placed.map(({ type }) => type));
  return [
    {
      Sid: 'ShareSnapshotsWithTheVault',
      Effect: 'Allow',
      Action: [
        ...(types.has('instance') ? ['rds:ModifyDBSnapshotAttribute'] : []),
        ...(types.has('cluster') ? ['rds:ModifyDBClusterSnapshotAttribute'] : []),
      ],
      Resource: snapshots,
    },
    ...(keys.length > 0
      ? [
          {
            Sid: 'GrantTheVaultTheSourceKeys',
            Effect: 'Allow',
            Action: ['kms:CreateGrant'],
            Resource: keys,
            Condition: {
              StringEquals: { 'kms:GranteePrincipal': vault.roleArn },
              'ForAllValues:StringEquals': { 'kms:GrantOperations': [...VAULT_GRANT_OPERATIONS] },
            },
          },
          // Whether a source's key is customer managed: RDS shares no snapshot encrypted with aws/rds.
          { Sid: 'DescribeTheVaultSourceKeys', Effect: 'Allow', Action: ['kms:DescribeKey'], Resource: keys },
        ]
      : []),
  ];
}

/**
 * The identifiers whose RDS events the region's rule forwards, by prefix: Slipway's snapshots of the databases in
 * (or copied to) the region, their restores' targets and drills' scratch databases there. Undefined when none is.
 */
export function databaseEventIdentifiers(
  config: SlipwayConfig,
  account: string | undefined,
  region: string,
  controlPlaneRegion: string,
): Array<{ prefix: string }> | undefined {
  const placed = placedDatabases(config, account, controlPlaneRegion).filter(({ regions }) => regions.includes(region));
  if (placed.length === 0) return undefined;
  return unique([
    ...placed.map(({ name }) => ({ prefix: snapshotPrefix(name) })),
    ...placed
      .filter((one) => one.region === region)
      .map(({ identifier }) => ({ prefix: restoreTargetPrefix(identifier) })),
    ...(placed.some((one) => one.region === region) ? [{ prefix: DRILL_PREFIX }] : []),
  ]);
}
