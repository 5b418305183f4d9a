import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadConfigFile } from '../../lib/config/load';
import type { SlipwayConfig } from '../../lib/config/schema';
import { type CloudFormationTemplate, packagedProd, readTemplate } from '../support/package';

/**
 * The backup bucket in the packaged prod template (resources/backup-bucket.yml): its own rotated key,
 * Object Lock as config/prod.yml sets it, and a policy that lets only Slipway's roles read objects and
 * only the account root user erase versions, without ever locking the root user or a deployment out.
 */

type Resource = CloudFormationTemplate['Resources'][string] & { UpdateReplacePolicy?: string };
type Template = Omit<CloudFormationTemplate, 'Resources'> & {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, unknown>;
};

interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const require = createRequire(import.meta.url);
const { backupBucketValues } = require('../../serverless/config.cjs') as {
  backupBucketValues: (config: SlipwayConfig, service: string, stage: string) => Record<string, unknown>;
};

// What CloudFormation substitutes for the pseudo parameters, to read names and ARNs as AWS will see them.
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const BACKUP_KEY_ARN = { 'Fn::GetAtt': ['BackupKey', 'Arn'] };
const OBJECTS = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['BackupBucket', 'Arn'] }, '/*']] };

let dir: string;
let owned = false;
let template: Template;
const prodConfig = loadConfigFile('config/prod.yml');

beforeAll(async () => {
  ({ dir, owned } = await packagedProd());
  template = readTemplate(dir) as Template;
});

afterAll(() => {
  if (dir && owned) rmSync(dir, { recursive: true, force: true });
});

const resource = (logicalId: string): Resource => {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`the template has no ${logicalId}`);
  return found;
};

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Fn::Equals of two literals: all the conditions these resources use. */
function conditionHolds(name: string, overrides: Record<string, boolean>): boolean {
  if (name in overrides) return overrides[name] as boolean;
  const condition = template.Conditions?.[name] as { 'Fn::Equals'?: [unknown, unknown] } | undefined;
  const equals = condition?.['Fn::Equals'];
  if (!equals) throw new Error(`condition ${name} is not a Fn::Equals of literals`);
  return JSON.stringify(equals[0]) === JSON.stringify(equals[1]);
}

const NO_VALUE = Symbol('AWS::NoValue');

/** A value as CloudFormation deploys it: Fn::If decided, AWS::NoValue removed, pseudo parameters substituted. */
function evaluate(value: unknown, overrides: Record<string, boolean> = {}): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => evaluate(item, overrides)).filter((item) => item !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if ('Fn::If' in record) {
    const [name, whenTrue, whenFalse] = record['Fn::If'] as [string, unknown, unknown];
    return evaluate(conditionHolds(name, overrides) ? whenTrue : whenFalse, overrides);
  }
  if (record.Ref === 'AWS::NoValue') return NO_VALUE;
  if (record.Ref === 'AWS::Region') return REGION;
  if (typeof record['Fn::Sub'] === 'string') {
    return (record['Fn::Sub'] as string).replace(
      /\$\{AWS::(Partition|AccountId|Region)\}/g,
      (_, name: string) => ({ Partition: 'aws', AccountId: ACCOUNT, Region: REGION })[name] as string,
    );
  }
  if (Array.isArray(record['Fn::Join'])) {
    const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
    const evaluated = parts.map((part) => evaluate(part, overrides));
    // A join over an attribute (a bucket's ARN) stays as it is: only names made of literals are read.
    if (evaluated.every((part) => typeof part === 'string')) return evaluated.join(separator);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    const evaluated = evaluate(item, overrides);
    if (evaluated !== NO_VALUE) out[key] = evaluated;
  }
  return out;
}

/** An IAM ARN pattern (`*` and `?`) as ArnLike reads it. */
const arnPattern = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  );

function bucketPolicyStatements(): Statement[] {
  const document = evaluate(resource('BackupBucketPolicy').Properties?.PolicyDocument) as { Statement: Statement[] };
  return document.Statement;
}

function statementNamed(sid: string): Statement {
  const found = bucketPolicyStatements().find((statement) => statement.Sid === sid);
  if (!found) throw new Error(`the bucket policy has no statement ${sid}`);
  return found;
}

/** Every IAM role of the template with its name as deployed (when it has one) and its policies' statements. */
function roles(): Array<{ logicalId: string; name: string | undefined; statements: Statement[] }> {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .map(([logicalId, r]) => {
      const properties = evaluate(r.Properties) as {
        RoleName?: string;
        Policies?: Array<{ PolicyDocument: { Statement: Statement[] } }>;
      };
      return {
        logicalId,
        name: properties.RoleName,
        statements: (properties.Policies ?? []).flatMap((policy) => policy.PolicyDocument.Statement),
      };
    });
}

const onBucketObjects = (statement: Statement) =>
  statement.Effect === 'Allow' && JSON.stringify(statement.Resource).includes('"BackupBucket"');

const grants = (statement: Statement, ...actions: string[]) =>
  actions.some((action) => list(statement.Action).includes(action));

