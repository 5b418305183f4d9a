import type { SlipwayConfig } from '../../config/schema';
import { sub } from './cloudformation';

/**
 * The vault bucket (backups.vaultBucket) in its account's member template: what the control plane's worker may
 * write and read, and no one may erase.
 *
 * - S3 Object Lock with a default retention in COMPLIANCE mode (Amazon S3 User Guide, "Locking objects with Object
 *   Lock"): every version written is locked for lockDays from the bucket's own setting, so no date is chosen by the
 *   writer; COMPLIANCE rather than GOVERNANCE because a GOVERNANCE lock yields to s3:BypassGovernanceRetention, which
 *   the vault account's administrators (or whoever takes their credentials) can grant themselves by rewriting this
 *   policy, while a COMPLIANCE lock yields to no one, the root user included, until it ends.
 * - Versioning (Object Lock needs it), bucket-owner-enforced ownership (ACLs off: the vault account owns every object
 *   the worker writes), public access blocked, SSE-S3 encryption: no key of the vault account to share with the
 *   worker, nor to schedule for deletion, which would erase the backups as surely as deleting them.
 * - A lifecycle rule that expires objects after expireDays and removes a version lockDays after it stopped being
 *   current (a locked version is never removed), and incomplete uploads after 7 days: the worker never deletes.
 * - A bucket policy letting the worker roles put, read and list under volumes/ and dumps/, and denying everyone,
 *   except the optional break-glass role, deletes, retention and lock changes, and governance bypass.
 */

type Json = Record<string, unknown>;

export const VAULT_BUCKET = 'VaultBucket';
export const VAULT_REGION_CONDITION = 'InVaultRegion';

/** serverless/config.cjs's function key of a volume's function: `volume-<name>` in camel case. */
export const volumeFunctionKey = (volume: string) =>
  `volume-${volume}`.replace(/-([a-z0-9])/g, (_, next: string) => next.toUpperCase());

/** resources/worker.yml's WorkerTaskRole RoleName. */
export const workerTaskRoleName = (service: string, stage: string, region: string) =>
  `${service}-${stage}-worker-task-${region}`;

export interface VaultBucketInputs {
  config: SlipwayConfig;
  account: string;
  stage: string;
  service: string;
  controlPlaneRegion: string;
  /** The role name serverless gives a function (member-account-template.ts's functionRoleName). */
  functionRole: (fn: string) => string;
}

const controlPlaneRole = (name: string) => sub(`arn:\${AWS::Partition}:iam::\${ControlPlaneAccountId}:role/${name}`);

/** The roles that write volume archives (the volume functions and the worker task) and dumps (the worker task). */
export function vaultWriterRoles(inputs: VaultBucketInputs): { volumes: string[]; dumps: string[] } {
  const { config, service, stage, controlPlaneRegion } = inputs;
  const task = config.worker ? [workerTaskRoleName(service, stage, controlPlaneRegion)] : [];
  const onLambda = Object.entries(config.volumes)
    .filter(([, volume]) => volume.runner === 'lambda')
    .map(([name]) => inputs.functionRole(volumeFunctionKey(name)));
  const hasTaskVolumes = Object.values(config.volumes).some((volume) => volume.runner === 'ecs');
  const hasDumps = Object.values(config.databases).some((db) => db.dump !== undefined);
  return { volumes: [...onLambda, ...(hasTaskVolumes ? task : [])], dumps: hasDumps ? task : [] };
}

