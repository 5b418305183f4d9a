import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../lib/worker/cli';
import { parseRetention } from '../../lib/worker/prune';
import { examplesWithConfig, packageExample } from '../support/examples';
import { freePort } from '../support/processes';
import {
  exampleEnvironment,
  examplesWithWorkerUnits,
  exampleUnits,
  execStarts,
  variablesOf,
  workerArguments,
} from '../support/systemd';
import { cfnLint, describeFinding, explained } from './cfn-lint';
import { type ExampleTemplate, exampleTemplate } from './example-templates';

/**
 * Each worked example under examples/ packaged as a team packages it (its slipway.yml copied to
 * config/example-<name>.yml, `sls package --stage example-<name>`): the template holds what the example's
 * runbook relies on (the nightly schedules, the grants on its own services, databases and roles, the alarms
 * of its health checks), and cfn-lint finds no error nor any warning its allowlist does not explain.
 * An example folder with a slipway.yml and no entry in EXAMPLE_CHECKS fails: each says what it relies on.
 * An example with no control plane (systemd units running slipway-worker alone) has no template: its worker
 * commands are checked instead, each unit's own command lines through the worker's own argument parser.
 */

const ARN = { account: '123456789012', region: 'us-east-1' };
const serviceArn = (clusterAndService: string) =>
  `arn:aws:ecs:${ARN.region}:${ARN.account}:service/${clusterAndService}`;
