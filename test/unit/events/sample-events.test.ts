import { readdirSync, readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod';
import { rdsEvent } from '../../../functions/events/rds-event';
import { backupScheduleInput } from '../../../functions/schedules/backup-database';
import { drillScheduleInput } from '../../../functions/schedules/restore-drill';
import { archiveScheduleInput } from '../../../functions/schedules/take-archive';
import { auditQuery } from '../../../lib/audit/schemas';
import {
  backupPath,
  createRestoreBody,
  listBackupsQuery,
  listRestoresQuery,
  restorePath,
  takeBackupBody,
} from '../../../lib/backup/schemas';
import { ecsDeploymentEvent, serviceFromArn } from '../../../lib/deploy/outcome';
import {
  createDeploymentBody,
  deploymentPath,
  environmentPath,
  historyQuery,
  operationBody,
  promoteBody,
  scaleBody,
} from '../../../lib/deploy/schemas';
import { scheduledEventSchema } from '../../../lib/events/handler';
import { consolePath } from '../../../lib/http/console-path';
import { declaredFunctions } from '../../../lib/local/serverless-cli';
import { parseInteraction, verifySlackRequest } from '../../../lib/notify/slack-interactions';
import { ecrImageActionEvent, ecrImageScanEvent, inspectorScanEvent } from '../../../lib/release/ecr-events';
import { parseRegistryPush, verifySignature } from '../../../lib/release/webhooks';
import { workerJob } from '../../../lib/worker/launch';

/** The samples in events/, which `sls invoke local -p` runs and the tests load: they must be what AWS sends. */
const files = readdirSync('events').sort();
const read = <T>(file: string): T => JSON.parse(readFileSync(`events/${file}`, 'utf8'));
const ecsSamples = files.filter((file) => /^ecs\..+\.json$/.test(file));
const httpSamples = files.filter((file) => /^http\..+\.json$/.test(file));

/** What each route reads from a request; a route with no schema for a part reads none of it. */
interface RouteInputs {
  public?: true;
  /** Authenticated by an HMAC signature of the body instead of a bearer token. */
  signed?: true;
  /** Slack's form-encoded interaction, signed with Slack's v0 scheme. */
  slack?: true;
  path?: z.core.$ZodType;
  query?: z.core.$ZodType;
  body?: z.core.$ZodType;
}

const ENVIRONMENT = '/v1/apps/{app}/environments/{env}';
const ROUTES: Record<string, RouteInputs> = {
  'GET /health': { public: true },
  'GET /health/live': { public: true },
  'GET /health/ready': {},
  'POST /v1/deployments': { body: createDeploymentBody },
  'GET /v1/deployments/{id}': { path: deploymentPath },
  'POST /v1/deployments/{id}/approve': { path: deploymentPath },
  'POST /v1/deployments/{id}/cancel': { path: deploymentPath },
  'GET /v1/apps': {},
  [`GET ${ENVIRONMENT}`]: { path: environmentPath },
  [`GET ${ENVIRONMENT}/deployments`]: { path: environmentPath, query: historyQuery },
  [`POST ${ENVIRONMENT}/rollback`]: { path: environmentPath, body: operationBody },
  [`POST ${ENVIRONMENT}/promote`]: { path: environmentPath, body: promoteBody },
  [`POST ${ENVIRONMENT}/restart`]: { path: environmentPath, body: operationBody },
  [`POST ${ENVIRONMENT}/scale`]: { path: environmentPath, body: scaleBody },
  'POST /v1/webhooks/registry': { public: true, signed: true },
  'POST /v1/slack/interactions': { public: true, slack: true },
  'GET /v1/backups': { query: listBackupsQuery },
  'POST /v1/backups': { body: takeBackupBody },
  'GET /v1/backups/{id}': { path: backupPath },
  'POST /v1/restores': { body: createRestoreBody },
  'GET /v1/restores/{id}': { path: restorePath },
  'GET /v1/audit': { query: auditQuery },
  'GET /v1/openapi.json': { public: true },
  'GET /v1/me': {},
  'GET /v1/restores': { query: listRestoresQuery },
  'GET /console': { public: true, path: consolePath },
  'GET /console/{proxy+}': { public: true, path: consolePath },
};

// The secret and time the registry webhook sample was signed with (documented, not real).
const SAMPLE_WEBHOOK_SECRET = 'example-webhook-secret-not-real';
const SAMPLE_WEBHOOK_TIME = new Date(1_795_316_400_000);

/** The routes serverless.yml gives the HTTP API, as API Gateway names them. */
function servedRoutes(): string[] {
  return Object.values(declaredFunctions())
    .flatMap((fn) => (fn.events ?? []) as Array<{ httpApi?: '*' | { method: string; path: string } }>)
    .flatMap(({ httpApi }) =>
      httpApi === undefined ? [] : [httpApi === '*' ? '$default' : `${httpApi.method} ${httpApi.path}`],
    )
    .sort();
}

/** `/v1/apps/{app}` against `/v1/apps/shop` → `{ app: 'shop' }`, or undefined when the path is not the route's. */
function pathParameters(template: string, rawPath: string): Record<string, string> | undefined {
  const names: string[] = [];
  // `{proxy+}` takes the rest of the path, slashes and all (API Gateway's greedy path variable).
  const pattern = template.replace(/\{([^}+]+)(\+?)\}/g, (_, name: string, greedy: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  const match = new RegExp(`^${pattern}$`).exec(rawPath);
  return match ? Object.fromEntries(names.map((name, index) => [name, match[index + 1] as string])) : undefined;
}

describe('the ECS samples', () => {
  it('include the cases of a deployment, and the circuit breaker failing and rolling back in one second', () => {
    expect(ecsSamples).toEqual(
      expect.arrayContaining([
        'ecs.deployment-completed.json',
        'ecs.deployment-failed.json',
        'ecs.deployment-in-progress.json',
        'ecs.deployment-rollback.json',
        'ecs.deployment-failed.circuit-breaker.json',
        'ecs.deployment-rollback.same-second.json',
      ]),
    );
  });

  it.each(ecsSamples)('%s is stamped to the second, as ECS stamps its events', (file) => {
    // ECS developer guide, "Amazon ECS service deployment state change events": "updatedAt": "2020-05-23T11:11:11Z"
    const sample = read<{ time: string; detail: { updatedAt: string } }>(file);
    expect(sample.detail.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(sample.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it.each(ecsSamples)('%s parses as an ECS Deployment State Change for shop-prod/backend', (file) => {
    // Given the sample, as EventBridge delivers it
    const sample = read<Record<string, unknown>>(file);

    // When it is parsed as the handler parses it
    const parsed = ecsDeploymentEvent.safeParse(sample);

    // Then it is valid, for the service the other samples and tests use, with the envelope EventBridge adds
    expect(parsed.error?.issues).toBeUndefined();
    expect(serviceFromArn(parsed.data?.resources[0] ?? '')).toEqual({ cluster: 'shop-prod', service: 'backend' });
    expect({ version: sample.version, account: sample.account, region: sample.region }).toEqual({
      version: '0',
      account: '123456789012',
      region: 'us-east-1',
    });
    expect(parsed.data?.detail.eventType).toBe(
      parsed.data?.detail.eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
    );
  });
});

/** A member account's events, as its rules forward them: the control plane's samples from 222222222222 in eu-west-1. */
const FORWARDED: Record<string, string> = {
  'ecr.image-push.forwarded.json': 'ecr.image-push.tagged.json',
  'ecr.image-scan.forwarded.json': 'ecr.image-scan.findings.json',
};

describe('the ECR samples', () => {
  it.each(files.filter((file) => file.startsWith('ecr.')))('%s is an ECR event Slipway reads', (file) => {
    const sample = read<Record<string, unknown>>(file);
    const schema = sample['detail-type'] === 'ECR Image Scan' ? ecrImageScanEvent : ecrImageActionEvent;
    expect(schema.safeParse(sample).error?.issues).toBeUndefined();
    expect({ source: sample.source, account: sample.account, region: sample.region }).toEqual({
      source: 'aws.ecr',
      ...(file in FORWARDED
        ? { account: '222222222222', region: 'eu-west-1' }
        : { account: '123456789012', region: 'us-east-1' }),
    });
  });

  it.each(Object.entries(FORWARDED))('%s is %s but for the account and region it comes from', (forwarded, original) => {
    // EventBridge keeps an event's account and region when a rule sends it to another account's bus (EventBridge
    // User Guide, "Sending and receiving events between AWS accounts in Amazon EventBridge").
    const moved = readFileSync(`events/${original}`, 'utf8')
      .replaceAll('"account": "123456789012"', '"account": "222222222222"')
      .replaceAll('"region": "us-east-1"', '"region": "eu-west-1"')
      .replaceAll('arn:aws:ecr:us-east-1:123456789012:', 'arn:aws:ecr:eu-west-1:222222222222:');
    expect(read(forwarded)).toEqual(JSON.parse(moved));
    expect(files).toContain(forwarded);
  });
});

describe('the Amazon Inspector samples', () => {
  it.each(files.filter((file) => file.startsWith('inspector2.')))(
    '%s is an Inspector2 Scan of an ECR image, in the published example’s shape',
    (file) => {
      // Given the sample (ECR user guide, "EventBridge events sent for enhanced scanning in Amazon ECR")
      const sample = read<{ detail: Record<string, unknown> } & Record<string, unknown>>(file);

      // Then it parses, names the repository by ARN as Inspector does, and counts TOTAL among the severities
      expect(inspectorScanEvent.safeParse(sample).error?.issues).toBeUndefined();
      expect({ source: sample.source, account: sample.account, region: sample.region }).toEqual({
        source: 'aws.inspector2',
        account: '123456789012',
        region: 'us-east-1',
      });
      expect(Object.keys(sample.detail)).toEqual([
        'scan-status',
        'repository-name',
        'finding-severity-counts',
        'image-digest',
        'image-tags',
      ]);
      expect(sample.resources).toEqual([sample.detail['repository-name']]);
      expect(sample.detail['finding-severity-counts']).toHaveProperty('TOTAL');
    },
  );
});

/**
 * The category and source type AWS lists for each RDS event a sample carries ("Amazon RDS event
 * categories and event messages", RDS User Guide: DB instance, DB snapshot and DB cluster snapshot events).
 */
const RDS_EVENTS: Record<string, { detailType: string; sourceType: string; categories: string[] }> = {
  'RDS-EVENT-0042': { detailType: 'RDS DB Snapshot Event', sourceType: 'SNAPSHOT', categories: ['creation'] },
  'RDS-EVENT-0075': {
    detailType: 'RDS DB Cluster Snapshot Event',
    sourceType: 'CLUSTER_SNAPSHOT',
    categories: ['backup'],
  },
  'RDS-EVENT-0043': { detailType: 'RDS DB Instance Event', sourceType: 'DB_INSTANCE', categories: ['restoration'] },
};

describe('the RDS samples', () => {
  it.each(files.filter((file) => file.startsWith('rds.')))(
    '%s carries the category and source type AWS lists for its event id',
    (file) => {
      const sample = read<{ 'detail-type': string; detail: Record<string, unknown> }>(file);
      const listed = RDS_EVENTS[sample.detail.EventID as string];
      expect(listed).toBeDefined();
      expect({
        detailType: sample['detail-type'],
        sourceType: sample.detail.SourceType,
        categories: sample.detail.EventCategories,
      }).toEqual(listed);
    },
  );

  it.each(files.filter((file) => file.startsWith('rds.')))('%s is an RDS event the rdsEvent function reads', (file) => {
    const sample = read<Record<string, unknown>>(file);
    expect(rdsEvent.safeParse(sample).error?.issues).toBeUndefined();
    expect({ source: sample.source, account: sample.account }).toEqual({ source: 'aws.rds', account: '123456789012' });
  });

  it.each(['schedule.backup-database.json', 'schedule.restore-drill.json'])(
    '%s is the {database} input its schedule rule passes',
    (file) => {
      expect(backupScheduleInput.parse(read(file))).toEqual({ database: 'shop-db' });
      expect(drillScheduleInput.parse(read('schedule.restore-drill.json'))).toEqual({ database: 'shop-db' });
    },
  );

  it('schedule.take-archive.json is the {volume} input a volume schedule passes', () => {
    expect(archiveScheduleInput.parse(read('schedule.take-archive.json'))).toEqual({ volume: 'shop-uploads' });
  });

  it('worker.volume-job.json is the job the control plane sends a volume function', () => {
    expect(workerJob.parse(read('worker.volume-job.json'))).toEqual({
      type: 'backup',
      backupId: 'bkp-3f2a9c1e-7b4d-4e8a-9c6f-0d1e2f3a4b5c',
    });
  });
});

describe('the schedule sample', () => {
  it.each([
    'schedule.reconcile-deployments.json',
    'schedule.release-due.json',
    'schedule.reconcile-backups.json',
    'schedule.run-probes.json',
  ])('%s parses as the Scheduled Event its function takes', (file) => {
    const sample = read<Record<string, unknown>>(file);

    expect(scheduledEventSchema.safeParse(sample).error?.issues).toBeUndefined();
    expect(sample).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: [expect.stringMatching(/^arn:aws:events:us-east-1:123456789012:rule\//)],
      detail: {},
    });
  });
});

describe('the HTTP API samples', () => {
  it('cover every route serverless.yml serves, and no other', () => {
    const sampled = httpSamples.map((file) => read<APIGatewayProxyEventV2>(file).routeKey).sort();

    expect(sampled).toEqual(servedRoutes());
  });

  it.each(httpSamples)('%s is a request its route matches', (file) => {
    // Given the sample
    const event = read<APIGatewayProxyEventV2>(file);
    const { routeKey, rawPath, requestContext } = event;

    // Then the route key, method and path agree wherever API Gateway repeats them
    expect({ routeKey: requestContext.routeKey, path: requestContext.http.path }).toEqual({ routeKey, path: rawPath });
    if (routeKey === '$default') return;
    const [method, template] = routeKey.split(' ') as [string, string];
    expect(requestContext.http.method).toBe(method);
    // And the path parameters are the ones the route's template takes from the path
    const parameters = pathParameters(template, rawPath);
    expect(parameters).toBeDefined();
    expect(event.pathParameters ?? {}).toEqual(parameters);
    // And the query string is the one the parameters were read from
    const query = Object.entries(event.queryStringParameters ?? {}).map(([name, value]): [string, string] => [
      name,
      value ?? '',
    ]);
    expect(event.rawQueryString).toBe(new URLSearchParams(query).toString());
  });

  it.each(httpSamples.filter((file) => file !== 'http.not-found.json'))(
    '%s carries the inputs its route accepts',
    (file) => {
      // Given the sample and what its route reads
      const event = read<APIGatewayProxyEventV2>(file);
      const route = ROUTES[event.routeKey];
      expect({ routeKey: event.routeKey, known: route !== undefined }).toEqual({
        routeKey: event.routeKey,
        known: true,
      });

      // Then an authenticated route is called with a bearer token
      if (!route?.public) expect(event.headers.authorization).toMatch(/^Bearer slw_\S+$/);
      // And its path, query and body parse with the route's schemas
      if (route?.path) expect(z.safeParse(route.path, event.pathParameters ?? {}).error?.issues).toBeUndefined();
      if (route?.query)
        expect(z.safeParse(route.query, event.queryStringParameters ?? {}).error?.issues).toBeUndefined();
      if (event.body === undefined) return;
      expect({ method: event.requestContext.http.method, contentType: event.headers['content-type'] }).toEqual({
        method: 'POST',
        contentType: route?.slack ? 'application/x-www-form-urlencoded' : 'application/json',
      });
      if (route?.slack) {
        // Signed with the samples' documented (not real) secret, at the sample's own time.
        const rawBody = Buffer.from(event.body, 'utf8');
        const now = new Date(Number(event.headers['x-slack-request-timestamp']) * 1000);
        const headers = event.headers as Record<string, string>;
        verifySlackRequest({ rawBody, headers, secret: 'slack-signing-secret-for-samples', now });
        expect(parseInteraction(rawBody).type).toBe('block_actions');
        return;
      }
      expect(event.isBase64Encoded).toBe(false);
      if (route?.body) expect(z.safeParse(route.body, JSON.parse(event.body)).error?.issues).toBeUndefined();
      if (route?.signed) {
        const headers = event.headers as Record<string, string>;
        const rawBody = Buffer.from(event.body, 'utf8');
        const signature = {
          rawBody,
          headers,
          secret: SAMPLE_WEBHOOK_SECRET,
          now: SAMPLE_WEBHOOK_TIME,
          toleranceSeconds: 300,
          schemes: ['slipway'] as const,
        };
        expect(verifySignature(signature)).toEqual({ scheme: 'slipway' });
        expect(parseRegistryPush(JSON.parse(event.body), headers)).toMatchObject({ registry: 'generic' });
      }
      if (!route?.signed) expect(route?.body).toBeDefined();
    },
  );

  it.each<[string, unknown]>([
    [
      'http.create-deployment.json',
      { app: 'shop', environment: 'staging', tag: 'develop-3f2a1c', reason: 'release 1.4.2' },
    ],
    ['http.promote-environment.json', { from: 'staging', reason: 'ship 1.4.2' }],
    ['http.scale-environment.json', { desiredCount: 4 }],
  ])('%s sends exactly this body', (file, body) => {
    const event = read<APIGatewayProxyEventV2>(file);

    expect(JSON.parse(event.body ?? 'null')).toEqual(body);
  });

  it('create-deployment is made idempotent by its Idempotency-Key', () => {
    expect(read<APIGatewayProxyEventV2>('http.create-deployment.json').headers['idempotency-key']).toMatch(
      /^[\x20-\x7e]{1,255}$/,
    );
  });

  it('list-deployments asks for a page of 10', () => {
    const event = read<APIGatewayProxyEventV2>('http.list-deployments.json');

    expect(historyQuery.parse(event.queryStringParameters)).toEqual({ limit: 10 });
  });
});
