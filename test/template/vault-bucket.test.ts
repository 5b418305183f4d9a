/**
 * The vault bucket (backups.vaultBucket) as IAM decides on it, both sides of the cross-account request: the packaged
 * kitchen-sink stack's roles (the control plane's identity policies) and the bucket policy the vault account's member
 * template holds (lib/events/member-account/vault-bucket.ts), simulated together with @cloud-copilot/iam-simulate
 * (Amazon S3 User Guide, "How Amazon S3 authorizes a request": a request from another account needs both to allow it).
 *
 * - The worker task may put and read dumps and archives there, a volume function its volume's archives; no role of
 *   the stack is granted any delete there, and the bucket policy denies the workers' deletes, retention and lock
 *   changes and governance bypass even were they granted.
 * - Roles of the stack that are not workers cannot write there; the vault account's break-glass role is not denied.
 */
import { rmSync } from 'node:fs';
import { loadStageConfig } from '../../lib/config/load';
import { memberAccountTemplate } from '../../lib/events/member-account-template';
import { memberInputs } from '../support/member-accounts';
import { type CloudFormationTemplate, packagedStage, readTemplate } from '../support/package';
import { bucketDecision } from './bucket-decisions';
import { TEST_PLACE, templateValues } from './cloudformation';
import type { PolicyDocument } from './iam-requests';
import { type StackRole, stackRoles } from './stack-roles';

const config = loadStageConfig('kitchen-sink');
const vault = config.backups.vaultBucket as NonNullable<typeof config.backups.vaultBucket>;
const VAULT_ACCOUNT = '555555555555';
const BUCKET_ARN = `arn:aws:s3:::${vault.name}`;

/** The member template's value as CloudFormation resolves it in the vault account, the control plane in TEST_PLACE. */
function resolveVault(value: unknown): unknown {
  const names: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::AccountId': VAULT_ACCOUNT,
    ControlPlaneAccountId: TEST_PLACE.account,
  };
  if (Array.isArray(value)) return value.map(resolveVault);
  if (value === null || typeof value !== 'object') return value;
  const [[key, inner] = []] = Object.entries(value);
  if (Object.keys(value).length === 1 && key === 'Fn::Sub') {
    return (inner as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => names[name] ?? `\${${name}}`);
  }
  if (Object.keys(value).length === 1 && key === 'Fn::GetAtt') return BUCKET_ARN;
  if (Object.keys(value).length === 1 && key === 'Fn::Join') {
    const [separator, parts] = inner as [string, unknown[]];
    return parts.map(resolveVault).join(separator);
  }
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, resolveVault(item)]));
}

const bucketPolicy = () => {
  const template = memberAccountTemplate(memberInputs('vault')) as {
    Resources: Record<string, { Properties: { PolicyDocument: PolicyDocument } }>;
  };
  return resolveVault(template.Resources.VaultBucketPolicy?.Properties.PolicyDocument) as PolicyDocument;
};

let roles: StackRole[] = [];
let packaged: { dir: string; owned: boolean };

beforeAll(async () => {
  packaged = await packagedStage('kitchen-sink');
  const template: CloudFormationTemplate = readTemplate(packaged.dir);
  roles = stackRoles(template, templateValues(template, TEST_PLACE, 'slipway-kitchen-sink'));
});

afterAll(() => {
  if (packaged?.owned) rmSync(packaged.dir, { recursive: true, force: true });
});

const roleOf = (logicalId: string) => {
  const found = roles.find((role) => role.logicalId === logicalId);
  if (!found) throw new Error(`no role ${logicalId} in the package`);
  return found;
};

/** IAM's decision on `action` by `role` on `key` of the vault bucket (the bucket itself when absent). */
const decide = (
  role: { arn: string; policies: StackRole['role']['policies'] },
  action: string,
  key?: string,
  context: Record<string, string> = {},
  resourcePolicy: PolicyDocument | undefined = bucketPolicy(),
) => bucketDecision(role, action, { arn: BUCKET_ARN, account: VAULT_ACCOUNT, policy: resourcePolicy }, key, context);

