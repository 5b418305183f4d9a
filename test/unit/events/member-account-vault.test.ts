import { loadStageConfig } from '../../../lib/config/load';
import { vaultPolicy } from '../../../lib/events/member-account/vault';

/**
 * Where the vault account's role copies from (lib/events/member-account/vault.ts): the snapshots each account
 * holding a database shares, in that database's region; config/kitchen-sink.yml's databases are in the control
 * plane's account (us-east-1) and in member account staging (222222222222, orders-db in eu-west-1).
 */

// biome-ignore lint/suspicious/noExplicitAny: a policy document, read here by its paths
type Json = Record<string, any>;

const statementsOf = (policy: Json | undefined): Json[] => policy?.PolicyDocument.Statement ?? [];
const statement = (policy: Json | undefined, sid: string) => statementsOf(policy).find((one) => one.Sid === sid);
const subs = (values: Json[]) => values.map((value) => value['Fn::Sub'] as string);

describe('the vault’s copying statement', () => {
  it('names the shared snapshots of every account holding a database, each in its databases’ regions', () => {
    // Given the kitchen sink's databases
    const config = loadStageConfig('kitchen-sink');

    // When the vault's policy is made
    const copy = statement(vaultPolicy(config, 'vault', 'us-east-1'), 'CopySharedSnapshotsIntoTheVault');

    // Then its sources are the control plane's (a parameter) in us-east-1 and staging's in eu-west-1, nothing else
    expect(subs(copy?.Resource).filter((one) => !one.includes(`\${AWS::AccountId}`))).toEqual([
      `arn:\${AWS::Partition}:rds:us-east-1:\${ControlPlaneAccountId}:snapshot:slipway-*`,
      `arn:\${AWS::Partition}:rds:us-east-1:\${ControlPlaneAccountId}:cluster-snapshot:slipway-*`,
      `arn:\${AWS::Partition}:rds:eu-west-1:222222222222:snapshot:slipway-*`,
    ]);
  });

  it('copies nothing from the vault account’s own databases, whose snapshots get no vault copy', () => {
    // Given orders-db placed in the vault account itself, and no other database
    const config = loadStageConfig('kitchen-sink');
    const orders = { ...(config.databases['orders-db'] as (typeof config.databases)[string]), account: 'vault' };
    config.databases = { 'orders-db': orders };

    // When the vault's policy is made
    const policy = vaultPolicy(config, 'vault', 'us-east-1');

    // Then the policy has no copying statement, nor any statement with no action or no resource (IAM refuses those)
    expect(statement(policy, 'CopySharedSnapshotsIntoTheVault')).toBeUndefined();
    expect(statementsOf(policy).filter((one) => one.Action.length === 0 || one.Resource.length === 0)).toEqual([]);
  });
});
