/**
 * The member-account templates (lib/events/member-account-template.ts), as AWS's linter and IAM take them:
 *
 * - cfn-lint finds nothing in any of them: the committed resources/member-account/ files, and those the generator
 *   makes of config/kitchen-sink.yml with environments placed in its accounts (test/support/member-accounts.ts).
 * - The target role's trust policy, with the packaged kitchen-sink template's roles as callers: it admits exactly
 *   the roles of the stack that may call sts:AssumeRole on it, by ARN, and only with the external id.
 * - The target role's permissions, simulated with ARNs of the member account and its regions: every request the
 *   deploy calls make on the placed environments' resources (iam-requests.ts's models, as iam-actions.test.ts
 *   makes them for the control plane) is allowed; the same requests on another account's resources, on services,
 *   repositories and roles config does not name, or in another region are refused; the role grants no action
 *   those requests do not need, and the control plane's deploying roles' grants are its model.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStageConfig } from '../../lib/config/load';
import type { SlipwayConfig } from '../../lib/config/schema';
import { vaultKeyIn, vaultKeyList } from '../../lib/config/vault-keys';
import {
  assumingFunctions,
  MEMBER_TEMPLATE_DIR,
  memberAccountTemplate,
  renderMemberAccountTemplate,
  vaultFunctions,
} from '../../lib/events/member-account-template';
import { METRIC_NAMESPACE, namedChecks } from '../../lib/health/alarms';
import { MEMBER, memberInputs, placedKitchenSink } from '../support/member-accounts';
import { type CloudFormationTemplate, packagedStage, readTemplate } from '../support/package';
import { cfnLint } from './cfn-lint';
import { type AwsPlace, TEST_PLACE, templateValues } from './cloudformation';
import {
  type AwsRequest,
  accountRoleRequests,
  type CallerFacts,
  callerWithoutStack,
  loadArnFormats,
  type PolicyDocument,
  requestsOf,
  snapshotSharedWith,
} from './iam-requests';
import { type Role, refusalOf } from './iam-simulation';
import { type StackRole, stackRoles } from './stack-roles';

type Json = Record<string, unknown>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

const ACCOUNTS = Object.keys(loadStageConfig('kitchen-sink').accounts);
const inputs = memberInputs;

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const denied = (why: string | undefined) => why !== undefined && /^(Implicitly|Explicitly)Denied/.test(why);

/**
 * A member template's value as CloudFormation resolves it, deployed in `place` (the member account and a region)
 * with the control plane in TEST_PLACE: the parameters, pseudo parameters, Ref and Fn::Sub it uses.
 */
function resolveMember(value: unknown, place: AwsPlace, externalId = 'the-external-id'): unknown {
  const names: Record<string, string> = {
    'AWS::Partition': place.partition,
    'AWS::AccountId': place.account,
    'AWS::Region': place.region,
    ControlPlaneAccountId: TEST_PLACE.account,
    ControlPlaneEventBusArn: `arn:aws:events:${TEST_PLACE.region}:${TEST_PLACE.account}:event-bus/default`,
    ExternalId: externalId,
  };
  const named = (name: string) => {
    const found = names[name];
    if (found === undefined) throw new Error(`no value for ${name}`);
    return found;
  };
  if (Array.isArray(value)) return value.map((item) => resolveMember(item, place, externalId));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]?.[0] === 'Ref') return named(entries[0][1] as string);
  if (entries.length === 1 && entries[0]?.[0] === 'Fn::Sub') {
    return (entries[0][1] as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => named(name));
  }
  return Object.fromEntries(entries.map(([key, inner]) => [key, resolveMember(inner, place, externalId)]));
}

const targetRole = (template: Json) =>
  (template.Resources as Record<string, { Properties: Json }>).TargetRole?.Properties as Json;

function memberRole(template: Json, roleArn: string, place: AwsPlace): Role {
  const policies = (resolveMember(targetRole(template).Policies ?? [], place) ?? []) as Array<{
    PolicyName: string;
    PolicyDocument: PolicyDocument;
  }>;
  return {
    arn: roleArn,
    policies: policies.map(({ PolicyName, PolicyDocument }) => ({ name: PolicyName, document: PolicyDocument })),
  };
}

const memberPlace = (account: string, region = TEST_PLACE.region): AwsPlace => ({ partition: 'aws', region, account });

let stack: StackRole[] = [];
let packaged: { dir: string; owned: boolean };
const scratch = mkdtempSync(join(tmpdir(), 'slipway-member-templates-'));

beforeAll(async () => {
  await loadArnFormats();
  packaged = await packagedStage('kitchen-sink');
  const template: CloudFormationTemplate = readTemplate(packaged.dir);
  stack = stackRoles(template, templateValues(template, TEST_PLACE, 'slipway-kitchen-sink'));
});