describe('the backup bucket in the packaged template (stage prod)', () => {
  it('has its own key: rotated, kept with the bucket, administered by the account and destroyed only by its root user', () => {
    // given the key as CloudFormation deploys it
    const key = resource('BackupKey');

    // then
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.UpdateReplacePolicy).toBe('Retain');
    expect(evaluate(key.Properties)).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 30 });
    const statements = (evaluate(key.Properties?.KeyPolicy) as { Statement: Statement[] }).Statement;
    expect(statements).toEqual([
      {
        Sid: 'AccountAdministers',
        Effect: 'Allow',
        Principal: { AWS: ROOT },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'OnlyRootDestroysTheKey',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['kms:ScheduleKeyDeletion', 'kms:DisableKey'],
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': ROOT } },
      },
    ]);
    expect(resource('BackupKeyAlias').Properties).toEqual({
      AliasName: 'alias/slipway-prod-backups',
      TargetKeyId: { Ref: 'BackupKey' },
    });
  });

  it('encrypts with that key, keeps versions, blocks public access and is retained with the stack', () => {
    // given
    const bucket = resource('BackupBucket');

    // then
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    expect(evaluate(bucket.Properties)).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: BACKUP_KEY_ARN },
            BucketKeyEnabled: true,
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('locks every new version as config/prod.yml says, and lifecycle clears what retention deleted once unlocked', () => {
    // given config/prod.yml's lock
    const lock = prodConfig.backups.objectLock;
    expect(lock).toEqual({ mode: 'GOVERNANCE', days: 30 });

    // when the bucket is read as CloudFormation deploys it
    const properties = evaluate(resource('BackupBucket').Properties) as Record<string, unknown>;

    // then Object Lock is on from creation, with the configured default retention
    expect(properties.ObjectLockEnabled).toBe(true);
    expect(properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: lock?.mode, Days: lock?.days } },
    });
    // and the versions retention turns noncurrent, then their delete markers, are removed in time
    const rules = (properties.LifecycleConfiguration as { Rules: Array<Record<string, unknown>> }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        expect.objectContaining({ Status: 'Enabled', ExpiredObjectDeleteMarker: true }),
        expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
      ]),
    );
  });

  it('has no Object Lock at all where the config sets none', () => {
    // given a config with no backups.objectLock (config/example.yml's, without its lock)
    const example = loadConfigFile('config/example.yml');
    const { objectLock: _, ...unlocked } = example.backups;
    const values = backupBucketValues({ ...example, backups: unlocked }, 'slipway', 'staging');

    // when the bucket is read with the condition those values give
    expect(values.backupObjectLockEnabled).toBe('false');
    const properties = evaluate(resource('BackupBucket').Properties, { BackupObjectLock: false }) as Record<
      string,
      unknown
    >;

    // then neither property is there, and the rest is unchanged
    expect(properties).not.toHaveProperty('ObjectLockEnabled');
    expect(properties).not.toHaveProperty('ObjectLockConfiguration');
    expect(properties).toHaveProperty('VersioningConfiguration', { Status: 'Enabled' });
    expect(template.Conditions?.BackupObjectLock).toEqual({
      'Fn::Equals': [String(prodConfig.backups.objectLock !== undefined), 'true'],
    });
  });

  it('refuses plain HTTP', () => {
    expect(statementNamed('DenyInsecureTransport')).toEqual({
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [{ 'Fn::GetAtt': ['BackupBucket', 'Arn'] }, OBJECTS],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });

  it('lets only Slipway roles, the RDS export roles and the account root read objects', () => {
    // given the configured export roles
    const exportRoles = Object.values(prodConfig.databases).flatMap((db) =>
      db.exportToS3 && db.exportRoleArn ? [db.exportRoleArn] : [],
    );
    expect(exportRoles.length).toBeGreaterThan(0);

    // then reads by anyone else are denied, whatever IAM grants them
    expect(statementNamed('DenyReadsOutsideSlipway')).toEqual({
      Sid: 'DenyReadsOutsideSlipway',
      Effect: 'Deny',
      Principal: '*',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: [OBJECTS],
      Condition: {
        ArnNotLike: { 'aws:PrincipalArn': [`arn:aws:iam::${ACCOUNT}:role/slipway-prod-*`, ROOT, ...exportRoles] },
        ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': ['WorkerTaskRole', 'Arn'] }] },
      },
    });
  });

  it('never denies a read to a role of the stack that IAM lets read the bucket', () => {
    // given the reads the policy allows: the role patterns and ARNs, and the worker's role by reference
    const { Condition } = statementNamed('DenyReadsOutsideSlipway');
    const patterns = ((Condition?.ArnNotLike?.['aws:PrincipalArn'] ?? []) as string[]).map(arnPattern);
    const byReference = JSON.stringify(Condition?.ArnNotEquals?.['aws:PrincipalArn']);

    // when every role whose IAM policy allows reading the bucket's objects is checked
    const readers = roles().filter(({ statements }) =>
      statements.some((statement) => onBucketObjects(statement) && grants(statement, 's3:GetObject')),
    );
    expect(readers.map(({ logicalId }) => logicalId)).toEqual(
      expect.arrayContaining(['VolumeShopUploadsIamRoleLambdaExecution', 'WorkerTaskRole']),
    );

    // then each is let through, by the name it will have or by its ARN
    for (const { logicalId, name } of readers) {
      const arn = name === undefined ? undefined : `arn:aws:iam::${ACCOUNT}:role/${name}`;
      const allowed =
        (arn !== undefined && patterns.some((pattern) => pattern.test(arn))) || byReference.includes(`"${logicalId}"`);
      expect({ logicalId, name, allowed }).toEqual({ logicalId, name, allowed: true });
    }
    // and the pattern is no wider than this stage's roles
    expect(patterns.some((pattern) => pattern.test(`arn:aws:iam::${ACCOUNT}:role/someone-else`))).toBe(false);
    expect(patterns.some((pattern) => pattern.test(`arn:aws:iam::${ACCOUNT}:role/slipway-staging-getHealth`))).toBe(
      false,
    );
  });

  it('leaves erasing versions, lifting a governance lock and deleting the bucket to the account root user', () => {
    expect(statementNamed('DenyErasureButByRoot')).toEqual({
      Sid: 'DenyErasureButByRoot',
      Effect: 'Deny',
      Principal: '*',
      Action: ['s3:DeleteObjectVersion', 's3:BypassGovernanceRetention', 's3:DeleteBucket'],
      Resource: [{ 'Fn::GetAtt': ['BackupBucket', 'Arn'] }, OBJECTS],
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': ROOT } },
    });
  });

  it('never locks out the account root user, nor a deployment of the stack', () => {
    for (const statement of bucketPolicyStatements().filter(({ Effect }) => Effect === 'Deny')) {
      // Each deny spares the root user, or concerns only requests no one should make (plain HTTP).
      const sparesRoot = JSON.stringify(statement.Condition ?? {}).includes(`"${ROOT}"`);
      const onlyInsecure =
        JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } });
      expect({ sid: statement.Sid, sparesRoot: sparesRoot || onlyInsecure }).toEqual({
        sid: statement.Sid,
        sparesRoot: true,
      });
      // What CloudFormation calls to deploy the bucket and this policy is never denied.
      const denied = list(statement.Action);
      if (!onlyInsecure) {
        expect(denied.filter((action) => /^s3:(Put|DeleteBucketPolicy|\*)/.test(action))).toEqual([]);
      }
    }
  });

  it('lets every role that reads or writes objects use the bucket key, which S3 needs to encrypt and decrypt', () => {
    // given the roles IAM lets read or write the bucket's objects
    const users = roles().filter(({ statements }) =>
      statements.some((statement) => onBucketObjects(statement) && grants(statement, 's3:GetObject', 's3:PutObject')),
    );
    expect(users.length).toBeGreaterThan(0);

    // then each may generate data keys with and decrypt under the bucket's key
    for (const { logicalId, statements } of users) {
      const usesKey = statements.some(
        (statement) =>
          statement.Effect === 'Allow' &&
          grants(statement, 'kms:GenerateDataKey') &&
          grants(statement, 'kms:Decrypt') &&
          JSON.stringify(list(statement.Resource)).includes(JSON.stringify(BACKUP_KEY_ARN)),
      );
      expect({ logicalId, usesKey }).toEqual({ logicalId, usesKey: true });
    }
  });
});

