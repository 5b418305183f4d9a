import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { accountIdOf } from '../config/account-ids';
import type { SlipwayConfig } from '../config/schema';
import { vaultIsMemberAccount } from '../config/vault-role';
import { ConfigError } from '../errors';
import { camel, inAccount, sub, unique } from './member-account/cloudformation';
import { databaseEventIdentifiers, databaseRegions, databaseStatements } from './member-account/databases';
import { deployStatements, type Placed } from './member-account/deploy';
import { exportStatements } from './member-account/exports';
import { forwardingResources, forwardingRole } from './member-account/forwarding';
import { memberHealthAlarms, probeMetricStatements } from './member-account/health-alarms';
import { type ReleasedRepository, releasedRepositories, releaseReadStatements } from './member-account/release-reads';
import { vaultPolicy } from './member-account/vault';
import { vaultBucketConditions, vaultBucketResources, vaultRegion } from './member-account/vault-bucket';
import { vaultRestorePolicy } from './member-account/vault-restores';

/**
 * The standalone CloudFormation template a member account (accounts.<name>) deploys, generated from config
 * (`npm run member-template`, resources/member-account/<stage>-<account>.yml):
 *
 * - the role config names (roleArn), which the control plane's deploying functions assume: trusted by those
 *   functions' roles alone, with the external id when config names one, and allowed the ECS and ECR calls a
 *   deployment makes on the services, clusters and repositories of the environments placed in the account,
 *   and no other: the control plane's own grants for the same calls (serverless/iam/statements.yml,
 *   requestDeployment) narrowed to the account's resources and regions; the ECR reads a release makes on the
 *   account's repositories release policies deploy from (member-account/release-reads.ts); and the probes'
 *   PutMetricData in Slipway's namespace (lib/events/member-account/health-alarms.ts);
 * - the health alarms of those environments, in each one's region (lib/health/alarm-placement.ts);
 * - in each region of those environments, EventBridge rules forwarding their ECS deployment, ECR push and
 *   scan (basic and Amazon Inspector's), and Slipway's alarm events to the control plane's default event bus,
 *   through a role and with a dead-letter queue.
 */

export const MEMBER_TEMPLATE_DIR = 'resources/member-account';
export const memberTemplatePath = (stage: string, account: string) => `${MEMBER_TEMPLATE_DIR}/${stage}-${account}.yml`;

export interface MemberTemplateInputs {
  config: SlipwayConfig;
  /** The account's name under accounts. */
  account: string;
  stage: string;
  /** serverless.yml's service. */
  service: string;
  /** The control plane's region, which its function roles are named after. */
  controlPlaneRegion: string;
  /** The control plane's functions whose roles assume the account roles (assumingFunctions). */
  assumingFunctions: string[];
  /** The control plane's functions whose roles assume the backup vault's role (vaultFunctions). */
  vaultFunctions: string[];
}

type Json = Record<string, unknown>;

const ASSUMING_STATEMENT = `\${self:custom.statements.assumeAccountRoles}`;
const VAULT_STATEMENT = `\${self:custom.statements.assumeVaultRole}`;

/** The functions of serverless/functions/*.yml whose roles may assume the backup vault's role (assumeVaultRole). */
export const vaultFunctions = (root = '.'): string[] => assumingFunctions(root, VAULT_STATEMENT);

/**
 * The functions of serverless/functions/*.yml whose roles may assume the account roles: those given the
 * assumeAccountRoles statement, directly or through a permission set of serverless/iam/permissions.yml.
 */
export function assumingFunctions(root = '.', statement = ASSUMING_STATEMENT): string[] {
  const permissions = parse(readFileSync(join(root, 'serverless/iam/permissions.yml'), 'utf8')) as Record<
    string,
    unknown[]
  >;
  const sets = Object.entries(permissions)
    .filter(([, statements]) => statements.includes(statement))
    .map(([name]) => `\${self:custom.permissions.${name}}`);
  const dir = join(root, 'serverless/functions');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yml'))
    .sort()
    .flatMap((file) => {
      const functions = (parse(readFileSync(join(dir, file), 'utf8')) ?? {}) as Record<string, Json | null>;
      return Object.entries(functions)
        .filter(([, fn]) => {
          const statements = fn?.iamRoleStatements;
          if (typeof statements === 'string') return sets.includes(statements);
          return Array.isArray(statements) && statements.some((entry) => entry === statement || sets.includes(entry));
        })
        .map(([name]) => name);
    });
}

