import * as z from 'zod';
import { memberExportIssues } from './member-exports';
import { awsRegion, describeInput, expects, roleArn, secretReference } from './values';

/**
 * accounts: the other AWS accounts Slipway acts in, each through a role it assumes; and the `account`
 * and `region` keys that place an environment, a database or a volume in one (absent: the control
 * plane's own account and region).
 */

export const account = z.strictObject(
  {
    roleArn: roleArn.describe(
      "The role in that account Slipway's functions assume (sts:AssumeRole) to act there; its trust policy names the control plane's function roles. One role per account",
    ),
    externalIdSecret: secretReference
      .optional()
      .describe(
        "Secrets Manager secret, in the control plane's own account and region, holding the external id the role's trust policy requires (sts:ExternalId): read when the role is assumed, never logged nor shown in an error",
      ),
    regions: z
      .array(awsRegion, expects('a list of AWS regions'))
      .min(1, expects('at least one AWS region'))
      .refine((regions) => new Set(regions).size === regions.length, expects('each region once'))
      .optional()
      .describe('The regions of that account config may place things in; absent: any region'),
  },
  expects('an account {roleArn, externalIdSecret?, regions?}'),
);

// Any string: one that names no account is refused naming those there are (placementIssues).
export const accountName = z
  .string(expects('the name of an account under accounts'))
  .min(1, expects('the name of an account under accounts'));

/**
 * The `account` and `region` keys of an environment, a database or a volume; `what` names what they
 * place, `until` why config refuses them for now (placementIssues), which the reference says too.
 */
export function placementKeys(what: string, until: string) {
  return {
    account: accountName
      .optional()
      .describe(`The account (a name under accounts) of ${what}; absent: the control plane's own account. ${until}`),
    region: awsRegion
      .optional()
      .describe(
        `The region of ${what}, one of the account's regions when it lists them; absent: the control plane's own region. ${until}`,
      ),
  };
}

type Accounts = Record<string, z.output<typeof account>>;

// Here for the config's own checks and packaging; the functions import them from account-ids.ts, which loads no zod.
export { accountIdOf, memberAccountIds } from '../account-ids';

interface Placed {
  account?: string | undefined;
  region?: string | undefined;
}
interface PlacedDatabase extends Placed {
  copyToRegion?: string | undefined;
  exportToS3?: boolean | undefined;
  exportRoleArn?: string | undefined;
  exportKmsKeyId?: string | undefined;
}
export interface PlacementIssue {
  path: Array<string | number>;
  message: string;
}

const VOLUME_ELSEWHERE =
  "a volume must be in the control plane's own account and region: it is archived on EFS mounted by a Lambda function (or the worker task) of the control plane, which mounts file systems of its own account only. Volumes in other accounts are not supported yet; leave account and region out";

/** What the reference says of a database's placement keys. */
export const DATABASE_PLACEMENT =
  "Snapshots, their copies, retention, restores, drills, the reconciler and the RDS events then act there; in another account, as a session on its role (sts:AssumeRole) named after the backup or restore. copyToRegion is then a region of that account too; exportToS3 is started there, into the control plane's backup bucket (whose policy lets exportRoleArn write under rds-exports/<database>/ only), with exportRoleArn and exportKmsKeyId of that account, of the snapshot in the bucket's region: the database's own, else its copy to copyToRegion";
/** What the reference says of an environment's placement keys. */
export const ENVIRONMENT_PLACEMENT =
  "Deployments, their ECS events, the reconciler and the environment's reads then act there; in another account, as a session on its role (sts:AssumeRole) named after the deployment";
export const VOLUME_PLACEMENT =
  "Not accepted: a volume is archived on EFS mounted by a Lambda function (or the worker task) in the control plane's own account and region, so any value is refused; leave it out";

