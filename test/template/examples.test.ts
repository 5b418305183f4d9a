import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { examplesWithConfig, packageExample } from '../support/examples';
import { cfnLint, describeFinding, explained } from './cfn-lint';
import { type ExampleTemplate, exampleTemplate } from './example-templates';

/**
 * Each worked example under examples/ packaged as a team packages it (its slipway.yml copied to
 * config/example-<name>.yml, `sls package --stage example-<name>`): the template holds what the example's
 * runbook relies on (the nightly schedules, the grants on its own services, databases and roles, the alarms
 * of its health checks), and cfn-lint finds no error nor any warning its allowlist does not explain.
 * An example folder with a slipway.yml and no entry in EXAMPLE_CHECKS fails: each says what it relies on.
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