const roleArn = (name: string) => `arn:aws:iam::${ARN.account}:role/${name}`;
const TO_ECS_TASKS = { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' };

type Check = (packaged: ExampleTemplate) => void | Promise<void>;

const EXAMPLE_CHECKS: Record<string, Array<{ says: string; check: Check }>> = {
  'total-recall': [
    {
      says: 'snapshots the database nightly at 02:00, dumps it at 02:30, archives the uploads at 03:00, drills each weekly',
      check: (packaged) => {
        expect(packaged.schedules('BackupDatabase')).toEqual([['cron(0 2 * * ? *)', { database: 'total-recall-db' }]]);
        expect(packaged.schedules('TakeArchive')).toEqual([
          ['cron(0 3 * * ? *)', { volume: 'total-recall-uploads' }],
          ['cron(30 2 * * ? *)', { database: 'total-recall-db' }],
        ]);
        expect(packaged.schedules('RestoreDrill')).toEqual([
          ['cron(0 5 ? * SUN *)', { database: 'total-recall-db' }],
          ['cron(0 6 ? * SUN *)', { database: 'total-recall-db', dump: true }],
          ['cron(30 6 ? * SUN *)', { volume: 'total-recall-uploads' }],
        ]);
      },
    },
    {
      says: 'snapshots the RDS instance it names and no other, and mounts the uploads in the volume function',
      check: async (packaged) => {
        const snapshot = (db: string) =>
          packaged.refusal('functions/schedules/backup-database.ts', {
            action: 'rds:CreateDBSnapshot',
            resource: `arn:aws:rds:${ARN.region}:${ARN.account}:db:${db}`,
          });
        expect(await snapshot('total-recall-production')).toBeUndefined();
        expect(await snapshot('someone-elses-db')).toBeDefined();
        const mounting = Object.values(packaged.template.Resources).filter(
          (resource) =>
            resource.Type === 'AWS::Lambda::Function' &&
            JSON.stringify(resource.Properties?.FileSystemConfigs ?? []).includes('fsap-0a1b2c3d4e5f60789'),
        );
        expect(mounting).toHaveLength(1);
      },
    },
    {
      says: 'scales and deploys the api and nginx services of both clusters, passing their task roles only',
      check: async (packaged) => {
        for (const service of ['staging/api', 'staging/nginx', 'production/api', 'production/nginx']) {
          expect(
            await packaged.refusal('functions/http/scale-environment.ts', {
              action: 'ecs:UpdateService',
              resource: serviceArn(`total-recall-${service}`),
            }),
          ).toBeUndefined();
        }
        const pass = (role: string) =>
          packaged.refusal('functions/http/create-deployment.ts', {
            action: 'iam:PassRole',
            resource: roleArn(role),
            context: TO_ECS_TASKS,
          });
        for (const role of ['total-recall-production-api-task', 'total-recall-ecs-execution']) {
          expect(await pass(role)).toBeUndefined();
        }
        expect(await pass('admin')).toBeDefined();
      },
    },
    {
      says: "alarms on production api's health after two bad minutes out of three",
      check: (packaged) => {
        expect(packaged.alarm('total-recall-api-production-availability')).toMatchObject({
          DatapointsToAlarm: 2,
          EvaluationPeriods: 3,
          Threshold: 1,
        });
        expect(packaged.alarm('total-recall-api-production-latency')).toMatchObject({ Threshold: 1500 });
      },
    },
  ],
  'memo-coach': [
    {
      says: 'archives the SQLite volume nightly at 02:00 and drills it on Sundays at 06:00',
      check: (packaged) => {
        expect(packaged.schedules('TakeArchive')).toEqual([['cron(0 2 * * ? *)', { volume: 'memo-coach-data' }]]);
        expect(packaged.schedules('RestoreDrill')).toEqual([['cron(0 6 ? * SUN *)', { volume: 'memo-coach-data' }]]);
      },
    },
    {
      says: 'archives it in the worker task (runner ecs): the schedule starts that task, and no function mounts the volume',
      check: async (packaged) => {
        const workers = `arn:aws:ecs:${ARN.region}:${ARN.account}:cluster/slipway-${packaged.stage}-workers`;
        expect(
          await packaged.refusal('functions/schedules/take-archive.ts', {
            action: 'ecs:RunTask',
            resource: `arn:aws:ecs:${ARN.region}:${ARN.account}:task-definition/slipway-${packaged.stage}-worker:1`,
            context: { 'ecs:cluster': workers },
          }),
        ).toBeUndefined();
        const mounting = Object.values(packaged.template.Resources).filter(
          (resource) =>
            resource.Type === 'AWS::Lambda::Function' &&
            JSON.stringify(resource.Properties?.FileSystemConfigs ?? []).includes('fsap-0b1c2d3e4f5a60789'),
        );
        expect(mounting).toEqual([]);
      },
    },
    {
      says: 'passes the lifecycle hook role back to ECS on a deployment of the blue/green services, and no other role',
      check: async (packaged) => {
        const pass = (role: string, service: string) =>
          packaged.refusal('functions/http/create-deployment.ts', {
            action: 'iam:PassRole',
            resource: roleArn(role),
            context: { 'iam:PassedToService': service },
          });
        expect(await pass('memo-coach-ecs-lifecycle-hook', 'ecs.amazonaws.com')).toBeUndefined();
        expect(await pass('admin', 'ecs.amazonaws.com')).toBeDefined();
        for (const role of ['memo-coach-production-api-task', 'memo-coach-ecs-execution']) {
          expect(await pass(role, 'ecs-tasks.amazonaws.com')).toBeUndefined();
        }
      },
    },
    {
      says: "never reads the app's JWT or LLM keys, which ECS resolves for the tasks; reads its own Slack secret",
      check: async (packaged) => {
        const secret = (name: string) => `arn:aws:secretsmanager:${ARN.region}:${ARN.account}:secret:${name}`;
        for (const handler of ['functions/http/create-deployment.ts', 'functions/events/ecs-deployment-state.ts']) {
          for (const name of ['memo-coach/production/jwt-Qx7Lm2', 'memo-coach/production/llm-Hp3Zk9']) {
            expect(
              await packaged.refusal(handler, { action: 'secretsmanager:GetSecretValue', resource: secret(name) }),
            ).toBeDefined();
          }
        }
        expect(
          await packaged.refusal('functions/events/ecs-deployment-state.ts', {
            action: 'secretsmanager:GetSecretValue',
            resource: secret('memo-coach/slack-webhook-AbCdEf'),
          }),
        ).toBeUndefined();
      },
    },
  ],
  'rag-shop': [
    {
      says: 'alarms on /health, /health/ready and /health/live in staging and production',
      check: (packaged) => {
        for (const environment of ['staging', 'production']) {
          const metrics = packaged.alarm(`rag-shop-${environment}-availability`).Metrics as Array<{
            MetricStat?: { Metric: { Dimensions: Array<{ Name: string; Value: string }> } };
          }>;
          const checks = metrics.flatMap((metric) =>
            (metric.MetricStat?.Metric.Dimensions ?? []).filter((dimension) => dimension.Name === 'Check'),
          );
          expect(checks.map((dimension) => dimension.Value)).toEqual(['health', 'ready', 'live']);
          expect(packaged.alarm(`rag-shop-${environment}-latency`)).toBeDefined();
        }
        expect(packaged.alarm('rag-shop-production-availability')).toMatchObject({
          DatapointsToAlarm: 2,
          EvaluationPeriods: 3,
        });
        expect(packaged.alarm('rag-shop-production-latency')).toMatchObject({ Threshold: 8000 });
      },
    },
    {
      says: "releases a push to rag-shop's repository: reads its images and updates both services",
      check: async (packaged) => {
        const release = (action: string, resource: string) =>
          packaged.refusal('functions/events/ecr-image-action.ts', { action, resource });
        expect(
          await release('ecr:DescribeImages', `arn:aws:ecr:${ARN.region}:${ARN.account}:repository/rag-shop`),
        ).toBeUndefined();
        for (const cluster of ['rag-shop-staging', 'rag-shop-production']) {
          expect(await release('ecs:UpdateService', serviceArn(`${cluster}/rag-shop`))).toBeUndefined();
        }
      },
    },
    {
      says: 'reads the Slack webhook secret to tell the channel every outcome',
      check: async (packaged) => {
        expect(
          await packaged.refusal('functions/events/ecs-deployment-state.ts', {
            action: 'secretsmanager:GetSecretValue',
            resource: `arn:aws:secretsmanager:${ARN.region}:${ARN.account}:secret:rag-shop/slack-webhook-AbCdEf`,
          }),
        ).toBeUndefined();
      },
    },
  ],
};

const examples = examplesWithConfig();

it('has checks for every example with a config, and an example for every entry of checks', () => {
  expect(Object.keys(EXAMPLE_CHECKS).sort()).toEqual(examples);
});

describe.each(examples)('the example %s, packaged as a team packages it', (example) => {
  let packaged: ExampleTemplate;

  beforeAll(async () => {
    const { stage, dir, template } = await packageExample(example);
    try {
      packaged = exampleTemplate(
        stage,
        template,
        await cfnLint(join(dir, 'cloudformation-template-update-stack.json')),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each((EXAMPLE_CHECKS[example] ?? []).map((entry) => [entry.says, entry.check] as const))(
    '%s',
    async (_, check) => {
      await check(packaged);
    },
  );

  it('passes cfn-lint: no error, and no warning the allowlist does not explain', () => {
    const unexplained = packaged.findings.filter((finding) => !explained(finding)).map(describeFinding);

    expect(unexplained).toEqual([]);
  });
});

describe.each(examplesWithWorkerUnits())('the example %s, run by systemd units without a control plane', (example) => {
  const units = exampleUnits(example);
  const environment = exampleEnvironment(example);
  const services = Object.entries(units).filter(([name]) => name.endsWith('.service'));
  const lines = services.flatMap(([name, unit]) => execStarts(unit).map((line) => [name, line] as const));
  const argumentsOf = (line: string) => workerArguments(line, environment);

  it('runs every service from the environment file, which sets every variable its command lines name', () => {
    expect(services.length).toBeGreaterThan(0);
    for (const [, unit] of services) {
      expect(unit.Service?.Type).toEqual(['oneshot']);
      expect(unit.Service?.EnvironmentFile).toHaveLength(1);
    }
    const named = new Set(lines.flatMap(([, line]) => variablesOf(line)));
    expect([...named].filter((name) => !(name in environment))).toEqual([]);
  });

  it.each(lines.map(([unit, line]) => [unit, argumentsOf(line).join(' '), line] as const))(
    '%s: slipway-worker %s is a command line the worker accepts',
    async (_, __, line) => {
      // Given the store unreachable (a free port nothing listens on) and the unit's paths in a scratch directory, so
      // the command gets as far as its first request and fails there, after its arguments were taken
      const scratch = mkdtempSync(join(tmpdir(), 'slipway-units-'));
      const err: string[] = [];
      try {
        const io = {
          out: () => undefined,
          err: (text: string) => err.push(text),
          env: {
            ...Object.fromEntries(
              Object.entries(environment).map(([name, value]) => [
                name,
                value.startsWith('/') ? join(scratch, value) : value,
              ]),
            ),
            AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}`,
            AWS_MAX_ATTEMPTS: '1',
          },
        };

        // When the unit's command line is given to the worker's own entry point
        const code = await main(workerArguments(line, io.env), io);

        // Then it is not a usage mistake (exit 2, with the usage): it ran, and failed only on reaching the store
        expect(err.join('\n')).not.toContain('usage:');
        expect(code).toBe(1);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  );

  it('keeps 30 days of every backup it takes, and drills each within a four-hour recovery time objective', () => {
    const option = (args: string[], name: string) => args[args.indexOf(name) + 1];
    const commands = lines.map(([, line]) => argumentsOf(line));
    const backedUp = commands
      .filter(([command]) => command === 'backup-volume' || command === 'backup-postgres')
      .map((args) => option(args, '--prefix'));
    const pruned = commands.filter(([command]) => command === 'prune');
    const drilled = commands.filter(([command]) => command?.startsWith('drill-'));

    expect(pruned.map((args) => option(args, '--prefix')).sort()).toEqual([...backedUp].sort());
    for (const args of pruned) {
      expect(parseRetention(option(args, '--retention') as string)).toEqual({ daily: 30, weekly: 0, monthly: 0 });
    }
    expect(drilled.map((args) => option(args, '--prefix')).sort()).toEqual([...backedUp].sort());
    for (const args of drilled) expect(option(args, '--max-rto')).toBe('14400');
  });

  it('starts each service from a timer of its own name, on a calendar', () => {
    const timers = Object.entries(units).filter(([name]) => name.endsWith('.timer'));
    expect(timers.map(([name]) => name.replace(/\.timer$/, '.service')).sort()).toEqual(
      services.map(([name]) => name).sort(),
    );
    for (const [, timer] of timers) {
      expect(timer.Timer?.OnCalendar).toHaveLength(1);
      expect(timer.Install?.WantedBy).toEqual(['timers.target']);
    }
  });
});