const ERASING = [
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:BypassGovernanceRetention',
];

describe('the vault bucket, as IAM decides across the two accounts', () => {
  it('given the worker task role, then it may put, read and list dumps and archives there', async () => {
    const worker = roleOf('WorkerTaskRole').role;
    expect(worker.arn).toBe(`arn:aws:iam::${TEST_PLACE.account}:role/slipway-kitchen-sink-worker-task-us-east-1`);
    for (const key of ['dumps/shop-db/bkp-1/x.dump', 'volumes/search-index/bkp-2/x.tar.zst']) {
      expect(await decide(worker, 's3:PutObject', key)).toBe('Allowed');
      expect(await decide(worker, 's3:GetObject', key)).toBe('Allowed');
      expect(await decide(worker, 's3:AbortMultipartUpload', key)).toBe('Allowed');
    }
    expect(await decide(worker, 's3:ListBucket', undefined, { 's3:prefix': 'dumps/shop-db/bkp-1/' })).toBe('Allowed');
  });

  it('given a volume function role, then it may write its archives, and nothing under dumps/', async () => {
    const volume = roleOf('VolumeShopUploadsIamRoleLambdaExecution').role;
    expect(await decide(volume, 's3:PutObject', 'volumes/shop-uploads/bkp-1/x.tar.gz')).toBe('Allowed');
    expect(await decide(volume, 's3:GetObject', 'volumes/shop-uploads/bkp-1/x.tar.gz')).toBe('Allowed');
    expect(await decide(volume, 's3:PutObject', 'dumps/shop-db/bkp-1/x.dump')).not.toBe('Allowed');
  });

  it('given every role of the stack, then none is granted a delete, a retention or a lock change there', async () => {
    const granted: string[] = [];
    for (const { logicalId, role } of roles) {
      for (const action of ERASING) {
        // The identity side alone: what the control plane's own policies allow, whatever the bucket says.
        const decision = await decide(role, action, 'volumes/shop-uploads/bkp-1/x.tar.gz', {}, {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: `${BUCKET_ARN}/*` }],
        } as PolicyDocument);
        if (decision === 'Allowed') granted.push(`${logicalId}: ${action}`);
      }
    }
    expect(granted).toEqual([]);
  });

  it('given the workers granted everything by their own account, then the bucket policy still denies their deletes and lock changes', async () => {
    const everything = [
      {
        name: 'all',
        document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
      },
    ] as StackRole['role']['policies'];
    for (const logicalId of ['WorkerTaskRole', 'VolumeShopUploadsIamRoleLambdaExecution']) {
      const arn = roleOf(logicalId).role.arn;
      for (const action of ERASING) {
        expect([logicalId, action, await decide({ arn, policies: everything }, action, 'dumps/x.dump')]).toEqual([
          logicalId,
          action,
          'ExplicitlyDenied',
        ]);
      }
      expect(await decide({ arn, policies: everything }, 's3:PutBucketObjectLockConfiguration')).toBe(
        'ExplicitlyDenied',
      );
    }
  });

  it('given a role of the stack that is no worker, then the bucket policy lets it write nothing', async () => {
    const other = roleOf('TakeBackupIamRoleLambdaExecution').role;
    const everything = [
      {
        name: 'all',
        document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
      },
    ] as StackRole['role']['policies'];
    expect(await decide({ arn: other.arn, policies: everything }, 's3:PutObject', 'volumes/x')).not.toBe('Allowed');
  });

  it('given the vault account’s break-glass role, then the bucket policy does not deny it', async () => {
    const breakGlass = {
      arn: vault.breakGlassRoleArn as string,
      policies: [
        {
          name: 'all',
          document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
        },
      ] as StackRole['role']['policies'],
    };
    expect(await decide(breakGlass, 's3:DeleteObjectVersion', 'dumps/x.dump')).toBe('Allowed');
    expect(await decide(breakGlass, 's3:PutObjectRetention', 'dumps/x.dump')).toBe('Allowed');
  });
});
