import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { makeHandler } from '../../functions/http/get-readiness';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createS3Client } from '../../lib/aws/clients/s3';
import { backupBucketCheck, ecsCheck, secretsManagerCheck, stateTableCheck } from '../../lib/health/dependency-checks';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureBackupBucket, ensureStateTable } from '../../lib/local/provision';
import { type EmbeddedServer, startDynalite, startS3rver } from '../../lib/local/servers';
import { resourcesFragment } from '../support/resources';

const ecsMock = mockClient(ECSClient);
const secretsMock = mockClient(SecretsManagerClient);

const stateTable = () =>
  resourcesFragment('resources/state-table.yml', 'slipway-test-state').StateTable as CloudFormationResource;
const backupBucket = () => resourcesFragment('resources/backup-bucket.yml').BackupBucket as CloudFormationResource;

const token = mintToken();
const tokens = async () => [{ name: 'viewer', sha256: hashToken(token), roles: ['viewer' as const] }];
const context = { awsRequestId: 'test', functionName: 'getReadiness' } as Context;
const event = {
  version: '2.0',
  routeKey: 'GET /health/ready',
  rawPath: '/health/ready',
  rawQueryString: '',
  headers: { authorization: `Bearer ${token}` },
  requestContext: { requestId: 'req-ready', http: { method: 'GET', path: '/health/ready' } },
  isBase64Encoded: false,
} as unknown as APIGatewayProxyEventV2;

let dataDir: string;
let dynamodb: EmbeddedServer;
let s3: EmbeddedServer;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'slipway-ready-'));
  dynamodb = await startDynalite(undefined);
  s3 = await startS3rver(join(dataDir, 's3'));
  const env = {
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: 'us-east-1',
  };
  const quiet = () => undefined;
  await ensureStateTable(createDynamoDbClient(env), stateTable(), quiet);
  await ensureBackupBucket(createS3Client(env), 'slipway-test-backups', backupBucket(), quiet);
});

afterAll(async () => {
  await dynamodb.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  ecsMock.reset();
  secretsMock.reset();
});

function readinessHandler() {
  const env = {
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: 'us-east-1',
  };
  return makeHandler({
    tokens,
    timeoutMs: 1_500,
    checks: [
      stateTableCheck(createDynamoDbClient(env), 'slipway-test-state'),
      backupBucketCheck(createS3Client(env), 'slipway-test-backups'),
      secretsManagerCheck(new SecretsManagerClient({ region: 'us-east-1' }), 'slipway/api-tokens'),
      ecsCheck(new ECSClient({ region: 'us-east-1' })),
    ],
  });
}

describe('GET /health/ready against the embedded servers', () => {
  it('is 200 with every check healthy, each with its latency', async () => {
    // Given Secrets Manager and ECS answer
    secretsMock.on(DescribeSecretCommand).resolves({ Name: 'slipway/api-tokens' });
    ecsMock.on(ListClustersCommand).resolves({ clusterArns: [] });

    // When readiness is asked
    const response = await readinessHandler()(event, context);

    // Then every dependency is healthy
    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body as string);
    expect(body).toEqual({
      status: 'healthy',
      failing: [],
      checks: {
        stateTable: { status: 'healthy', latency_ms: expect.any(Number) },
        backupBucket: { status: 'healthy', latency_ms: expect.any(Number) },
        secretsManager: { status: 'healthy', latency_ms: expect.any(Number) },
        ecs: { status: 'healthy', latency_ms: expect.any(Number) },
      },
    });
    expect(secretsMock).toHaveReceivedCommandWith(DescribeSecretCommand, { SecretId: 'slipway/api-tokens' });
    expect(ecsMock).toHaveReceivedCommandWith(ListClustersCommand, { maxResults: 1 });
  });

  it('is 503 naming the dependency that is down, with latency_ms on every check', async () => {
    // Given the S3 server has stopped
    secretsMock.on(DescribeSecretCommand).resolves({ Name: 'slipway/api-tokens' });
    ecsMock.on(ListClustersCommand).resolves({ clusterArns: [] });
    await s3.close();

    // When readiness is asked
    const response = await readinessHandler()(event, context);

    // Then it is unhealthy and says which check failed
    expect(response.statusCode).toBe(503);
    const body = JSON.parse(response.body as string);
    expect(body.status).toBe('unhealthy');
    expect(body.failing).toEqual(['backupBucket']);
    expect(body.checks.backupBucket).toEqual({
      status: 'unhealthy',
      latency_ms: expect.any(Number),
      error: expect.any(String),
    });
    for (const check of Object.values(body.checks) as Array<{ latency_ms: unknown }>) {
      expect(check.latency_ms).toEqual(expect.any(Number));
    }
    expect(body.checks.stateTable.status).toBe('healthy');
  });
});