/** The bucket policy's statements, the bucket's ARN given as CloudFormation makes it. */
export function vaultBucketPolicyStatements(inputs: VaultBucketInputs, bucketArn: unknown): Json[] {
  const vault = inputs.config.backups.vaultBucket;
  if (!vault) return [];
  const writers = vaultWriterRoles(inputs);
  const objects = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}/*`]] });
  const controlPlane = { AWS: sub(`arn:\${AWS::Partition}:iam::\${ControlPlaneAccountId}:root`) };
  // The account as principal and each role in aws:PrincipalArn, as the target role's trust policy does: a policy may
  // be deployed before the roles exist, and keeps matching a role made again (IAM User Guide, Principal element).
  const byRoles = (roles: string[]) => ({ ArnEquals: { 'aws:PrincipalArn': roles.map(controlPlaneRole) } });
  const allRoles = [...new Set([...writers.volumes, ...writers.dumps])];
  const writes = (sid: string, roles: string[], prefixes: string[]) =>
    roles.length === 0
      ? []
      : [
          {
            Sid: sid,
            Effect: 'Allow',
            Principal: controlPlane,
            Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
            Resource: prefixes.map(objects),
            Condition: byRoles(roles),
          },
        ];
  const breakGlass = vault.breakGlassRoleArn
    ? { Condition: { ArnNotEquals: { 'aws:PrincipalArn': vault.breakGlassRoleArn } } }
    : {};
  return [
    ...writes('WorkerWritesVolumeArchives', writers.volumes, ['volumes']),
    ...writes('WorkerWritesDumps', writers.dumps, ['dumps']),
    ...(allRoles.length === 0
      ? []
      : [
          {
            // Without ListBucket a missing key answers 403, not 404: "is this key free?" could not be asked.
            Sid: 'WorkerListsItsPrefixes',
            Effect: 'Allow',
            Principal: controlPlane,
            Action: 's3:ListBucket',
            Resource: bucketArn,
            Condition: { ...byRoles(allRoles), StringLike: { 's3:prefix': ['volumes/*', 'dumps/*'] } },
          },
        ]),
    {
      Sid: 'NoOneErasesOrUnlocks',
      Effect: 'Deny',
      Principal: '*',
      Action: [
        's3:DeleteObject*',
        's3:PutObjectRetention',
        's3:PutObjectLegalHold',
        's3:PutBucketObjectLockConfiguration',
        's3:BypassGovernanceRetention',
      ],
      Resource: [bucketArn, { 'Fn::Join': ['', [bucketArn, '/*']] }],
      ...breakGlass,
    },
    {
      Sid: 'TlsOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [bucketArn, { 'Fn::Join': ['', [bucketArn, '/*']] }],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ];
}

/** The bucket and its policy, created in the vault's region only; none where the account holds no vault. */
export function vaultBucketResources(inputs: VaultBucketInputs): Json {
  const vault = inputs.config.backups.vaultBucket;
  if (!vault || vault.account !== inputs.account) return {};
  const bucketArn = { 'Fn::GetAtt': [VAULT_BUCKET, 'Arn'] };
  return {
    [VAULT_BUCKET]: {
      Type: 'AWS::S3::Bucket',
      Condition: VAULT_REGION_CONDITION,
      // A stack deleted, or the bucket replaced, leaves the backups where they are.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketName: vault.name,
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: vault.lockDays } },
        },
        VersioningConfiguration: { Status: 'Enabled' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: 'ExpireArchives',
              Status: 'Enabled',
              ExpirationInDays: vault.expireDays,
              NoncurrentVersionExpiration: { NoncurrentDays: vault.lockDays },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
            },
          ],
        },
      },
    },
    [`${VAULT_BUCKET}Policy`]: {
      Type: 'AWS::S3::BucketPolicy',
      Condition: VAULT_REGION_CONDITION,
      Properties: {
        Bucket: { Ref: VAULT_BUCKET },
        PolicyDocument: { Version: '2012-10-17', Statement: vaultBucketPolicyStatements(inputs, bucketArn) },
      },
    },
  };
}

/** The region the vault bucket is in: its own, else the control plane's; undefined where the account holds none. */
export function vaultRegion(inputs: Pick<VaultBucketInputs, 'config' | 'account' | 'controlPlaneRegion'>) {
  const vault = inputs.config.backups.vaultBucket;
  if (!vault || vault.account !== inputs.account) return undefined;
  return vault.region ?? inputs.controlPlaneRegion;
}

/** The condition the vault's resources are created under, where the account holds the vault. */
export function vaultBucketConditions(inputs: VaultBucketInputs): Json {
  const vault = inputs.config.backups.vaultBucket;
  if (!vault || vault.account !== inputs.account) return {};
  return { [VAULT_REGION_CONDITION]: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, vaultRegion(inputs)] } };
}