/** Two account names with one role ARN: each account has one role, named once. */
export function accountIssues(accounts: Accounts): PlacementIssue[] {
  const owners = new Map<string, string>();
  const issues: PlacementIssue[] = [];
  for (const [name, { roleArn: arn }] of Object.entries(accounts)) {
    const owner = owners.get(arn);
    if (owner === undefined) owners.set(arn, name);
    else
      issues.push({
        path: ['accounts', name, 'roleArn'],
        message: `is account ${owner}'s role too: each account is named once, with its own role`,
      });
  }
  return issues;
}

/** What is wrong with where one thing is placed: an account config does not name, a region that account does not list. */
export function referenceIssue(
  accounts: Accounts,
  placed: Placed,
  path: Array<string | number>,
): PlacementIssue | undefined {
  if (placed.account !== undefined && !Object.hasOwn(accounts, placed.account)) {
    const names = Object.keys(accounts);
    return {
      path: [...path, 'account'],
      message:
        names.length === 0
          ? `expected the name of an account under accounts, but none is configured, received ${describeInput(placed.account)}`
          : `expected one of the accounts config names (${names.join(', ')}), received ${describeInput(placed.account)}`,
    };
  }
  const regions = placed.account === undefined ? undefined : accounts[placed.account]?.regions;
  if (placed.region !== undefined && regions && !regions.includes(placed.region)) {
    return {
      path: [...path, 'region'],
      message: `expected one of account ${placed.account}'s regions (${regions.join(', ')}), received ${describeInput(placed.region)}`,
    };
  }
  return undefined;
}

interface Placeable {
  accounts: Accounts;
  apps: Record<string, { environments: Record<string, Placed> }>;
  databases: Record<string, PlacedDatabase>;
  volumes: Record<string, Placed>;
}

/**
 * What a database in another account cannot have: a copy in a region its account does not list, or an export
 * with a role or a key RDS cannot use there (member-exports.ts).
 */
function databaseIssues(accounts: Accounts, db: PlacedDatabase, path: Array<string | number>): PlacementIssue[] {
  if (db.account === undefined || !Object.hasOwn(accounts, db.account)) return [];
  const regions = accounts[db.account]?.regions;
  const issues: PlacementIssue[] = [];
  if (db.copyToRegion !== undefined && regions && !regions.includes(db.copyToRegion)) {
    issues.push({
      path: [...path, 'copyToRegion'],
      message: `expected one of account ${db.account}'s regions (${regions.join(', ')}): the copy is made in that account, received ${describeInput(db.copyToRegion)}`,
    });
  }
  const owner = accounts[db.account];
  if (owner) issues.push(...memberExportIssues(db.account, owner.roleArn, db, path));
  return issues;
}

/**
 * Every placement config makes, checked against the accounts it names. One that names an account or a
 * region no flow can act in (a volume's) is refused, so that every key config accepts takes effect.
 */
export function placementIssues(config: Placeable): PlacementIssue[] {
  const issues = accountIssues(config.accounts);
  const check = (placed: Placed, path: Array<string | number>, elsewhere: string | undefined) => {
    const wrong = referenceIssue(config.accounts, placed, path);
    if (wrong) issues.push(wrong);
    else if (elsewhere !== undefined && (placed.account !== undefined || placed.region !== undefined)) {
      issues.push({ path: [...path, placed.account !== undefined ? 'account' : 'region'], message: elsewhere });
    }
  };
  for (const [appName, app] of Object.entries(config.apps)) {
    for (const [envName, env] of Object.entries(app.environments)) {
      // Deployments act through the account's role (lib/deploy/placement.ts, lib/wiring/accounts.ts).
      check(env, ['apps', appName, 'environments', envName], undefined);
    }
  }
  for (const [name, db] of Object.entries(config.databases)) {
    // Backups, restores and RDS events act through the account's role (lib/wiring/rds.ts).
    check(db, ['databases', name], undefined);
    issues.push(...databaseIssues(config.accounts, db, ['databases', name]));
  }
  for (const [name, volume] of Object.entries(config.volumes)) check(volume, ['volumes', name], VOLUME_ELSEWHERE);
  return issues;
}
