/**
 * Deploy benchmark: what one auto-approved deploy through POST /v1/deployments costs.
 * DynamoDB is dynalite, metered by a middleware that counts its calls and the time spent
 * waiting on them; ECS, ECR and SNS are the in-memory fakes the tests use, counted from
 * their stubs, answering without latency. Handler time minus DynamoDB time is Slipway's own work (routing, auth, validation, planning, records). That time is
 * read against the same middy route chain around a handler that does nothing, in the same run.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { auditTrail } from '../lib/audit/trail';
import { hashToken } from '../lib/auth/tokens';
import { createDynamoDbClient } from '../lib/aws/clients/dynamodb';
import { median, quantile, ratio } from '../lib/bench/stats';
import { configSchema } from '../lib/config/schema';
import { Deployments } from '../lib/deploy/deployments';
import { ecsDeploymentEvent } from '../lib/deploy/outcome';
import { httpRoute } from '../lib/http/route-chain';
import type { CloudFormationResource } from '../lib/local/definitions';
import { ensureStateTable } from '../lib/local/provision';
import { startDynalite } from '../lib/local/servers';
import { snsPublisher } from '../lib/notify/publisher';
import { AuditStore } from '../lib/store/audit';
import { DeploymentStore } from '../lib/store/deployments';
import { dynamoDbIdempotency } from '../lib/store/idempotency';
import { EnvironmentLocks } from '../lib/store/locks';
import { fakeAws, HOME, REPOSITORY } from '../test/support/fake-ecs';
import { httpEvent, lambdaContext } from '../test/support/http';
import { resourcesFragment } from '../test/support/resources';

const TOKEN = 'slw_bench-deployer';
const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'PutCommand',
  'UpdateCommand',
  'DeleteCommand',
]);

export interface DeployBenchResult {
  runs: number;
  perDeploy: Array<{ service: string; calls: number; detail: string }>;
  withKey: { dynamoWrites: number };
  handlerMs: number[];
  bareMs: number[];
}

/** Counts a real client's calls and the time spent waiting on them. */
function meter(
  client: { middlewareStack: { add: (...args: never[]) => void } },
  service: string,
  log: Array<{ service: string; command: string; ms: number }>,
) {
  const add = client.middlewareStack.add as unknown as (
    middleware: (
      next: (args: unknown) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: unknown) => Promise<unknown>,
    options: { step: string; name: string; priority?: string },
  ) => void;
  add(
    (next, context) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        log.push({ service, command: context.commandName ?? '?', ms: performance.now() - started });
      }
    },
    { step: 'initialize', name: `slipwayBenchMeter${service}`, priority: 'high' },
  );
}

