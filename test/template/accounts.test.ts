/**
 * Acting in other accounts, as IAM evaluates it against the packaged templates (config/kitchen-sink.yml
 * names three accounts, config/prod.yml none): the roles of the functions whose deployments, events,
 * reconciler, releases, reads, probes, backups and restores act in an environment's or a database's account
 * (lib/wiring/accounts.ts, lib/wiring/rds.ts) may assume each configured role but the backup vault's, with the
 * session tags, source identity and external id lib/aws/account-credentials.ts sends, and read each one's external
 * id; the vault's role (kitchen-sink's vault, in which config places nothing else), which deletes the vault's
 * copies, only the roles of the functions reaching the vault (lib/wiring/vault.ts); no role of the stack may assume
 * any other role, nor tag a session otherwise; with no account configured, nothing is granted.
 */
import { rmSync } from 'node:fs';
import { loadStageConfig } from '../../lib/config/load';
import type { SlipwayConfig } from '../../lib/config/schema';
import { vaultIsMemberAccount } from '../../lib/config/vault-role';
import { PACKAGED_STAGES, packagedStage, readTemplate } from '../support/package';
import { TEST_PLACE, templateValues } from './cloudformation';
import {
  type AwsRequest,
  accountRoleRequests,
  assumedAccounts,
  delegatingTrustPolicy,
  loadArnFormats,
  secretArn,
} from './iam-requests';
import { refusalOf } from './iam-simulation';
import { type StackRole, stackRoles } from './stack-roles';

interface Stage {
  dir: string;
  owned: boolean;
  config: SlipwayConfig;
  roles: StackRole[];
}

const STS_ACTIONS = ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'];
const stages = new Map<string, Stage>();

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const denied = (why: string | undefined) => why !== undefined && /^(Implicitly|Explicitly)Denied/.test(why);

/**
 * The handlers whose code assumes an account's role (through lib/wiring/accounts.ts): the IAM proof
 * (iam-actions.test.ts) fails should one of them no longer call sts:AssumeRole, or another start to.
 */
const ASSUMING_HANDLERS = [
  'functions/http/create-deployment.ts',
  'functions/http/approve-deployment.ts',
  'functions/http/slack-interactions.ts',
  'functions/http/rollback-environment.ts',
  'functions/http/promote-environment.ts',
  'functions/http/restart-environment.ts',
  'functions/http/scale-environment.ts',
  'functions/http/get-environment.ts',
  'functions/http/registry-webhook.ts',
  'functions/events/ecs-deployment-state.ts',
  'functions/events/ecr-image-action.ts',
  'functions/events/ecr-image-scan.ts',
  'functions/events/alarm-state.ts',
  'functions/schedules/reconcile-deployments.ts',
  'functions/schedules/release-due.ts',
  'functions/schedules/run-probes.ts',
  // Databases in other accounts (their snapshots, retention, restores, drills and RDS events: lib/wiring/rds.ts),
  // and the backup vault's copies, retention and restores (lib/wiring/vault.ts).
  'functions/http/take-backup.ts',
  'functions/http/list-backups.ts',
  'functions/http/create-restore.ts',
  'functions/events/rds-event.ts',
  'functions/schedules/backup-database.ts',
  'functions/schedules/restore-drill.ts',
  'functions/schedules/reconcile-backups.ts',
];

/**
 * The handlers whose code reaches the backup vault (lib/wiring/vault.ts: its copies, their retention, restores of
 * them), which alone may assume its role: the IAM proof fails should another start to, or one of them stop.
 */
const VAULT_HANDLERS = ['functions/http/create-restore.ts', 'functions/schedules/reconcile-backups.ts'];

beforeAll(async () => {
  await loadArnFormats();
  for (const stage of PACKAGED_STAGES) {
    const { dir, owned } = await packagedStage(stage);
    const template = readTemplate(dir);
    stages.set(stage, {
      dir,
      owned,
      config: loadStageConfig(stage),
      roles: stackRoles(template, templateValues(template, TEST_PLACE, `slipway-${stage}`)),
    });
  }
});

afterAll(() => {
  for (const { dir, owned } of stages.values()) if (owned) rmSync(dir, { recursive: true, force: true });
});

/** Roles no stage configures: another role of a configured account, a configured name on another path or account, the stack's own. */
function otherRoleArns(s: Stage): string[] {
  const configured = new Set(Object.values(s.config.accounts).map((account) => account.roleArn));
  return [
    'arn:aws:iam::222222222222:role/admin',
    'arn:aws:iam::333333333333:role/slipway-member',
    'arn:aws:iam::333333333333:role/other/slipway-member',
    'arn:aws:iam::444444444444:role/slipway-member',
    `arn:aws:iam::${TEST_PLACE.account}:role/slipway-member`,
    ...s.roles.map(({ role }) => role.arn),
  ].filter((arn) => !configured.has(arn));
}