// IAM role names are at most 64 characters (IAM User Guide, "IAM and AWS STS quotas").
const ROLE_NAME_MAX = 64;

/**
 * The role serverless-iam-roles-per-function gives a function: `<service>-<stage>-<function>-<region>-lambdaRole`,
 * without `-lambdaRole` when that would pass IAM's 64 characters (its getFunctionRoleName), which refuses
 * to package a function whose name is longer still.
 */
export function functionRoleName(service: string, stage: string, fn: string, region: string): string {
  const full = `${service}-${stage}-${fn}-${region}-lambdaRole`;
  if (full.length <= ROLE_NAME_MAX) return full;
  const short = `${service}-${stage}-${fn}-${region}`;
  if (short.length > ROLE_NAME_MAX) {
    throw new ConfigError(`function ${fn}'s role name ${short} is over IAM's ${ROLE_NAME_MAX} characters`);
  }
  return short;
}

/**
 * The environments config places in the account (undefined: the control plane's own), each with its region (absent:
 * the control plane's).
 */
export function placedEnvironments(
  config: SlipwayConfig,
  account: string | undefined,
  controlPlaneRegion: string,
): Placed[] {
  return Object.entries(config.apps).flatMap(([app, appConfig]) =>
    Object.entries(appConfig.environments)
      .filter(([, env]) => env.account === account)
      .map(([environment, env]) => ({
        app,
        environment,
        env,
        region: env.region ?? controlPlaneRegion,
        clusterName: env.cluster.split('/').at(-1) as string,
      })),
  );
}

/** An ECR repository URI's account, region and name; undefined for another registry's. */
function ecrRepository(uri: string): { account: string; region: string; name: string } | undefined {
  const match = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(.+)$/.exec(uri);
  return match ? { account: match[1] as string, region: match[2] as string, name: match[3] as string } : undefined;
}

interface AccountFacts {
  id: string;
  roleName: string;
  rolePath: string;
  externalId: boolean;
  placed: Placed[];
  regions: string[];
  /** The account's ECR repositories the placed environments deploy from, by region. */
  repositories: Map<string, string[]>;
  /** The account's ECR repositories release policies deploy from, wherever their environments are. */
  released: ReleasedRepository[];
}

function accountFacts(inputs: MemberTemplateInputs): AccountFacts {
  const { config, account, controlPlaneRegion } = inputs;
  const configured = config.accounts[account];
  if (!configured) {
    const names = Object.keys(config.accounts);
    throw new ConfigError(
      `account ${account} is not one config names under accounts${names.length > 0 ? ` (${names.join(', ')})` : ''}`,
    );
  }
  const id = accountIdOf(configured.roleArn);
  const [, , , , , resource] = configured.roleArn.split(':') as string[];
  const path = (resource as string).slice('role'.length);
  const roleName = path.slice(path.lastIndexOf('/') + 1);
  const placed = placedEnvironments(config, account, controlPlaneRegion);
  const repositories = new Map<string, string[]>();
  for (const app of unique(placed.map(({ app }) => app))) {
    const repository = ecrRepository(config.apps[app]?.repository ?? '');
    if (repository?.account !== id) continue;
    repositories.set(repository.region, unique([...(repositories.get(repository.region) ?? []), repository.name]));
  }
  const released = releasedRepositories(config, id);
  return {
    id,
    roleName,
    rolePath: path.slice(0, path.lastIndexOf('/') + 1),
    externalId: configured.externalIdSecret !== undefined,
    placed,
    regions: unique([
      ...placed.map(({ region }) => region),
      ...repositories.keys(),
      ...databaseRegions(config, account, controlPlaneRegion),
      ...released.map(({ region }) => region),
    ]).sort(),
    repositories,
    released,
  };
}

/**
 * The functions the role trusts: the vault's role, the functions reaching the vault alone, unless config places more
 * there (lib/config/vault-role.ts); any other account's, the assuming functions.
 */
function trustedFunctions({ config, account, assumingFunctions, vaultFunctions }: MemberTemplateInputs): string[] {
  if (config.backups.vaultAccount !== account) return assumingFunctions;
  if (!vaultIsMemberAccount(config)) return vaultFunctions;
  return [...assumingFunctions, ...vaultFunctions.filter((fn) => !assumingFunctions.includes(fn))];
}

