import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRoutes } from '../../lib/http/registry';
import { type CloudFormationTemplate, packagedProd, packageStage, readTemplate } from '../support/package';
import { ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS } from './iam-allowlist';
import { readsNoTokens } from './iam-requests';

let dir: string;
let owned = false;
let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ dir, owned } = await packagedProd());
  template = readTemplate(dir);
});

afterAll(() => {
  if (dir && owned) rmSync(dir, { recursive: true, force: true });
});

const resource = (logicalId: string) => {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`the template has no ${logicalId}`);
  return found;
};

const propertiesOf = (logicalId: string): Record<string, unknown> => resource(logicalId).Properties ?? {};

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

function roleStatements(): Array<{ role: string; statement: Statement }> {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .flatMap(([role, r]) =>
      ((r.Properties?.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>) ?? []).flatMap((policy) =>
        policy.PolicyDocument.Statement.map((statement) => ({ role, statement })),
      ),
    );
}

const list = <T>(value: T | T[]) => (Array.isArray(value) ? value : [value]);

describe('the packaged CloudFormation template (stage prod)', () => {
  it('has the state table: on demand, point-in-time recovery, encryption, TTL and the per-environment index', () => {
    const table = resource('StateTable');
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      TableName: 'slipway-prod-state',
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: [
        expect.objectContaining({
          IndexName: 'byEnvironment',
          KeySchema: [
            { AttributeName: 'environmentKey', KeyType: 'HASH' },
            { AttributeName: 'environmentSortKey', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
  });

  it('has the backup bucket: versioned, SSE-KMS with bucket key, private, TLS only, aborting stale uploads', () => {
    const bucket = resource('BackupBucket');
    expect(bucket.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    const rules = (propertiesOf('BackupBucket').LifecycleConfiguration as { Rules: Array<Record<string, unknown>> })
      .Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
    );
    const policy = propertiesOf('BackupBucketPolicy').PolicyDocument as {
      Statement: Array<Record<string, unknown>>;
    };
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  it('has the notifications topic and the outputs', () => {
    expect(resource('NotificationsTopic').Type).toBe('AWS::SNS::Topic');
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining(['ApiUrl', 'StateTableName', 'BackupBucketName', 'NotificationsTopicArn']),
    );
  });

  it('runs every function on nodejs22.x and arm64, with no secret in its environment', () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
      const environment = fn.Properties?.Environment as { Variables: Record<string, unknown> } | undefined;
      const variables = environment?.Variables ?? {};
      // A variable may name a secret (…_SECRET_ID, resolved at run time), never hold one.
      const named = Object.keys(variables).filter((name) => /SECRET|PASSWORD|TOKEN(?!S_SECRET)|KEY$/i.test(name));
      expect(named.filter((name) => !name.endsWith('_SECRET_ID'))).toEqual([]);
      for (const name of named)
        expect(String(variables[name])).toMatch(/^([A-Za-z0-9/_+=.@-]*|arn:aws:secretsmanager:.+)$/);
    }
  });

  it('grants no wildcard action, and Resource "*" only to actions without resource-level permissions', () => {
    const statements = roleStatements();
    expect(statements.length).toBeGreaterThan(0);
    for (const { role, statement } of statements) {
      for (const action of list(statement.Action)) {
        expect({ role, action, wildcard: action === '*' || action.endsWith(':*') }).toEqual({
          role,
          action,
          wildcard: false,
        });
      }
      if (list(statement.Resource).includes('*')) {
        for (const action of list(statement.Action)) {
          expect({ role, action, allowed: ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS.has(action) }).toEqual({
            role,
            action,
            allowed: true,
          });
        }
      }
    }
  });

  it('lets every route that takes a token read the tokens secret, and no public route', () => {
    const tokensSecret = {
      'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:slipway/api-tokens-??????`,
    };
    const readsTokens = (role: string) =>
      roleStatements().some(
        ({ role: candidate, statement }) =>
          candidate === role &&
          list(statement.Action).includes('secretsmanager:GetSecretValue') &&
          list(statement.Resource).some((resource) => JSON.stringify(resource) === JSON.stringify(tokensSecret)),
      );
    const routes = Object.values(apiRoutes);
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      const role = `${route.name.charAt(0).toUpperCase()}${route.name.slice(1)}IamRoleLambdaExecution`;
      expect({ route: route.name, readsTokens: readsTokens(role) }).toEqual({
        route: route.name,
        readsTokens: !readsNoTokens(route.name, route.access),
      });
    }
  });

  it('encrypts the topic with its own rotated key, which CloudWatch alarms and every publisher may use', () => {
    expect(propertiesOf('NotificationsTopic').KmsMasterKeyId).toEqual({ Ref: 'NotificationsKey' });
    expect(propertiesOf('NotificationsKey')).toMatchObject({
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: expect.arrayContaining([
          expect.objectContaining({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    const publishers = new Set(
      roleStatements()
        .filter(({ statement }) => list(statement.Action).includes('sns:Publish'))
        .map(({ role }) => role),
    );
    expect(publishers.size).toBeGreaterThan(5);
    for (const role of publishers) {
      const encrypts = roleStatements().some(
        ({ role: candidate, statement }) =>
          candidate === role &&
          list(statement.Action).includes('kms:GenerateDataKey') &&
          JSON.stringify(statement.Resource) === JSON.stringify([{ 'Fn::GetAtt': ['NotificationsKey', 'Arn'] }]),
      );
      expect({ role, encrypts }).toEqual({ role, encrypts: true });
    }
  });

  it('gives the readiness function its own role, scoped to the table, the bucket and the tokens secret', () => {
    const fn = resource('GetReadinessLambdaFunction');
    expect(fn.Properties?.Role).toEqual({ 'Fn::GetAtt': ['GetReadinessIamRoleLambdaExecution', 'Arn'] });
    const actions = roleStatements()
      .filter(({ role }) => role === 'GetReadinessIamRoleLambdaExecution')
      .flatMap(({ statement }) => list(statement.Action));
    expect(actions).toEqual(
      expect.arrayContaining([
        'dynamodb:DescribeTable',
        's3:ListBucket',
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'ecs:ListClusters',
      ]),
    );
  });

  it('serves every route from its own function', () => {
    const routes = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => r.Properties?.RouteKey)
      .sort();
    expect(routes).toEqual(
      [
        '$default',
        'GET /health',
        'GET /health/live',
        'GET /health/ready',
        'GET /v1/openapi.json',
        'POST /v1/deployments',
        'GET /v1/deployments/{id}',
        'POST /v1/deployments/{id}/approve',
        'POST /v1/deployments/{id}/cancel',
        'GET /v1/apps',
        'GET /v1/apps/{app}/environments/{env}',
        'GET /v1/apps/{app}/environments/{env}/deployments',
        'GET /v1/audit',
        'POST /v1/apps/{app}/environments/{env}/rollback',
        'POST /v1/apps/{app}/environments/{env}/promote',
        'POST /v1/apps/{app}/environments/{env}/restart',
        'POST /v1/apps/{app}/environments/{env}/scale',
        'POST /v1/webhooks/registry',
        'POST /v1/slack/interactions',
        'GET /v1/backups',
        'POST /v1/backups',
        'GET /v1/backups/{id}',
        'POST /v1/restores',
        'GET /v1/restores',
        'GET /v1/restores/{id}',
        'GET /v1/me',
        'GET /console',
        'GET /console/{proxy+}',
      ].sort(),
    );
  });

  it('changes only the configured services, and passes task roles only to ECS tasks', () => {
    const statements = roleStatements().filter(({ role }) => role === 'CreateDeploymentIamRoleLambdaExecution');
    const resourcesOf = (action: string) =>
      statements.filter(({ statement }) => list(statement.Action).includes(action)).map(({ statement }) => statement);
    const serviceArn = (cluster: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:service/${cluster}/backend`,
    });
    expect(resourcesOf('ecs:UpdateService')).toEqual([
      {
        Effect: 'Allow',
        Action: ['ecs:UpdateService'],
        Resource: [serviceArn('shop-staging'), serviceArn('shop-prod')],
      },
    ]);
    // config/prod.yml names each environment's task and execution roles: only those, and only to ECS tasks.
    expect(resourcesOf('iam:PassRole')).toEqual([
      {
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [
          'arn:aws:iam::123456789012:role/shop-staging-task',
          'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
          'arn:aws:iam::123456789012:role/shop-production-task',
        ],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
    ]);
    expect(resourcesOf('ecr:DescribeImages')).toEqual([
      expect.objectContaining({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript
        Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:ecr:us-east-1:123456789012:repository/shop-backend' }],
      }),
    ]);
    // An image index's manifest and enhanced findings are read from the configured repositories only
    const releaseStatements = roleStatements().filter(({ role }) => role === 'EcrImageActionIamRoleLambdaExecution');
    expect(
      releaseStatements
        .map(({ statement }) => statement)
        .filter((statement) => list(statement.Action).includes('ecr:BatchGetImage')),
    ).toEqual([
      {
        Effect: 'Allow',
        Action: ['ecr:BatchGetImage', 'ecr:DescribeImageScanFindings'],
        Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:ecr:us-east-1:123456789012:repository/shop-backend` }],
      },
    ]);
    // The read routes cannot change anything: they read the table, and the tokens to check the caller's
    const readActions = roleStatements()
      .filter(
        ({ role }) =>
          role === 'GetDeploymentIamRoleLambdaExecution' || role === 'ListDeploymentsIamRoleLambdaExecution',
      )
      .flatMap(({ statement }) => list(statement.Action))
      .filter((action) => !action.startsWith('logs:') && !action.startsWith('xray:'));
    expect([...new Set(readActions)].sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:Query',
      'secretsmanager:GetSecretValue',
    ]);
  });

  it('hears ECS deployment events with retries for 24 hours, keeping what fails in the dead-letter queue', () => {
    const rule = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties?.EventPattern ?? {}).includes('aws.ecs'),
    );
    expect(rule?.Properties).toMatchObject({
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Deployment State Change'],
        resources: ['shop-staging', 'shop-prod'].map((cluster) => ({
          'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:service/${cluster}/backend`,
        })),
      },
      Targets: [
        {
          Arn: { 'Fn::GetAtt': ['EcsDeploymentStateLambdaFunction', 'Arn'] },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
        },
      ],
    });
    expect(propertiesOf('EcsDeploymentStateLambdaEvConf')).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
    });
    expect(propertiesOf('DeadLetterQueue')).toMatchObject({
      MessageRetentionPeriod: 1209600,
      SqsManagedSseEnabled: true,
    });
    const schedule = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Events::Rule' &&
        JSON.stringify(r.Properties?.Targets ?? []).includes('ReconcileDeploymentsLambdaFunction'),
    );
    expect(schedule?.Properties).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': ['ReconcileDeploymentsLambdaFunction', 'Arn'] } })],
    });
  });

  it('hears successful ECR pushes and scans of the configured repositories only, and releases waiting pushes every minute', () => {
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const patternOf = (detailType: string) =>
      rules.find((r) => JSON.stringify(r.Properties?.EventPattern ?? {}).includes(detailType))?.Properties;
    expect(patternOf('ECR Image Action')).toMatchObject({
      EventPattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': ['shop-backend'] },
      },
      Targets: [expect.objectContaining({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } })],
    });
    expect(patternOf('ECR Image Scan')).toMatchObject({
      EventPattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Scan'],
        detail: { 'repository-name': ['shop-backend'] },
      },
    });
    // Enhanced scanning's result comes from Amazon Inspector, naming the repository by its ARN
    expect(patternOf('Inspector2 Scan')).toMatchObject({
      EventPattern: {
        source: ['aws.inspector2'],
        'detail-type': ['Inspector2 Scan'],
        detail: {
          'repository-name': [
            { 'Fn::Sub': `arn:\${AWS::Partition}:ecr:us-east-1:123456789012:repository/shop-backend` },
          ],
        },
      },
      Targets: [
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': ['EcrImageScanLambdaFunction', 'Arn'] },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
        }),
      ],
    });
    expect(
      rules.find(
        (r) =>
          JSON.stringify(r.Properties?.Targets ?? []).includes('ReleaseDueLambdaFunction') &&
          r.Properties?.ScheduleExpression === 'rate(1 minute)',
      ),
    ).toBeDefined();
  });

  it("has the availability and latency alarms generated from each environment's health checks", () => {
    const availability = propertiesOf('HealthAlarmShopProductionAvailability');
    expect(availability).toMatchObject({
      AlarmName: 'slipway-prod-shop-production-availability',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: 'NotificationsTopic' }],
    });
    expect(availability.Metrics).toEqual([
      {
        Id: 'm1',
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: 'Slipway',
            MetricName: 'Availability',
            Dimensions: [
              { Name: 'App', Value: 'shop' },
              { Name: 'Environment', Value: 'production' },
              { Name: 'Check', Value: 'check-1' },
            ],
          },
          Period: 60,
          Stat: 'Average',
        },
      },
      { Id: 'worst', Expression: 'MIN([m1])', Label: 'worst check availability', ReturnData: true },
    ]);
    expect(propertiesOf('HealthAlarmShopProductionLatency')).toMatchObject({
      AlarmName: 'slipway-prod-shop-production-latency',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 2000,
    });
  });

  it('hears the state changes of the alarms it owns or was given, and probes on the configured schedule', () => {
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const alarmRule = rules.find((r) => JSON.stringify(r.Properties?.EventPattern ?? {}).includes('aws.cloudwatch'));
    expect(alarmRule?.Properties).toMatchObject({
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        // Slipway's own alarms (health, backups) by their stage prefix; config/prod.yml names no alarm of its own.
        detail: { alarmName: [{ prefix: 'slipway-prod-' }] },
      },
      Targets: [expect.objectContaining({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } })],
    });
    const probes = rules.find((r) => JSON.stringify(r.Properties?.Targets ?? []).includes('RunProbesLambdaFunction'));
    expect(probes?.Properties?.ScheduleExpression).toBe('rate(1 minute)');
    // Every scheduled function keeps what it could not do in the dead-letter queue
    for (const fn of ['RunProbes', 'ReconcileDeployments', 'ReleaseDue']) {
      expect(propertiesOf(`${fn}LambdaEvConf`)).toMatchObject({
        MaximumEventAgeInSeconds: expect.any(Number),
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
      });
    }
    expect(template.Outputs?.LifecycleHookFunctionArn?.Value).toEqual({
      'Fn::GetAtt': ['EcsLifecycleHookLambdaFunction', 'Arn'],
    });
  });

  it('snapshots each database on its own schedule, drills on its drill schedule, and alarms when backups go stale', () => {
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const targeting = (fn: string) =>
      rules.filter((r) => JSON.stringify(r.Properties?.Targets ?? []).includes(`${fn}LambdaFunction`));
    expect(targeting('BackupDatabase').map((r) => r.Properties)).toEqual([
      expect.objectContaining({
        ScheduleExpression: 'cron(0 3 * * ? *)',
        Targets: [expect.objectContaining({ Input: JSON.stringify({ database: 'shop-db' }) })],
      }),
    ]);
    // The snapshot drill, the dump drill and the volume drill, each with its subject as input.
    expect(
      targeting('RestoreDrill').map((r) => [
        r.Properties?.ScheduleExpression,
        (r.Properties?.Targets as Array<{ Input?: string }> | undefined)?.[0]?.Input,
      ]),
    ).toEqual([
      ['cron(0 6 ? * SUN *)', '{"database":"shop-db"}'],
      ['cron(0 7 ? * SUN *)', '{"database":"shop-db","dump":true}'],
      ['cron(30 7 ? * SUN *)', '{"volume":"shop-uploads"}'],
    ]);
    expect(targeting('RdsEvent')[0]?.Properties?.EventPattern).toEqual({
      source: ['aws.rds'],
      'detail-type': [
        'RDS DB Snapshot Event',
        'RDS DB Cluster Snapshot Event',
        'RDS DB Instance Event',
        'RDS DB Cluster Event',
      ],
    });
    expect(propertiesOf('BackupStaleAlarmShopDb')).toMatchObject({
      AlarmName: 'slipway-prod-shop-db-backup-stale',
      MetricName: 'NewestBackupAgeMinutes',
      Dimensions: [{ Name: 'Database', Value: 'shop-db' }],
      Threshold: 2880,
      TreatMissingData: 'breaching',
    });
    // Weekly drills: two weeks without one that passed.
    expect(propertiesOf('DrillOverdueAlarmShopDb')).toMatchObject({
      MetricName: 'NewestDrillAgeMinutes',
      Dimensions: [{ Name: 'Database', Value: 'shop-db' }],
      Threshold: 20160,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(propertiesOf('DrillFailedAlarmShopDb')).toMatchObject({ MetricName: 'DrillFailures', Threshold: 1 });
    // Drills may delete only their own scratch databases
    const deletes = roleStatements()
      .filter(({ role }) => role === 'ReconcileBackupsIamRoleLambdaExecution')
      .find(({ statement }) => list(statement.Action).includes('rds:DeleteDBInstance'))?.statement;
    expect(deletes?.Resource).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:rds:\${AWS::Region}:\${AWS::AccountId}:db:slipway-drill-*` },
      { 'Fn::Sub': `arn:\${AWS::Partition}:rds:\${AWS::Region}:\${AWS::AccountId}:cluster:slipway-drill-*` },
    ]);
  });

  it("bundles each function with the AWS SDK and the stage's resolved config, and nothing else", () => {
    const listing = execFileSync('unzip', ['-Z1', join(dir, 'getReadiness.zip')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    expect(listing).toEqual([
      'config/prod.resolved.json',
      'functions/http/get-readiness.js',
      'functions/http/get-readiness.js.map',
      'functions/package.json',
    ]);
    const bundle = execFileSync('unzip', ['-p', join(dir, 'getReadiness.zip'), 'functions/http/get-readiness.js'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(bundle).toContain('ListClustersCommand');
  });
});

describe('a packaged function, as Lambda loads it', () => {
  it('loads from its zip alone as an ES module and answers', () => {
    // Given only the zip's content on disk, away from the repository's node_modules
    const root = mkdtempSync(join(tmpdir(), 'slipway-zip-'));
    try {
      execFileSync('unzip', ['-q', join(dir, 'getHealth.zip'), '-d', root]);
      const runner = join(root, 'invoke.mjs');
      writeFileSync(
        runner,
        [
          "const { handler } = await import('./functions/http/get-health.js');",
          "const event = { version: '2.0', rawPath: '/health', headers: {}, requestContext: { requestId: 'r', http: { method: 'GET' } } };",
          "process.stdout.write(JSON.stringify(await handler(event, { awsRequestId: 'r' })));",
        ].join('\n'),
      );
      // When the handler is imported and invoked by plain node
      const output = execFileSync(process.execPath, [runner], {
        cwd: root,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          SLIPWAY_STAGE: 'prod',
          SLIPWAY_VERSION: '1.2.3',
          STATE_TABLE: 'slipway-prod-state',
          BACKUP_BUCKET: 'bucket',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          POWERTOOLS_METRICS_DISABLED: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      });
      // Then it reads its packaged config and answers
      const response = JSON.parse(output);
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ status: 'ok', version: '1.2.3', stage: 'prod' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('packaging with an invalid config', () => {
  const stage = 'template-test-invalid';
  const file = join('config', `${stage}.yml`);

  afterAll(() => rmSync(file, { force: true }));

  it('fails with the file, the key path and the reason', async () => {
    // Given a config whose approvals is not a number
    writeFileSync(
      file,
      [
        'auth: {tokensSecret: slipway/api-tokens}',
        'apps:',
        '  shop:',
        '    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop',
        '    containers: [backend]',
        '    environments:',
        '      production: {cluster: prod, service: backend, approvals: one}',
        '',
      ].join('\n'),
    );
    // When it is packaged / Then packaging stops with the exact reason
    await expect(packageStage(stage)).rejects.toThrow(
      `config/${stage}.yml: apps.shop.environments.production.approvals: expected an integer >= 0, received "one"`,
    );
  });
});