/** The same requests as the configured roles', against another role. */
const againstRole = (requests: AwsRequest[], arn: string) =>
  requests
    .filter((request, index, all) => all.findIndex((other) => other.action === request.action) === index)
    .map((request) => ({ ...request, resource: arn, what: `the role ${arn}` }));

describe('acting in other accounts, in the packaged kitchen-sink template (three accounts)', () => {
  const s = () => stages.get('kitchen-sink') as Stage;

  it('lets the deploying roles assume each configured role, as the credentials module asks, and read its external id', async () => {
    // Given the accounts config names, and the roles of the functions that will deploy to them
    const { config, roles } = s();
    const assumers = roles.filter((role) => role.handlers.some((handler) => ASSUMING_HANDLERS.includes(handler)));
    expect(assumers.length).toBeGreaterThan(0);
    expect(Object.keys(config.accounts).length).toBe(3);
    const refused: string[] = [];
    for (const { logicalId, role, handlers } of assumers) {
      // When each asks for every configured role its code assumes (the vault's only where it reaches the vault),
      // with tags, source identity and external id, and for each one's external id
      const accounts = assumedAccounts(
        config,
        handlers.some((handler) => VAULT_HANDLERS.includes(handler)),
      );
      const requests = accountRoleRequests(config, TEST_PLACE, 'sts:AssumeRole', accounts);
      const secrets = accounts.flatMap((name) => list(config.accounts[name]?.externalIdSecret));
      expect(secrets.length).toBe(accounts.length);
      for (const request of requests) {
        const why = await refusalOf(request, role, TEST_PLACE);
        if (why) refused.push(`${logicalId}: ${request.action} on ${request.resource}: ${why}`);
      }
      for (const secret of secrets) {
        const read = {
          action: 'secretsmanager:GetSecretValue',
          resource: secretArn(TEST_PLACE, secret),
          what: secret,
          context: {},
        };
        const why = await refusalOf(read, role, TEST_PLACE);
        if (why) refused.push(`${logicalId}: GetSecretValue on ${secret}: ${why}`);
      }
    }
    // Then IAM allows every one
    expect(refused).toEqual([]);
  });

  it('lets only the roles of the functions reaching the vault assume its role or read its external id', async () => {
    // Given the vault account, in which config places nothing else, and every role of the stack
    const { config, roles } = s();
    const vault = config.backups.vaultAccount as string;
    expect(vaultIsMemberAccount(config)).toBe(false);
    const vaultRoles = roles.filter((role) => role.handlers.some((handler) => VAULT_HANDLERS.includes(handler)));
    expect(vaultRoles.map(({ handlers }) => handlers).sort()).toEqual(VAULT_HANDLERS.map((handler) => [handler]));
    const others = roles.filter((role) => !vaultRoles.includes(role));
    // (the deploying roles among them)
    expect(others.filter((role) => role.handlers.includes('functions/http/create-deployment.ts')).length).toBe(1);
    const requests = [
      ...accountRoleRequests(config, TEST_PLACE, 'sts:AssumeRole', [vault]),
      {
        action: 'secretsmanager:GetSecretValue',
        resource: secretArn(TEST_PLACE, config.accounts[vault]?.externalIdSecret as string),
        what: "the vault's external id",
        context: {},
      },
    ];
    const refused: string[] = [];
    const allowed: string[] = [];
    for (const { logicalId, role } of vaultRoles) {
      for (const request of requests) {
        // When a role of a function reaching the vault asks for its role, as the credentials module does
        const why = await refusalOf(request, role, TEST_PLACE);
        // Then IAM allows it
        if (why) refused.push(`${logicalId}: ${request.action} on ${request.resource}: ${why}`);
      }
    }
    for (const { logicalId, role } of others) {
      for (const request of requests) {
        // When any other role asks for it (a deployment's, a release's, a drill's, the worker's)
        const why = await refusalOf(request, role, TEST_PLACE);
        // Then IAM refuses
        if (!denied(why)) allowed.push(`${logicalId}: ${request.action} on ${request.resource}: ${why ?? 'Allowed'}`);
      }
    }
    expect(refused).toEqual([]);
    expect(allowed).toEqual([]);
  });

  it('lets no other role of the stack assume a configured role', async () => {
    // Given every role but the deploying ones: other functions', the worker task's and its execution role
    const { config, roles } = s();
    const others = roles.filter((role) => !role.handlers.some((handler) => ASSUMING_HANDLERS.includes(handler)));
    expect(others.length).toBeGreaterThan(10);
    const allowed: string[] = [];
    for (const { logicalId, role } of others) {
      for (const request of accountRoleRequests(config, TEST_PLACE)) {
        // When it asks for a configured role
        const why = await refusalOf(request, role, TEST_PLACE);
        // Then IAM refuses
        if (!denied(why)) allowed.push(`${logicalId}: ${request.action} on ${request.resource}: ${why ?? 'Allowed'}`);
      }
    }
    expect(allowed).toEqual([]);
  });

  it('tags sessions with Slipway’s keys only, none transitive, and reads no other external id', async () => {
    const { config, roles } = s();
    const assumers = roles.filter((role) => role.handlers.some((handler) => ASSUMING_HANDLERS.includes(handler)));
    const allowed: string[] = [];
    for (const arn of Object.values(config.accounts).map((account) => account.roleArn)) {
      for (const { logicalId, role } of assumers) {
        const attempts: AwsRequest[] = [
          {
            action: 'sts:TagSession',
            resource: arn,
            what: 'a tag key of its own',
            resourcePolicy: delegatingTrustPolicy(TEST_PLACE),
            context: { 'aws:TagKeys': ['slipway:app', 'owner'], 'aws:RequestTag/owner': 'someone' },
          },
          {
            action: 'sts:AssumeRole',
            resource: arn,
            what: 'a transitive tag',
            resourcePolicy: delegatingTrustPolicy(TEST_PLACE),
            context: { 'aws:TagKeys': ['slipway:app'], 'sts:TransitiveTagKeys': ['slipway:app'] },
          },
          {
            action: 'sts:TagSession',
            resource: arn,
            what: 'a transitive tag',
            resourcePolicy: delegatingTrustPolicy(TEST_PLACE),
            context: { 'aws:TagKeys': ['slipway:app'], 'sts:TransitiveTagKeys': ['slipway:app'] },
          },
          {
            action: 'secretsmanager:GetSecretValue',
            resource: secretArn(TEST_PLACE, 'slipway/other-external-id'),
            what: 'an external id config does not name',
            context: {},
          },
        ];
        for (const request of attempts) {
          // When the role asks for it
          const why = await refusalOf(request, role, TEST_PLACE);
          // Then IAM refuses
          if (!denied(why)) allowed.push(`${logicalId}: ${request.action} (${request.what}): ${why ?? 'Allowed'}`);
        }
      }
    }
    expect(allowed).toEqual([]);
  });
});