describe('what serverless/config.cjs gives the bucket', () => {
  const base = loadConfigFile('config/prod.yml');

  it('is a lock as configured, and placeholders with the lock off where there is none', () => {
    // when
    const locked = backupBucketValues(
      { ...base, backups: { ...base.backups, objectLock: { mode: 'COMPLIANCE', days: 365 } } },
      'slipway',
      'prod',
    );
    const { objectLock: _, ...noLock } = base.backups;
    const unlocked = backupBucketValues({ ...base, backups: noLock }, 'slipway', 'prod');

    // then
    expect(locked).toMatchObject({
      backupObjectLockEnabled: 'true',
      backupObjectLockMode: 'COMPLIANCE',
      backupObjectLockDays: 365,
    });
    expect(unlocked).toMatchObject({
      backupObjectLockEnabled: 'false',
      backupObjectLockMode: 'GOVERNANCE',
      backupObjectLockDays: 1,
    });
  });

  it('lets read the stage roles, the root user and the export roles of databases that export, each once', () => {
    // given two databases exporting as one role and one that names a role but does not export
    const db = Object.values(base.databases)[0];
    if (!db) throw new Error('config/prod.yml has no database');
    const exporting = { ...db, exportToS3: true, exportRoleArn: 'arn:aws:iam::123456789012:role/exports' };
    const config: SlipwayConfig = {
      ...base,
      databases: {
        one: exporting,
        two: exporting,
        three: { ...db, exportToS3: false, exportRoleArn: 'arn:aws:iam::123456789012:role/unused' },
      },
    };

    // when
    const { backupReaderArns } = backupBucketValues(config, 'slipway', 'eu');

    // then
    expect(backupReaderArns).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/slipway-eu-*' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
      'arn:aws:iam::123456789012:role/exports',
    ]);
  });
});