/** The role's trust policy: the control plane's assuming roles, by ARN, with the external id when config names one. */
function trustPolicy(inputs: MemberTemplateInputs, facts: AccountFacts): Json {
  const { service, stage, controlPlaneRegion } = inputs;
  const roles = trustedFunctions(inputs).map((fn) =>
    sub(
      `arn:\${AWS::Partition}:iam::\${ControlPlaneAccountId}:role/${functionRoleName(service, stage, fn, controlPlaneRegion)}`,
    ),
  );
  // The account as principal and each role in aws:PrincipalArn, rather than the roles as principals: IAM refuses a
  // trust policy naming a role that does not exist yet, and one naming a role deleted and made again stops
  // matching it (IAM User Guide, "AWS JSON policy elements: Principal", IAM role principals), so this stack
  // may be deployed before the control plane's, and survives its roles being replaced.
  const controlPlane = { AWS: sub(`arn:\${AWS::Partition}:iam::\${ControlPlaneAccountId}:root`) };
  const byArn = { ArnEquals: { 'aws:PrincipalArn': roles } };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ControlPlaneDeploys',
        Effect: 'Allow',
        Principal: controlPlane,
        Action: 'sts:AssumeRole',
        Condition: {
          ...byArn,
          ...(facts.externalId ? { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } } : {}),
        },
      },
      {
        // The session's tags and source identity: Slipway's two tags only, none transitive (lib/aws/account-credentials.ts).
        Sid: 'ControlPlaneTagsSessions',
        Effect: 'Allow',
        Principal: controlPlane,
        Action: ['sts:TagSession', 'sts:SetSourceIdentity'],
        Condition: {
          ...byArn,
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['slipway:app', 'slipway:environment'] },
          Null: { 'sts:TransitiveTagKeys': 'true' },
        },
      },
    ],
  };
}

const FORWARDING_ROLE = 'EventForwardingRole';

/** One region's forwarding rules and dead-letter queue (member-account/forwarding.ts), created only in that region. */
function regionResources(inputs: MemberTemplateInputs, facts: AccountFacts, region: string, home: string): Json {
  const { config, stage, service } = inputs;
  const scanned = facts.released.filter((released) => released.scanned && released.region === region);
  return forwardingResources({
    config,
    stage,
    where: `account ${inputs.account}, ${region}`,
    region,
    placed: facts.placed.filter((placed) => placed.region === region),
    repositoryNames: unique([
      ...(facts.repositories.get(region) ?? []),
      ...facts.released.filter((released) => released.region === region).map(({ name }) => name),
    ]),
    scannedArns: scanned.map(({ name }) => inAccount('ecr', region, `repository/${name}`)),
    rdsIdentifiers: databaseEventIdentifiers(config, inputs.account, region, inputs.controlPlaneRegion),
    busArn: { Ref: 'ControlPlaneEventBusArn' },
    roleArn: sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${forwardingRoleName(service, stage)}`),
    dependsOn: region === home ? [FORWARDING_ROLE] : undefined,
    condition: `In${camel(region)}`,
  });
}

const forwardingRoleName = (service: string, stage: string) => `${service}-${stage}-event-forwarding`;

/** The template, as an object. */
export function memberAccountTemplate(inputs: MemberTemplateInputs): Json {
  const facts = accountFacts(inputs);
  const { service, stage } = inputs;
  const [home] = facts.regions;
  const statements = [
    ...deployStatements(facts),
    ...releaseReadStatements(facts.released),
    ...probeMetricStatements(facts.placed),
    ...databaseStatements(inputs.config, inputs.account, inputs.controlPlaneRegion),
    ...exportStatements(inputs.config, inputs.account, inputs.controlPlaneRegion),
  ];
  const policies = [
    ...(statements.length > 0
      ? [{ PolicyName: 'SlipwayDeployments', PolicyDocument: { Version: '2012-10-17', Statement: statements } }]
      : []),
    ...[
      vaultPolicy(inputs.config, inputs.account, inputs.controlPlaneRegion),
      vaultRestorePolicy(
        inputs.config,
        inputs.account,
        inputs.controlPlaneRegion,
        functionRoleName(inputs.service, inputs.stage, 'createRestore', inputs.controlPlaneRegion),
      ),
    ].filter((policy) => policy !== undefined),
  ];
  const homeOnly = home === undefined ? {} : { Condition: 'InHomeRegion' };
  const resources: Json = {
    TargetRole: {
      Type: 'AWS::IAM::Role',
      ...homeOnly,
      Properties: {
        RoleName: facts.roleName,
        Path: facts.rolePath,
        Description: `Assumed by Slipway stage ${stage}'s control plane to deploy to this account`,
        AssumeRolePolicyDocument: trustPolicy(inputs, facts),
        ...(policies.length > 0 ? { Policies: policies } : {}),
      },
    },
  };
  if (home !== undefined) {
    resources[FORWARDING_ROLE] = forwardingRole({
      roleName: forwardingRoleName(service, stage),
      description: `EventBridge forwards this account's events to Slipway stage ${stage}'s control plane with it`,
      condition: 'InHomeRegion',
      busArn: { Ref: 'ControlPlaneEventBusArn' },
    });
    for (const region of facts.regions) Object.assign(resources, regionResources(inputs, facts, region, home));
    Object.assign(
      resources,
      memberHealthAlarms(stage, facts.placed, (region) => `In${camel(region)}`),
    );
  }
  const vault = {
    ...inputs,
    functionRole: (fn: string) => functionRoleName(service, stage, fn, inputs.controlPlaneRegion),
  };
  Object.assign(resources, vaultBucketResources(vault));
  const conditions = {
    ...(home === undefined
      ? {}
      : {
          InHomeRegion: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, home] },
          ...Object.fromEntries(
            facts.regions.map((region) => [`In${camel(region)}`, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, region] }]),
          ),
        }),
    ...vaultBucketConditions(vault),
  };
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `Slipway stage ${stage}: what member account ${inputs.account} (${facts.id}) holds for its control plane`,
    Parameters: {
      ControlPlaneAccountId: {
        Type: 'String',
        Description: "The control plane's AWS account id, whose deploying functions assume the role",
        AllowedPattern: '^\\d{12}$',
      },
      ...(home === undefined
        ? {}
        : {
            ControlPlaneEventBusArn: {
              Type: 'String',
              Description:
                "The ARN of the control plane's default event bus (arn:aws:events:<region>:<account>:event-bus/default)",
              AllowedPattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/default$',
            },
          }),
      ...(facts.externalId
        ? {
            ExternalId: {
              Type: 'String',
              NoEcho: true,
              Description: `The external id in the control plane's secret ${inputs.config.accounts[inputs.account]?.externalIdSecret}`,
              MinLength: 2,
              MaxLength: 1224,
              AllowedPattern: '^[\\w+=,.@:/-]+$',
            },
          }
        : {}),
    },
    ...(Object.keys(conditions).length === 0 ? {} : { Conditions: conditions }),
    Resources: resources,
  };
}

