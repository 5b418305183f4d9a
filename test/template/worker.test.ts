import { rmSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { type CloudFormationTemplate, packagedProd, readTemplate } from '../support/package';

/**
 * The backup worker's ECS task in the packaged template (resources/worker.yml). config/prod.yml has a
 * worker section, two volumes (shop-uploads runs in a Lambda, shop-search-index in the task) and a
 * database whose dump reads the secret slipway/shop-db-dump.
 */

type Resource = CloudFormationTemplate['Resources'][string] & { Condition?: string };
type Template = Omit<CloudFormationTemplate, 'Resources' | 'Outputs'> & {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Condition?: string }>;
  Conditions?: Record<string, unknown>;
};

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

interface ContainerDefinition {
  Name: string;
  Environment?: Array<{ Name: string; Value: unknown }>;
  Secrets?: unknown;
  MountPoints: Array<{ SourceVolume: string; ContainerPath: string; ReadOnly: boolean }>;
  [property: string]: unknown;
}

let dir: string;
let owned = false;
let template: Template;

beforeAll(async () => {
  ({ dir, owned } = await packagedProd());
  template = readTemplate(dir) as Template;
});

afterAll(() => {
  if (dir && owned) rmSync(dir, { recursive: true, force: true });
});

const WORKER_RESOURCES = [
  'WorkerCluster',
  'WorkerLogGroup',
  'WorkerExecutionRole',
  'WorkerTaskRole',
  'WorkerTaskDefinition',
] as const;

const resource = (logicalId: string): Resource => {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`the template has no ${logicalId}`);
  return found;
};