export async function benchDeploy(runs: number): Promise<DeployBenchResult> {
  // The function module builds its default dependencies at import, as on a cold start: give it the local stage.
  process.env.SLIPWAY_STAGE ??= 'local';
  process.env.STATE_TABLE ??= 'slipway-local-state';
  process.env.BACKUP_BUCKET ??= 'slipway-local-backups';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { makeHandler: makeCreateDeployment } = await import('../functions/http/create-deployment');
  const dynamodb = await startDynalite(undefined);
  const aws = fakeAws({ clusters: ['shop-staging'] });
  const sns = mockClient(SNSClient);
  sns.on(PublishCommand).resolves({ MessageId: 'bench' });
  try {
    const tableName = 'slipway-bench-state';
    const dynamoClient = createDynamoDbClient({
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_REGION: 'us-east-1',
    });
    await ensureStateTable(
      dynamoClient,
      resourcesFragment('resources/state-table.yml', tableName).StateTable as CloudFormationResource,
      () => undefined,
    );
    const log: Array<{ service: string; command: string; ms: number }> = [];
    meter(dynamoClient, 'DynamoDB', log);
    const ecs = new ECSClient({ region: 'us-east-1' });
    const ecr = new ECRClient({ region: 'us-east-1' });
    const snsClient = new SNSClient({ region: 'us-east-1' });
    const documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
    const config = configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      apps: {
        shop: {
          repository: REPOSITORY,
          containers: ['backend'],
          environments: { staging: { cluster: 'shop-staging', service: 'backend' } },
        },
      },
    });
    const audit = auditTrail(new AuditStore(documents, tableName, 400));
    const deployments = new Deployments({
      config,
      stage: 'bench',
      store: new DeploymentStore(documents, tableName),
      locks: new EnvironmentLocks(documents, tableName),
      ecsFor: () => ecs,
      ecrFor: () => ecr,
      publisher: snsPublisher(snsClient, 'arn:aws:sns:us-east-1:123456789012:bench'),
      audit,
    });
    const tokens = async () => [{ name: 'bench', sha256: hashToken(TOKEN), roles: ['deployer' as const] }];
    const create = makeCreateDeployment({
      tokens,
      audit,
      deployments,
      idempotency: dynamoDbIdempotency(documents, tableName),
    });
    const bare = httpRoute({ name: 'bare', access: 'deploy', scope: 'no-app' }, { tokens }, async () => ({
      status: 202,
      body: {},
    }));
    const request = (headers: Record<string, string> = {}) =>
      httpEvent('not-found', {
        method: 'POST',
        path: '/v1/deployments',
        routeKey: 'POST /v1/deployments',
        token: TOKEN,
        headers,
        body: { app: 'shop', environment: 'staging', tag: '1.5.0' },
      });

    const handlerMs: number[] = [];
    const bareMs: number[] = [];
    let counted: Array<{ service: string; command: string }> = [];
    let keyedWrites = 0;
    // One warm-up, then interleaved runs; the completed event frees the environment between deploys.
    for (let index = -1; index < runs; index++) {
      const keyed = index === runs - 1;
      log.length = 0;
      aws.ecs.resetHistory();
      aws.ecr.resetHistory();
      sns.resetHistory();
      const started = performance.now();
      const response = await create(request(keyed ? { 'idempotency-key': `bench-${index}` } : {}), lambdaContext());
      const elapsed = performance.now() - started;
      if (response.statusCode !== 202) throw new Error(`deploy answered ${response.statusCode}: ${response.body}`);
      const awsMs = log.reduce((sum, call) => sum + call.ms, 0);
      if (keyed) keyedWrites = log.filter((call) => call.service === 'DynamoDB' && WRITES.has(call.command)).length;
      else if (index >= 0) {
        handlerMs.push(elapsed - awsMs);
        // The fakes answer from memory (no latency to set apart); their calls are read from the stubs.
        const stubbed = (service: string, calls: Array<{ args: [{ constructor: { name: string } }] }>) =>
          calls.map((call) => ({ service, command: call.args[0].constructor.name }));
        counted = [
          ...stubbed('ECR', aws.ecr.calls() as never),
          ...stubbed('ECS', aws.ecs.calls() as never),
          ...log.map(({ service, command }) => ({ service, command })),
          ...stubbed('SNS', sns.calls() as never),
        ];
      }
      const bareStarted = performance.now();
      await bare(request(), lambdaContext());
      if (index >= 0) bareMs.push(performance.now() - bareStarted);
      await deployments.onEcsEvent(
        ecsDeploymentEvent.parse(
          aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', {
            updatedAt: new Date(Date.now() + index * 1000).toISOString(),
          }),
        ),
        HOME,
      );
    }

    const byService = new Map<string, string[]>();
    for (const call of counted)
      byService.set(call.service, [...(byService.get(call.service) ?? []), call.command.replace(/Command$/, '')]);
    const perDeploy = ['ECR', 'ECS', 'DynamoDB', 'SNS'].map((service) => {
      const commands = byService.get(service) ?? [];
      const writes =
        service === 'DynamoDB' ? commands.filter((command) => WRITES.has(`${command}Command`)).length : undefined;
      return {
        service: writes === undefined ? service : `${service} (writes ${writes})`,
        calls: commands.length,
        detail: commands.join(', '),
      };
    });
    return { runs, perDeploy, withKey: { dynamoWrites: keyedWrites }, handlerMs, bareMs };
  } finally {
    aws.restore();
    sns.restore();
    await dynamodb.close();
  }
}

export function describeDeployBench(result: DeployBenchResult) {
  const own = median(result.handlerMs);
  const bare = median(result.bareMs);
  return {
    withKeyWrites: result.withKey.dynamoWrites,
    rows: result.perDeploy.map((row) => [row.service, String(row.calls), row.detail]),
    timing: [
      [
        'deploy handler, AWS time excluded',
        own.toFixed(2),
        quantile(result.handlerMs, 0.9).toFixed(2),
        ratio(own, bare),
      ],
      ['same route chain, empty handler', bare.toFixed(2), quantile(result.bareMs, 0.9).toFixed(2), '1.00×'],
    ],
  };
}