afterAll(() => {
  if (packaged?.owned) rmSync(packaged.dir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe('cfn-lint on the member-account templates', () => {
  const files = () => [
    ...ACCOUNTS.map((account) => join(MEMBER_TEMPLATE_DIR, `kitchen-sink-${account}.yml`)),
    ...ACCOUNTS.map((account) => {
      const path = join(scratch, `placed-${account}.yml`);
      writeFileSync(path, renderMemberAccountTemplate(inputs(account, placedKitchenSink())));
      return path;
    }),
  ];

  it('finds nothing in any of them, committed or with environments placed', async () => {
    const findings: string[] = [];
    for (const file of files()) {
      for (const finding of await cfnLint(file)) {
        findings.push(`${file}: ${finding.Rule.Id} ${finding.Location.Path.join('/')}: ${finding.Message}`);
      }
    }
    expect(findings).toEqual([]);
  });
});

describe.each(ACCOUNTS)('the trust policy of account %s’s role', (account) => {
  const config = () => loadStageConfig('kitchen-sink');
  const roleArn = () => config().accounts[account]?.roleArn as string;
  const trust = (externalId?: string) =>
    resolveMember(
      targetRole(memberAccountTemplate(inputs(account, config()))).AssumeRolePolicyDocument,
      memberPlace(MEMBER[account as keyof typeof MEMBER]),
      externalId,
    ) as PolicyDocument;
  /** The stack's roles whose own policies let them assume the account's role, as a trust of the whole account would. */
  const assumers = async () => {
    const found: StackRole[] = [];
    for (const candidate of stack) {
      const [assume] = accountRoleRequests(config(), TEST_PLACE).filter((request) => request.resource === roleArn());
      if (!(await refusalOf(assume as AwsRequest, candidate.role, TEST_PLACE))) found.push(candidate);
    }
    return found;
  };

  it('names exactly the stack’s roles that may call sts:AssumeRole on it', async () => {
    // Given the packaged control plane's roles whose policies let them assume the account's role
    // (the vault's: the functions reaching the vault alone, lib/wiring/vault.ts; any other: every assuming function)
    const callers = await assumers();
    const expected = account === config().backups.vaultAccount ? vaultFunctions() : assumingFunctions();
    expect(callers.flatMap(({ functions }) => functions).sort()).toEqual(
      expected.map((fn) => `${fn.charAt(0).toUpperCase()}${fn.slice(1)}LambdaFunction`).sort(),
    );

    // When the trust policy's principals are read
    const [assume] = trust().Statement as Statement[];
    const named = list(
      (assume?.Condition?.ArnEquals as Json | undefined)?.['aws:PrincipalArn'] as string[] | undefined,
    );

    // Then they are those roles, by ARN, and no other
    expect([...named].sort()).toEqual(callers.map(({ role }) => role.arn).sort());
  });

  it('lets those roles assume it with the external id, tag the session and set its source identity; no other role of the stack', async () => {
    // Given the trust policy, with the external id the control plane reads from its secret
    const resourcePolicy = trust('external-id');
    const callers = new Set((await assumers()).map(({ logicalId }) => logicalId));
    const requests = accountRoleRequests(config(), TEST_PLACE)
      .filter((request) => request.resource === roleArn())
      .map((request) => ({ ...request, resourcePolicy }));
    expect(requests.map(({ action }) => action)).toEqual(['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity']);
    const wrong: string[] = [];
    for (const { logicalId, role } of stack) {
      for (const request of requests) {
        // When each role of the stack asks as lib/aws/account-credentials.ts does
        const why = await refusalOf(request, role, TEST_PLACE);
        // Then IAM allows the deploying roles, and refuses every other
        if (callers.has(logicalId) ? why !== undefined : !denied(why)) {
          wrong.push(`${logicalId}: ${request.action}: ${why ?? 'Allowed'}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses the deploying roles without the external id, or with another', async () => {
    const [caller] = await assumers();
    const [assume] = accountRoleRequests(config(), TEST_PLACE).filter((request) => request.resource === roleArn());
    const { 'sts:ExternalId': _, ...withoutId } = (assume as AwsRequest).context;

    const missing = await refusalOf(
      { ...(assume as AwsRequest), context: withoutId, resourcePolicy: trust('external-id') },
      (caller as StackRole).role,
      TEST_PLACE,
    );
    const other = await refusalOf(
      { ...(assume as AwsRequest), resourcePolicy: trust('another-external-id') },
      (caller as StackRole).role,
      TEST_PLACE,
    );

    expect(missing).toMatch(/Denied/);
    expect(other).toMatch(/Denied/);
  });
});

describe('the trust policy of a role whose account names no external id', () => {
  it('lets the deploying roles assume it without one', async () => {
    // Given account staging with no externalIdSecret
    const config = loadStageConfig('kitchen-sink');
    delete (config.accounts.staging as { externalIdSecret?: string }).externalIdSecret;
    const trust = resolveMember(
      targetRole(memberAccountTemplate(inputs('staging', config))).AssumeRolePolicyDocument,
      memberPlace(MEMBER.staging),
    ) as PolicyDocument;
    const [assume] = accountRoleRequests(config, TEST_PLACE);
    const caller = stack.find((candidate) => candidate.functions.includes('CreateDeploymentLambdaFunction'));

    // When createDeployment's role asks without an external id
    const why = await refusalOf(
      { ...(assume as AwsRequest), resourcePolicy: trust },
      (caller as StackRole).role,
      TEST_PLACE,
    );

    // Then IAM allows it
    expect((assume as AwsRequest).context['sts:ExternalId']).toBeUndefined();
    expect(why).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// The role's permissions

/** The functions that assume account roles for the backup vault, not to deploy: the vault role's model is its own. */
const VAULT_FUNCTIONS = ['createRestore', 'reconcileBackups'];

/** ECS and ECR actions the control plane's deploying roles are granted: the model of the member role's. */
function deployActions(): string[] {
  const deploying = stack.filter((candidate) =>
    candidate.functions.some((fn) =>
      assumingFunctions()
        .filter((name) => !VAULT_FUNCTIONS.includes(name))
        .some((name) => fn === `${name.charAt(0).toUpperCase()}${name.slice(1)}LambdaFunction`),
    ),
  );
  const actions = deploying.flatMap(({ role }) =>
    role.policies.flatMap(({ document }) =>
      (document.Statement as Statement[]).flatMap((statement) => list(statement.Action)),
    ),
  );
  // TagResource is authorised as part of RegisterTaskDefinition, never called alone. Of ECR, a deployment reads its
  // tag through the member role (a release's reads are releaseActions()). The backup and restore functions that
  // assume the role for databases run and stop the worker task in the control plane's own account: no deploy call.
  const workerTask = new Set(['ecs:TagResource', 'ecs:RunTask', 'ecs:StopTask']);
  return [
    ...new Set(
      actions.filter((action) => (/^ecs:/.test(action) && !workerTask.has(action)) || action === 'ecr:DescribeImages'),
    ),
  ].sort();
}

/**
 * The ECR calls a release makes (lib/release/ecr-images.ts, and the registry webhook's tag lookup through
 * lib/deploy/ecs.ts's resolveImage), read from their code: a new call there is a new grant to check here.
 */
function releaseActions(): string[] {
  const calls = ['lib/release/ecr-images.ts', 'lib/deploy/ecs.ts'].flatMap((file) => {
    const imported = /import\s*\{([^}]*)\}\s*from '@aws-sdk\/client-ecr'/.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
    return [...imported.matchAll(/\b(?:(\w+)Command|paginate(\w+))\b/g)].map((match) => `ecr:${match[1] ?? match[2]}`);
  });
  return [...new Set(calls)].sort();
}

/** The environments placed in the member account, each region's alone: what the role acts on there. */
function regionalFacts(config: SlipwayConfig, account: string, region: string): CallerFacts {
  const apps = Object.fromEntries(
    Object.entries(config.apps).flatMap(([name, app]) => {
      const environments = Object.fromEntries(
        Object.entries(app.environments).filter(
          ([, env]) => env.account === account && (env.region ?? TEST_PLACE.region) === region,
        ),
      );
      return Object.keys(environments).length > 0 ? [[name, { ...app, environments }]] : [];
    }),
  );
  return callerWithoutStack({
    place: memberPlace(MEMBER[account as keyof typeof MEMBER], region),
    stage: 'kitchen-sink',
    service: 'slipway',
    config: { ...config, apps },
    env: {},
  });
}

/** Every request carries the region it is sent to (aws:RequestedRegion): an ARN's own, else the client's. */
const inRegion = (request: AwsRequest, region: string): AwsRequest => {
  const [, , , own] = request.resource.split(':');
  return { ...request, context: { ...request.context, 'aws:RequestedRegion': own || region } };
};

/**
 * The probes' PutMetricData in the member account's `region` (lib/health/probe-metrics.ts): in Slipway's namespace,
 * when an environment placed there has health checks (PutMetricData names no resource: Service Authorization
 * Reference, Amazon CloudWatch).
 */
function probeMetricRequests(config: SlipwayConfig, account: string, region: string): AwsRequest[] {
  const probed = Object.entries(config.apps).flatMap(([app, appConfig]) =>
    Object.entries(appConfig.environments)
      .filter(
        ([, env]) =>
          env.account === account && (env.region ?? TEST_PLACE.region) === region && namedChecks(env).length > 0,
      )
      .map(([environment]) => `${app}/${environment}`),
  );
  return probed.map((name) =>
    inRegion(
      {
        action: 'cloudwatch:PutMetricData',
        resource: '*',
        what: `${name}'s probe metrics`,
        context: { 'cloudwatch:namespace': METRIC_NAMESPACE },
      },
      region,
    ),
  );
}

/** Each account's role as generated: staging's with more of the kitchen sink placed in it, production's as committed. */
const MEMBER_ROLES: Array<[string, string, () => SlipwayConfig, string[]]> = [
  ['staging', 'shop and web placed in it besides api', placedKitchenSink, ['eu-west-1', 'us-east-1']],
  ['production', 'as config/kitchen-sink.yml places api', () => loadStageConfig('kitchen-sink'), ['us-east-1']],
];

/** Each account's region with a probed environment, and one without. */
const PROBES: Record<string, [string, string]> = {
  staging: ['eu-west-1', 'us-east-1'],
  production: ['us-east-1', 'eu-west-1'],
};
/** The health alarms of each account's probed environments. */
const ALARMS: Record<string, string[]> = {
  staging: ['api-staging', 'shop-staging'].flatMap((name) =>
    ['availability', 'latency'].map((kind) => `slipway-kitchen-sink-${name}-${kind}`),
  ),
  production: ['availability', 'latency'].map((kind) => `slipway-kitchen-sink-api-production-${kind}`),
};

describe.each(MEMBER_ROLES)('the permissions of account %s’s role (%s)', (account, _how, configOf, regions) => {
  const config = configOf();
  const template = memberAccountTemplate(inputs(account, config));
  const own = MEMBER[account as keyof typeof MEMBER];
  const other = account === 'staging' ? MEMBER.production : MEMBER.staging;
  const roleArn = config.accounts[account]?.roleArn as string;
  const role = () => memberRole(template, roleArn, memberPlace(own));
  /** The deploy calls' requests in the member account, each region's; another account's repository is not this role's to read. */
  const requests = () => [
    ...regions.flatMap((region) =>
      deployActions().flatMap((action) =>
        requestsOf(regionalFacts(config, account, region), {
          action,
          // A deployment describes the stopped tasks of a failed rollout to say why it failed.
          file: action === 'ecs:DescribeTasks' ? 'lib/deploy/diagnosis.ts' : 'lib/deploy/deployments.ts',
        })
          .filter(
            (request) =>
              !request.resource.startsWith('arn:') ||
              request.resource.split(':')[4] === own ||
              request.resource.split(':')[4] === '',
          )
          .map((request) => inRegion(request, region)),
      ),
    ),
    ...regions.flatMap((region) => probeMetricRequests(config, account, region)),
  ];

  /**
   * The release's ECR reads of the account's repositories, wherever its environments are: shop's, in account
   * staging's eu-west-1; account production holds none.
   */
  const releaseRequests = () =>
    releaseActions().flatMap((action) =>
      requestsOf(
        callerWithoutStack({
          place: memberPlace(own, 'eu-west-1'),
          stage: 'kitchen-sink',
          service: 'slipway',
          config,
          env: {},
        }),
        { action, file: 'lib/release/ecr-images.ts' },
      )
        .filter((request) => request.resource === '*' || request.resource.split(':')[4] === own)
        .filter((request) => request.resource !== '*' || account === 'staging')
        .map((request) => inRegion(request, 'eu-west-1')),
    );

  it('is modelled on the control plane’s deploying roles', () => {
    expect(deployActions()).toEqual([
      'ecr:DescribeImages',
      'ecs:DeregisterTaskDefinition',
      'ecs:DescribeServiceDeployments',
      'ecs:DescribeServices',
      'ecs:DescribeTaskDefinition',
      'ecs:DescribeTasks',
      'ecs:ListTasks',
      'ecs:RegisterTaskDefinition',
      'ecs:UpdateService',
    ]);
  });

  it('lets every request of the deploy calls through, in each region of the account’s environments', async () => {
    const all = requests();
    // A tag is read through the role only from a repository of the account (lib/deploy/placement.ts).
    const ownRepository = Object.values(config.apps).some(
      (app) =>
        app.repository.startsWith(`${own}.`) && Object.values(app.environments).some((env) => env.account === account),
    );
    expect(new Set(all.map(({ action }) => action))).toEqual(
      new Set(
        [...deployActions(), 'ecs:TagResource', 'iam:PassRole', 'cloudwatch:PutMetricData'].filter(
          (action) => ownRepository || action !== 'ecr:DescribeImages',
        ),
      ),
    );
    const refused: string[] = [];
    for (const request of all) {
      const why = await refusalOf(request, role(), memberPlace(own));
      if (why) refused.push(`${request.action} on ${request.resource} (${request.what}): ${why}`);
    }
    expect(refused).toEqual([]);
  });

  it('lets every ECR read of a release through on the account’s repositories', async () => {
    const all = releaseRequests();
    expect([...new Set(all.map(({ action }) => action))].sort()).toEqual(
      account === 'staging'
        ? ['ecr:BatchGetImage', 'ecr:DescribeImageScanFindings', 'ecr:DescribeImages', 'inspector2:ListFindings']
        : [],
    );
    const refused: string[] = [];
    for (const request of all) {
      const why = await refusalOf(request, role(), memberPlace(own));
      if (why) refused.push(`${request.action} on ${request.resource} (${request.what}): ${why}`);
    }
    expect(refused).toEqual([]);
  });

  it('grants no action those requests do not need', () => {
    // The RDS and KMS grants of the account's databases are test/unit/events/member-account-databases.test.ts's.
    const granted = role()
      .policies.flatMap(({ document }) =>
        (document.Statement as Statement[]).flatMap((statement) => list(statement.Action)),
      )
      .filter((action) => !/^(rds|kms):/.test(action));
    expect(new Set(granted)).toEqual(new Set([...requests(), ...releaseRequests()].map(({ action }) => action)));
  });

  it('refuses the same requests on another account’s resources, on what config does not name, and in another region', async () => {
    /** The request with `from` replaced in its resource, and in its condition keys' values too when `everywhere`. */
    const swap = (request: AwsRequest, from: RegExp, to: string, everywhere = true): AwsRequest => ({
      ...request,
      resource: request.resource.replace(from, to),
      context: everywhere
        ? JSON.parse(JSON.stringify(request.context).replace(new RegExp(from.source, 'g'), to))
        : request.context,
    });
    const variants = (request: AwsRequest): Array<[string, AwsRequest]> => [
      // IAM is global: a role passed is held to its account and name, and the ECS call passing it to the region.
      ...(request.action === 'iam:PassRole'
        ? []
        : ([['another region', swap(request, /\b(eu-west-1|us-east-1)\b/, 'ap-south-1')]] as Array<
            [string, AwsRequest]
          >)),
      ...(request.resource === '*'
        ? []
        : ([
            ['another member account', swap(request, new RegExp(own), other)],
            ["the control plane's account", swap(request, new RegExp(own), TEST_PLACE.account)],
          ] as Array<[string, AwsRequest]>)),
      ...(/:(service|repository)\//.test(request.resource)
        ? ([['a service or repository config does not name', swap(request, /\/[^/]+$/, '/other', false)]] as Array<
            [string, AwsRequest]
          >)
        : []),
      ...(request.action === 'iam:PassRole'
        ? ([['a role config does not name', swap(request, /role\/.+$/, 'role/admin', false)]] as Array<
            [string, AwsRequest]
          >)
        : []),
    ];
    const allowed: string[] = [];
    for (const request of [...requests(), ...releaseRequests()]) {
      for (const [what, variant] of variants(request)) {
        const why = await refusalOf(variant, role(), memberPlace(own));
        if (!denied(why)) allowed.push(`${request.action} on ${variant.resource} (${what}): ${why ?? 'Allowed'}`);
      }
    }
    expect(allowed).toEqual([]);
  });

  it('refuses ECS, ECR and IAM actions no deploy call makes', async () => {
    const [region] = regions as [string];
    const others = [
      ['ecs:DeleteService', `arn:aws:ecs:${region}:${own}:service/api-staging/api`],
      ['ecs:RunTask', `arn:aws:ecs:${region}:${own}:task-definition/api:42`],
      ['ecr:PutImage', `arn:aws:ecr:${region}:${own}:repository/shop-backend`],
      ['ecr:BatchDeleteImage', `arn:aws:ecr:${region}:${own}:repository/shop-backend`],
      ['iam:CreateRole', `arn:aws:iam::${own}:role/anything`],
    ];
    const allowed: string[] = [];
    for (const [action, resource] of others as Array<[string, string]>) {
      const why = await refusalOf(
        { action, resource, what: resource, context: { 'aws:RequestedRegion': region } },
        role(),
        memberPlace(own),
      );
      if (!denied(why)) allowed.push(`${action}: ${why ?? 'Allowed'}`);
    }
    expect(allowed).toEqual([]);
  });

  it('lets the probes put metrics in Slipway’s namespace where a probed environment is, and in no other namespace or region', async () => {
    // Given the probes' PutMetricData as lib/health/probe-metrics.ts sends it, in the account's first region
    const [region, unprobed] = PROBES[account] as [string, string];
    const [put] = probeMetricRequests(config, account, region);
    expect(put).toBeDefined();
    const place = memberPlace(own);
    const inNamespace = (namespace: string, region: string) =>
      inRegion({ ...(put as AwsRequest), context: { 'cloudwatch:namespace': namespace } }, region);

    // Then IAM allows it there, and refuses another namespace, and a region with no probed environment
    expect(await refusalOf(inNamespace('Slipway', region), role(), place)).toBeUndefined();
    expect(denied(await refusalOf(inNamespace('AWS/ECS', region), role(), place))).toBe(true);
    expect(denied(await refusalOf(inNamespace('Slipway-other', region), role(), place))).toBe(true);
    expect(denied(await refusalOf(inNamespace('Slipway', unprobed), role(), place))).toBe(true);
    // And a request naming no namespace at all
    expect(denied(await refusalOf(inRegion({ ...(put as AwsRequest), context: {} }, region), role(), place))).toBe(
      true,
    );
  });

  it('holds the health alarms of its probed environments under the names the deployments hand to ECS', () => {
    const alarms = Object.values(template.Resources as Record<string, Json>)
      .filter((resource) => (resource as { Type: string }).Type === 'AWS::CloudWatch::Alarm')
      .map((resource) => (resource as { Properties: Json }).Properties.AlarmName);

    expect(alarms.sort()).toEqual(ALARMS[account]);
  });
});

describe('an account where config places no environment', () => {
  const config = loadStageConfig('kitchen-sink');

  it('grants nothing in an account where config places no environment, but the restore of the vault’s copies', () => {
    // Given the config without app api, whose production is the only environment placed in account production
    const { api: _, ...apps } = config.apps;

    const policies = targetRole(memberAccountTemplate(inputs('production', { ...config, apps }))).Policies;
    expect((policies as Array<{ PolicyName: string }>).map(({ PolicyName }) => PolicyName)).toEqual([
      'SlipwayVaultRestores',
    ]);
    // And nothing at all without a vault
    const withoutVault = { ...config, apps, backups: { ...config.backups, vaultAccount: undefined } };
    expect(targetRole(memberAccountTemplate(inputs('production', withoutVault))).Policies).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// The backup vault's role (backups.vaultAccount), and that no role of the control plane reaches the vault's copies

const vaultRoleArnOf = (config: SlipwayConfig) => config.accounts[config.backups.vaultAccount ?? '']?.roleArn ?? '';

describe('the permissions of the vault account’s role', () => {
  const config = loadStageConfig('kitchen-sink');
  const VAULT = vaultRoleArnOf(config).split(':')[4] as string;
  const vaultRoleArn = vaultRoleArnOf(config);
  const vaultKeys = vaultKeyList(config.backups.vaultKmsKey);
  const vaultKey = vaultKeyIn(vaultKeys, TEST_PLACE.region) as string;
  const sourceKey = config.databases['shop-db']?.kmsKeyArn as string;
  const place = memberPlace(VAULT);
  const role = () => memberRole(memberAccountTemplate(inputs('vault', config)), vaultRoleArn, place);
  const region = { 'aws:RequestedRegion': TEST_PLACE.region };
  const rds = (account: string, resource: string) => `arn:aws:rds:${TEST_PLACE.region}:${account}:${resource}`;
  const copyTags = {
    'aws:RequestTag/slipway:vault-copy': 'true',
    'aws:TagKeys': ['slipway:database', 'slipway:created-by', 'slipway:vault-copy', 'slipway:source-account'],
  };
  const tagged = { 'aws:ResourceTag/slipway:vault-copy': 'true' };
  const viaRds = { 'kms:ViaService': `rds.${TEST_PLACE.region}.amazonaws.com` };
  const keyPolicy = (key: string, principal: string): PolicyDocument => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 'kms:*', Resource: key }],
  });
  const ask = (
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
    resourcePolicy?: PolicyDocument,
  ): AwsRequest => ({
    action,
    resource,
    what: resource,
    context: { ...region, ...context },
    ...(resourcePolicy ? { resourcePolicy } : {}),
  });
  const refusals = async (requests: AwsRequest[], roleOf = role) => {
    const out: string[] = [];
    for (const request of requests) {
      const why = await refusalOf(request, roleOf(), place);
      out.push(`${request.action} on ${request.resource}: ${why ?? 'Allowed'}`);
    }
    return out;
  };

  it('lets through what copying into the vault, its retention and a restore from it ask', async () => {
    const requests = [
      // The copy names the shared source snapshot by ARN, in the control plane's account, whose share with the vault
      // (ModifyDBSnapshotAttribute restore) is read here as a resource policy; and the copy in the vault.
      ask('rds:CopyDBSnapshot', rds(TEST_PLACE.account, 'snapshot:slipway-shop-db-202611220300'), copyTags, {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${VAULT}:root` }, Action: 'rds:*', Resource: '*' },
        ],
      }),
      ask('rds:CopyDBSnapshot', rds(VAULT, 'snapshot:slipway-shop-db-202611220300'), copyTags),
      ask('rds:CopyDBClusterSnapshot', rds(VAULT, 'cluster-snapshot:slipway-reports-db-202611220300'), copyTags),
      ask('rds:AddTagsToResource', rds(VAULT, 'snapshot:slipway-shop-db-202611220300'), copyTags),
      ask('rds:DescribeDBSnapshots', '*'),
      ask('rds:DescribeDBClusterSnapshots', '*'),
      ask('rds:DescribeDBInstances', '*'),
      ask('rds:DeleteDBSnapshot', rds(VAULT, 'snapshot:slipway-shop-db-202611220300'), tagged),
      ask('rds:DeleteDBClusterSnapshot', rds(VAULT, 'cluster-snapshot:slipway-reports-db-202611220300'), tagged),
      ask('rds:RestoreDBInstanceFromDBSnapshot', rds(VAULT, 'snapshot:slipway-shop-db-202611220300')),
      ask('rds:RestoreDBInstanceFromDBSnapshot', rds(VAULT, 'db:shop-prod-db-restore-from-vault')),
      ask('rds:RestoreDBInstanceFromDBSnapshot', rds(VAULT, 'subgrp:default')),
      ask('kms:CreateGrant', vaultKey, viaRds, keyPolicy(vaultKey, `arn:aws:iam::${VAULT}:root`)),
      ask('kms:DescribeKey', vaultKey, viaRds, keyPolicy(vaultKey, `arn:aws:iam::${VAULT}:root`)),
      // The source key is the control plane's: the vault's role uses it by the grant Slipway creates, read here as a key policy.
      ask('kms:Decrypt', sourceKey, viaRds, keyPolicy(sourceKey, vaultRoleArn)),
      ask('kms:CreateGrant', sourceKey, viaRds, keyPolicy(sourceKey, vaultRoleArn)),
    ];
    expect((await refusals(requests)).filter((line) => !line.endsWith('Allowed'))).toEqual([]);
  });

  it('copies what a member account holding a database shares, in that database’s region, and keeps the copies there', async () => {
    // Given orders-db in account staging's eu-west-1 (config/kitchen-sink.yml): its snapshot shared with the vault
    const EU = 'eu-west-1';
    const inEu = (request: AwsRequest): AwsRequest => ({
      ...request,
      resource: request.resource.replace(`:${TEST_PLACE.region}:`, `:${EU}:`),
      what: request.resource.replace(`:${TEST_PLACE.region}:`, `:${EU}:`),
      context: { ...request.context, 'aws:RequestedRegion': EU },
    });
    const sharedWithTheVault: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${VAULT}:root` }, Action: 'rds:*', Resource: '*' },
      ],
    };
    const snapshot = 'snapshot:slipway-orders-db-202611220330';
    const allowed = [
      ask('rds:CopyDBSnapshot', rds(MEMBER.staging, snapshot), copyTags, sharedWithTheVault),
      ask('rds:CopyDBSnapshot', rds(VAULT, snapshot), copyTags),
      ask('rds:AddTagsToResource', rds(VAULT, snapshot), copyTags),
      ask('rds:DescribeDBSnapshots', '*'),
      ask('rds:DeleteDBSnapshot', rds(VAULT, snapshot), tagged),
    ].map(inEu);
    // And the same share from an account holding no database (production), and from staging in a region it has none in
    const refused = [
      inEu(ask('rds:CopyDBSnapshot', rds(MEMBER.production, snapshot), copyTags, sharedWithTheVault)),
      ask('rds:CopyDBSnapshot', rds(MEMBER.staging, snapshot), copyTags, sharedWithTheVault),
    ];

    // Then the first are allowed, the others refused
    expect((await refusals(allowed)).filter((line) => !line.endsWith('Allowed'))).toEqual([]);
    expect((await refusals(refused)).filter((line) => !denied(line.split(': ').at(-1)))).toEqual([]);
  });

  it('encrypts the copies made in eu-west-1 with the vault’s eu-west-1 key, through RDS there, and with no other key', async () => {
    // Given the vault's key of eu-west-1 (config/kitchen-sink.yml), where orders-db's encrypted snapshots are copied
    const EU = 'eu-west-1';
    const euKey = vaultKeyIn(vaultKeys, EU) as string;
    const viaRdsIn = (region: string) => ({
      'aws:RequestedRegion': region,
      'kms:ViaService': `rds.${region}.amazonaws.com`,
    });
    const vaultOwns = (key: string) => keyPolicy(key, `arn:aws:iam::${VAULT}:root`);
    const allowed = [
      ask('kms:CreateGrant', euKey, viaRdsIn(EU), vaultOwns(euKey)),
      ask('kms:DescribeKey', euKey, viaRdsIn(EU), vaultOwns(euKey)),
    ];
    // And the us-east-1 key asked for by RDS in eu-west-1, the eu-west-1 key outside RDS, and another key of the vault there
    const otherKey = euKey.replace(/key\/.*/, 'key/0f1e2d3c-4b5a-4697-8877-665544332211');
    const refused = [
      ask('kms:CreateGrant', vaultKey, viaRdsIn(EU), vaultOwns(vaultKey)),
      ask('kms:CreateGrant', euKey, { 'aws:RequestedRegion': EU }, vaultOwns(euKey)),
      ask('kms:CreateGrant', euKey, viaRdsIn(TEST_PLACE.region), vaultOwns(euKey)),
      ask('kms:CreateGrant', otherKey, viaRdsIn(EU), vaultOwns(otherKey)),
    ];

    // Then the first are allowed, the others refused
    expect(euKey).toMatch(/^arn:aws:kms:eu-west-1:555555555555:key\//);
    expect((await refusals(allowed)).filter((line) => !line.endsWith('Allowed'))).toEqual([]);
    expect((await refusals(refused)).filter((line) => !denied(line.split(': ').at(-1)))).toEqual([]);
  });

  it('deletes only Slipway’s tagged vault copies, and changes nothing else', async () => {
    const requests = [
      ask('rds:DeleteDBSnapshot', rds(VAULT, 'snapshot:slipway-shop-db-202611220300')),
      ask('rds:DeleteDBSnapshot', rds(VAULT, 'snapshot:by-hand'), tagged),
      ask('rds:DeleteDBSnapshot', rds(TEST_PLACE.account, 'snapshot:slipway-shop-db-202611220300'), tagged),
      ask('rds:DeleteDBClusterSnapshot', rds(VAULT, 'cluster-snapshot:slipway-reports-db-202611220300')),
      ask('rds:DeleteDBInstance', rds(VAULT, 'db:shop-prod-db-restore-from-vault')),
      ask('rds:ModifyDBSnapshotAttribute', rds(VAULT, 'snapshot:slipway-shop-db-202611220300')),
      ask('rds:CopyDBSnapshot', rds(VAULT, 'snapshot:slipway-shop-db-202611220300'), {
        'aws:TagKeys': ['slipway:database'],
      }),
      ask('rds:RestoreDBInstanceFromDBSnapshot', rds(VAULT, 'db:production-db')),
      ask('kms:ScheduleKeyDeletion', vaultKey, {}, keyPolicy(vaultKey, `arn:aws:iam::${VAULT}:root`)),
      ask('kms:Decrypt', vaultKey, {}, keyPolicy(vaultKey, `arn:aws:iam::${VAULT}:root`)),
    ];
    expect((await refusals(requests)).filter((line) => !denied(line.split(': ').at(-1)))).toEqual([]);
  });

  it('is held by no role of the control plane’s stack: none may delete a snapshot in the vault account', async () => {
    // RDS snapshots take no resource policy, so no other account's role can be let in; the policy below stands for one
    // that trusted the control plane's account, so that each role's own policy alone decides, and a grant reaching the
    // vault's snapshots would show.
    const trusting = snapshotSharedWith(TEST_PLACE.account);
    const deletions = [
      ask('rds:DeleteDBSnapshot', rds(VAULT, 'snapshot:slipway-shop-db-202611220300'), tagged, trusting),
      ask(
        'rds:DeleteDBClusterSnapshot',
        rds(VAULT, 'cluster-snapshot:slipway-reports-db-202611220300'),
        tagged,
        trusting,
      ),
    ];
    const allowed: string[] = [];
    for (const { role: stackRole, functions } of stack) {
      for (const request of deletions) {
        const why = await refusalOf(request, stackRole, TEST_PLACE);
        if (!denied(why))
          allowed.push(`${functions.join(', ') || stackRole.arn}: ${request.action}: ${why ?? 'Allowed'}`);
      }
    }
    expect(stack.length).toBeGreaterThan(0);
    expect(allowed).toEqual([]);
  });
});