function vaultHeader(inputs: MemberTemplateInputs): string[] {
  const region = vaultRegion(inputs);
  return region === undefined
    ? []
    : [
        `It holds the vault bucket ${inputs.config.backups.vaultBucket?.name}, created by the stack in ${region} only: deploy it there. See docs/member-accounts.md, "The vault bucket".`,
      ];
}

/** The template's text, with a header saying what made it and how it is deployed. */
export function renderMemberAccountTemplate(inputs: MemberTemplateInputs): string {
  const template = memberAccountTemplate(inputs);
  const facts = accountFacts(inputs);
  const [home] = facts.regions;
  const header = [
    `Generated by \`npm run member-template -- --account ${inputs.account} --stage ${inputs.stage} --region ${inputs.controlPlaneRegion}\` from config/${inputs.stage}.yml: do not edit.`,
    `Member account ${inputs.account} (${facts.id}) of Slipway stage ${inputs.stage}, whose control plane runs in ${inputs.controlPlaneRegion}.`,
    home === undefined
      ? `Deploy it once, in ${vaultRegion(inputs) ?? 'any region of the account'}: aws cloudformation deploy --template-file <this file> --stack-name slipway-member`
      : `Deploy it in each of ${facts.regions.join(', ')}, ${home} first (its roles are made there): a StackSet over those regions, or aws cloudformation deploy in each`,
    `  --capabilities CAPABILITY_NAMED_IAM --parameter-overrides ControlPlaneAccountId=<id>${home === undefined ? '' : ' ControlPlaneEventBusArn=<arn>'}${facts.externalId ? " ExternalId=<the secret's value>" : ''}`,
    ...vaultHeader(inputs),
    'Its rules forward events to the control plane\'s bus as the EventBridge User Guide describes ("Sending and receiving events between AWS accounts in Amazon EventBridge"). See docs/member-accounts.md.',
  ];
  return `${header.map((line) => `# ${line}`).join('\n')}\n${stringify(template, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