const propertiesOf = (logicalId: string): Record<string, unknown> => resource(logicalId).Properties ?? {};

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function statementsOf(role: string): Statement[] {
  const policies = propertiesOf(role).Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

const statementsWith = (role: string, action: string) =>
  statementsOf(role).filter((statement) => list(statement.Action).includes(action));

function workerContainer(): ContainerDefinition {
  const containers = propertiesOf('WorkerTaskDefinition').ContainerDefinitions as ContainerDefinition[];
  expect(containers.map((container) => container.Name)).toEqual(['worker']);
  return containers[0] as ContainerDefinition;
}

// Secret names or ARNs, credentials, or a connection URL carrying a user or password.
const SECRET_LOOKING = /secret|password|token|:\/\/[^/\s]*@|shop-db-dump/i;

const accessPointIds = (value: unknown): string[] =>
  [...JSON.stringify(value).matchAll(/access-point\/(fsap-[0-9a-f]+)/g)].map((match) => match[1] as string);

describe('the backup worker in the packaged template (stage prod)', () => {
  it('given a worker section, when packaged, then WorkerEnabled holds and gates every worker resource and output', () => {
    // then
    expect(template.Conditions?.WorkerEnabled).toEqual({ 'Fn::Equals': ['true', 'true'] });
    for (const logicalId of WORKER_RESOURCES) {
      expect({ logicalId, condition: resource(logicalId).Condition }).toEqual({
        logicalId,
        condition: 'WorkerEnabled',
      });
    }
    expect(template.Outputs?.WorkerClusterName).toEqual(
      expect.objectContaining({ Condition: 'WorkerEnabled', Value: { Ref: 'WorkerCluster' } }),
    );
    expect(template.Outputs?.WorkerTaskDefinitionArn).toEqual(
      expect.objectContaining({ Condition: 'WorkerEnabled', Value: { Ref: 'WorkerTaskDefinition' } }),
    );
  });

  it('given the worker defaults, when packaged, then one Fargate-only cluster and a 30-day log group are made', () => {
    // then
    expect(resource('WorkerCluster').Type).toBe('AWS::ECS::Cluster');
    expect(propertiesOf('WorkerCluster')).toEqual({
      ClusterName: 'slipway-prod-workers',
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
      CapacityProviders: ['FARGATE'],
      DefaultCapacityProviderStrategy: [{ CapacityProvider: 'FARGATE', Weight: 1 }],
    });
    expect(propertiesOf('WorkerLogGroup')).toEqual({ LogGroupName: '/ecs/slipway-prod-worker', RetentionInDays: 30 });
  });

  it('given the worker defaults, when packaged, then the task is Fargate on ARM64 with 1 vCPU, 2 GiB and 21 GiB of disk', () => {
    // then
    expect(propertiesOf('WorkerTaskDefinition')).toMatchObject({
      Family: 'slipway-prod-worker',
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      Cpu: '1024',
      Memory: '2048',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      EphemeralStorage: { SizeInGiB: 21 },
      ExecutionRoleArn: { 'Fn::GetAtt': ['WorkerExecutionRole', 'Arn'] },
      TaskRoleArn: { 'Fn::GetAtt': ['WorkerTaskRole', 'Arn'] },
    });
  });

  it('given one volume run by ecs and one by lambda, when packaged, then the task mounts only the ecs one, encrypted and IAM-authorized', () => {
    // when
    const volumes = propertiesOf('WorkerTaskDefinition').Volumes as Array<{ Name: string }>;
    const { MountPoints } = workerContainer();

    // then
    expect(volumes).toEqual([
      {
        Name: expect.any(String),
        EFSVolumeConfiguration: {
          FilesystemId: 'fs-0fedcba9876543210',
          TransitEncryption: 'ENABLED',
          AuthorizationConfig: { AccessPointId: 'fsap-0fedcba9876543210', IAM: 'ENABLED' },
        },
      },
    ]);
    expect(MountPoints).toEqual([
      { SourceVolume: volumes[0]?.Name, ContainerPath: '/mnt/shop-search-index', ReadOnly: false },
    ]);
  });

  it('given the volume run by lambda, when packaged, then its function finds the volume where Lambda mounts it', () => {
    // when
    const [fn] = Object.values(template.Resources).filter(
      ({ Type, Properties }) =>
        Type === 'AWS::Lambda::Function' && Properties?.FunctionName === 'slipway-prod-volume-shop-uploads',
    );
    const properties = fn?.Properties as {
      Environment: { Variables: Record<string, unknown> };
      FileSystemConfigs: Array<{ LocalMountPath: string }>;
    };

    // then the volume root is /mnt, as on the worker task, whatever npm start passes on this machine
    expect(properties.Environment.Variables.SLIPWAY_VOLUME_ROOT).toBe('/mnt');
    expect(properties.FileSystemConfigs.map(({ LocalMountPath }) => LocalMountPath)).toEqual(['/mnt/shop-uploads']);
  });

  it('given the worker image, when packaged, then the container runs it as the non-root user with its health check and logs', () => {
    // when
    const container = workerContainer();

    // then
    expect(container).toMatchObject({
      Name: 'worker',
      Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0',
      Essential: true,
      ReadonlyRootFilesystem: false,
      User: '10001:10001',
      HealthCheck: {
        Command: ['CMD', 'node', '/app/slipway-worker.mjs', 'healthcheck'],
        Interval: 30,
        Timeout: 10,
        Retries: 3,
        StartPeriod: 20,
      },
      StopTimeout: 120,
      LogConfiguration: {
        LogDriver: 'awslogs',
        Options: {
          'awslogs-group': { Ref: 'WorkerLogGroup' },
          'awslogs-region': { Ref: 'AWS::Region' },
          'awslogs-stream-prefix': 'worker',
        },
      },
    });
  });

  it('given a dump credentials secret, when packaged, then the container environment names resources and holds no secret', () => {
    // when
    const { Environment = [], Secrets } = workerContainer();

    // then
    expect(Object.fromEntries(Environment.map(({ Name, Value }) => [Name, Value]))).toEqual({
      SLIPWAY_STAGE: 'prod',
      STATE_TABLE: 'slipway-prod-state',
      BACKUP_BUCKET: { Ref: 'BackupBucket' },
      NOTIFICATIONS_TOPIC_ARN: { Ref: 'NotificationsTopic' },
      SLIPWAY_VOLUME_ROOT: '/mnt',
      // config/prod.yml has no Slack webhook: the worker notifies on the topic only.
      SLACK_WEBHOOK_SECRET_ID: '',
      POWERTOOLS_SERVICE_NAME: 'slipway-worker',
      POWERTOOLS_METRICS_NAMESPACE: 'Slipway',
    });
    expect(Secrets).toBeUndefined();
    const secretLooking = Environment.filter(({ Value }) => SECRET_LOOKING.test(JSON.stringify(Value)));
    expect(secretLooking).toEqual([]);
  });

  it('given the worker roles, when packaged, then only ECS tasks of this account may assume them', () => {
    for (const role of ['WorkerExecutionRole', 'WorkerTaskRole']) {
      // then
      expect({ role, trust: propertiesOf(role).AssumeRolePolicyDocument }).toEqual({
        role,
        trust: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'ecs-tasks.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      });
      expect(propertiesOf(role).ManagedPolicyArns).toBeUndefined();
    }
  });

  it('given the execution role, when its policy is read, then it pulls images and writes the worker log group, nothing else', () => {
    // when
    const statements = statementsOf('WorkerExecutionRole');

    // then
    expect(statements.flatMap((statement) => list(statement.Action)).sort()).toEqual([
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetAuthorizationToken',
      'ecr:GetDownloadUrlForLayer',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
    expect(statementsWith('WorkerExecutionRole', 'ecr:GetAuthorizationToken')).toEqual([
      { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
    ]);
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
      expect(statementsWith('WorkerExecutionRole', action).map((statement) => statement.Resource)).toEqual([
        [{ 'Fn::GetAtt': ['WorkerLogGroup', 'Arn'] }],
      ]);
    }
  });

  it('given the task role, when its policy is read, then no action is a wildcard and no statement has Resource "*"', () => {
    // when
    const statements = statementsOf('WorkerTaskRole');

    // then
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      for (const action of list(statement.Action)) {
        expect({ action, wildcard: action.includes('*') }).toEqual({ action, wildcard: false });
      }
    }
    expect(statements.filter((statement) => list(statement.Resource).includes('*'))).toEqual([]);
    // The task's metrics are EMF lines in its log group, which CloudWatch turns into metrics: no PutMetricData.
    expect(
      statements.flatMap((statement) => list(statement.Action)).filter((action) => action.startsWith('cloudwatch:')),
    ).toEqual([]);
  });

  it('given the task role, when its S3 grants are read, then objects and listing are limited to the worker prefixes', () => {
    // when
    const objectStatements = statementsWith('WorkerTaskRole', 's3:PutObject');
    const listStatements = statementsWith('WorkerTaskRole', 's3:ListBucket');

    // then
    const prefixed = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['BackupBucket', 'Arn'] }, suffix]] });
    expect(objectStatements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        Resource: [prefixed('/volumes/*'), prefixed('/dumps/*')],
      },
    ]);
    expect(listStatements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [{ 'Fn::GetAtt': ['BackupBucket', 'Arn'] }],
        Condition: { StringLike: { 's3:prefix': ['volumes/*', 'dumps/*'] } },
      },
    ]);
    const s3Actions = statementsOf('WorkerTaskRole')
      .flatMap((statement) => list(statement.Action))
      .filter((action) => action.startsWith('s3:'));
    expect(s3Actions.sort()).toEqual([
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
  });

  it('given the dump secret slipway/shop-db-dump, when the task role is read, then it is the only secret the worker may read', () => {
    // when
    const statements = statementsWith('WorkerTaskRole', 'secretsmanager:GetSecretValue');

    // then
    expect(statements).toHaveLength(1);
    expect(list(statements[0]?.Action)).toEqual(['secretsmanager:GetSecretValue']);
    const secrets = list(statements[0]?.Resource).map((arn) => JSON.stringify(arn));
    expect(secrets).toEqual([expect.stringMatching(/:secretsmanager:.*:secret:slipway\/shop-db-dump-/)]);
  });

  it('given the ecs volume, when the task role is read, then EFS mount and write are bound to its file system and access point, without root access', () => {
    // when
    const statements = statementsOf('WorkerTaskRole').filter((statement) =>
      list(statement.Action).some((action) => action.startsWith('elasticfilesystem:')),
    );

    // then
    expect(statements).toHaveLength(1);
    const [efs] = statements;
    expect(list(efs?.Action)).toEqual(['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']);
    const fileSystems = [...JSON.stringify(efs?.Resource).matchAll(/:file-system\/(fs-[0-9a-f]+|\*)/g)].map(
      (match) => match[1],
    );
    expect(fileSystems).toEqual(['fs-0fedcba9876543210']);
    expect(Object.keys(efs?.Condition ?? {})).toEqual(['StringEquals']);
    const accessPoints = efs?.Condition?.StringEquals?.['elasticfilesystem:AccessPointArn'];
    // The task can mount only its own volumes: their access points, and no other.
    const volumes = propertiesOf('WorkerTaskDefinition').Volumes as Array<{
      EFSVolumeConfiguration: { AuthorizationConfig: { AccessPointId: string } };
    }>;
    const mounted = volumes.map((volume) => volume.EFSVolumeConfiguration.AuthorizationConfig.AccessPointId);
    expect(accessPointIds(accessPoints)).toEqual(mounted);
    expect(accessPointIds(accessPoints)).toEqual(['fsap-0fedcba9876543210']);
  });

  it('given the state table, when the task role is read, then DynamoDB access is reading and updating backup and restore records', () => {
    // when
    const statements = statementsOf('WorkerTaskRole').filter((statement) =>
      list(statement.Action).some((action) => action.startsWith('dynamodb:')),
    );

    // then
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: [{ 'Fn::GetAtt': ['StateTable', 'Arn'] }],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['BACKUP#*', 'RESTORE#*'] } },
      },
    ]);
    expect(statementsWith('WorkerTaskRole', 'sns:Publish')).toEqual([
      { Effect: 'Allow', Action: ['sns:Publish'], Resource: [{ Ref: 'NotificationsTopic' }] },
    ]);
    expect(statementsWith('WorkerTaskRole', 'kms:GenerateDataKey')).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: [{ 'Fn::GetAtt': ['BackupKey', 'Arn'] }],
        Condition: {
          StringEquals: { 'kms:ViaService': { 'Fn::Sub': `s3.\${AWS::Region}.amazonaws.com` } },
        },
      },
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: [{ 'Fn::GetAtt': ['NotificationsKey', 'Arn'] }],
      },
    ]);
  });
});

