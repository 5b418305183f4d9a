import { loadStageConfig } from '../../../lib/config/load';
import type { SlipwayConfig } from '../../../lib/config/schema';
import { vaultWriterRoles } from '../../../lib/events/member-account/vault-bucket';
import { memberAccountTemplate } from '../../../lib/events/member-account-template';
import { memberInputs } from '../../support/member-accounts';

/**
 * The vault bucket in its account's member template (lib/events/member-account/vault-bucket.ts): the bucket as the
 * Amazon S3 User Guide's Object Lock, Object Ownership and Block Public Access pages describe their settings, and
 * whom its policy names. How IAM decides on that policy is test/template/vault-bucket.test.ts.
 */

type Json = Record<string, unknown>;
const resources = (account: string, config?: SlipwayConfig) =>
  (memberAccountTemplate(memberInputs(account, config)) as { Resources: Record<string, Json> }).Resources;

describe('the vault bucket in the member template', () => {
  it('given the vault account, then the bucket is locked in COMPLIANCE mode by default, versioned, owner-enforced, private, encrypted and expiring', () => {
    // when
    const bucket = resources('vault').VaultBucket as { Condition: string; DeletionPolicy: string; Properties: Json };

    // then
    expect(bucket.Condition).toBe('InVaultRegion');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toEqual({
      BucketName: 'slipway-kitchen-sink-vault',
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 35 } },
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
            ExpirationInDays: 400,
            NoncurrentVersionExpiration: { NoncurrentDays: 35 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
          },
        ],
      },
    });
    expect((memberAccountTemplate(memberInputs('vault')) as { Conditions: Json }).Conditions.InVaultRegion).toEqual({
      'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'],
    });
  });

  it('given another member account, then it holds no vault bucket', () => {
    expect(Object.keys(resources('staging')).filter((id) => id.startsWith('VaultBucket'))).toEqual([]);
  });

  it('given the kitchen sink, then the writers are the volume functions’ roles and the worker task’s, dumps the task’s only', () => {
    // when
    const writers = vaultWriterRoles({
      ...memberInputs('vault'),
      functionRole: (fn) => `slipway-kitchen-sink-${fn}-us-east-1-lambdaRole`,
    });

    // then
    expect(writers).toEqual({
      volumes: [
        'slipway-kitchen-sink-volumeShopUploads-us-east-1-lambdaRole',
        'slipway-kitchen-sink-worker-task-us-east-1',
      ],
      dumps: ['slipway-kitchen-sink-worker-task-us-east-1'],
    });
  });

  it('given no break-glass role, then the denial exempts no one', () => {
    // given
    const config = structuredClone(loadStageConfig('kitchen-sink'));
    delete (config.backups.vaultBucket as { breakGlassRoleArn?: string }).breakGlassRoleArn;

    // when
    const policy = resources('vault', config).VaultBucketPolicy as {
      Properties: { PolicyDocument: { Statement: Array<{ Sid: string; Condition?: Json }> } };
    };

    // then
    const denial = policy.Properties.PolicyDocument.Statement.find(({ Sid }) => Sid === 'NoOneErasesOrUnlocks');
    expect(denial).toBeDefined();
    expect(denial?.Condition).toBeUndefined();
  });
});