describe.each(PACKAGED_STAGES)('acting in other accounts, in the packaged %s template', (stage) => {
  const s = () => stages.get(stage) as Stage;

  it('lets no role of the stack assume any role ARN config does not name', async () => {
    // Given every role of the stack, and roles no account of the config names (the kitchen sink's accounts' too, for prod)
    const { roles } = s();
    const configuredSomewhere = accountRoleRequests(loadStageConfig('kitchen-sink'), TEST_PLACE);
    const targets = [
      ...otherRoleArns(s()),
      ...(stage === 'prod' ? [...new Set(configuredSomewhere.map((request) => request.resource))] : []),
    ];
    const allowed: string[] = [];
    for (const { logicalId, role } of roles) {
      for (const arn of targets) {
        for (const request of againstRole(configuredSomewhere, arn)) {
          // When it asks for that role
          const why = await refusalOf(request, role, TEST_PLACE);
          // Then IAM refuses
          if (!denied(why)) allowed.push(`${logicalId}: ${request.action} on ${arn}: ${why ?? 'Allowed'}`);
        }
      }
    }
    expect(allowed).toEqual([]);
  });
});

describe('acting in other accounts, in the packaged prod template (no account)', () => {
  const s = () => stages.get('prod') as Stage;

  it('grants no STS action nor any external id where config names no account', () => {
    // Given config/prod.yml, which names no account
    const { config, roles } = s();
    expect(config.accounts).toEqual({});
    // Then no statement of any role names an STS action or reads an external id
    const granting = roles.flatMap(({ logicalId, role }) =>
      role.policies.flatMap(({ document }) =>
        (document.Statement as Array<{ Action?: string | string[] }>)
          .filter(
            (statement) =>
              list(statement.Action).some((action) => STS_ACTIONS.includes(action)) ||
              JSON.stringify(statement).includes('external-id'),
          )
          .map(() => logicalId),
      ),
    );
    expect(granting).toEqual([]);
  });
});