describe('stopping worker tasks (the reconciler)', () => {
  const ACCOUNT = '123456789012';
  /** The template's Fn::Sub strings as CloudFormation resolves them in us-east-1 of ACCOUNT. */
  const PSEUDO_PARAMETERS: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'us-east-1',
    'AWS::AccountId': ACCOUNT,
  };
  const resolved = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value, (_, item) =>
        item && typeof item === 'object' && typeof item['Fn::Sub'] === 'string'
          ? item['Fn::Sub'].replace(/\$\{(AWS::\w+)\}/g, (_: string, name: string) => PSEUDO_PARAMETERS[name] ?? name)
          : item,
      ),
    );

  const rolesWith = (action: string) =>
    Object.entries(template.Resources)
      .filter(([, found]) => found.Type === 'AWS::IAM::Role')
      .filter(([logicalId]) => statementsWith(logicalId, action).length > 0)
      .map(([logicalId]) => logicalId);

  /** StopTask by the reconciler's role on a task of `cluster`, as ECS authorises it (with the ecs:cluster key). */
  async function stopTaskIn(cluster: string) {
    const statements = resolved(statementsWith('ReconcileBackupsIamRoleLambdaExecution', 'ecs:StopTask'));
    const response = await runSimulation(
      {
        identityPolicies: [{ name: 'reconcile-backups', policy: { Version: '2012-10-17', Statement: statements } }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        request: {
          action: 'ecs:StopTask',
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/slipway-prod-reconcileBackups/slipway-prod-reconcileBackups`,
          resource: {
            accountId: ACCOUNT,
            resource: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/${cluster}/0f1e2d3c4b5a69788796a5b4c3d2e1f0`,
          },
          contextVariables: { 'ecs:cluster': `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/${cluster}` },
        },
      },
      {},
    );
    if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
    return response.overallResult;
  }

  it('given the packaged roles, when StopTask is looked for, then only the reconciler may call it', () => {
    expect(rolesWith('ecs:StopTask')).toEqual(['ReconcileBackupsIamRoleLambdaExecution']);
  });

  it('given the reconciler role, when it stops a task of the worker cluster, then IAM allows it', async () => {
    expect(await stopTaskIn('slipway-prod-workers')).toBe('Allowed');
  });

  it('given the reconciler role, when it stops a task of an app cluster, then IAM denies it', async () => {
    expect(await stopTaskIn('shop-prod')).toBe('ImplicitlyDenied');
  });
});
