import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchGetImageCommand, ECRClient, type EnhancedImageScanFinding } from '@aws-sdk/client-ecr';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { makeHandler as makeEcrImageAction } from '../../functions/events/ecr-image-action';
import { makeHandler as makeEcrImageScan } from '../../functions/events/ecr-image-scan';
import { makeHandler as makeRegistryWebhook } from '../../functions/http/registry-webhook';
import { makeHandler as makeReleaseDue } from '../../functions/schedules/release-due';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { configSchema } from '../../lib/config/schema';
import { Deployments } from '../../lib/deploy/deployments';
import { ecrRepository, resolveImage } from '../../lib/deploy/ecs';
import { ecsDeploymentEvent } from '../../lib/deploy/outcome';
import { sqsDeadLetters } from '../../lib/events/dead-letter';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { snsPublisher } from '../../lib/notify/publisher';
import { resolveDigest } from '../../lib/release/registry';
import { Releases } from '../../lib/release/releases';
import { DELIVERY_MEMORY_DAYS, DeliveryStore, deliveryKey } from '../../lib/store/deliveries';
import { DeploymentStore } from '../../lib/store/deployments';
import { dynamoDbIdempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { ReleaseStore } from '../../lib/store/releases';
import { auditOn } from '../support/audit';
import { digest, type FakeAws, fakeAws, HOME, REPOSITORY } from '../support/fake-ecs';
import { httpEvent, lambdaContext } from '../support/http';
import { createStateTable } from '../support/resources';
import { selfSignedCertificate } from '../support/tls';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications';
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/slipway-test-dead-letters';
const SECRET = 'test-webhook-secret-0f9e8d7c6b5a';
const WEB_REPOSITORY = 'registry.example.com/team/shop-web';
const HUB_REPOSITORY = 'docker.io/acme/shop-admin';
const GHCR_REPOSITORY = 'ghcr.io/acme-corp/shop-backend';

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  webhooks: { signingSecret: 'slipway/webhooks' },
  apps: {
    shop: {
      repository: REPOSITORY,
      containers: ['backend'],
      environments: {
        staging: { cluster: 'shop-staging', service: 'backend', release: { semver: 'minor' } },
        qa: { cluster: 'shop-qa', service: 'backend', release: { tags: 'latest', force: true } },
        production: {
          cluster: 'shop-prod',
          service: 'backend',
          approvals: 1,
          release: {
            semver: 'patch',
            minAgeMinutes: 30,
            maxFindings: { CRITICAL: 0, HIGH: 5 },
            scanTimeoutMinutes: 20,
          },
        },
      },
    },
    web: {
      repository: WEB_REPOSITORY,
      containers: ['backend'],
      environments: { staging: { cluster: 'web-staging', service: 'backend', release: { tags: '*' } } },
    },
    admin: {
      repository: HUB_REPOSITORY,
      containers: ['backend'],
      environments: { staging: { cluster: 'admin-staging', service: 'backend', release: { tags: 'main-*' } } },
    },
    packages: {
      repository: GHCR_REPOSITORY,
      containers: ['backend'],
      environments: { staging: { cluster: 'packages-staging', service: 'backend', release: { tags: '*' } } },
    },
  },
});

let dynamodb: EmbeddedServer;
let dynamoClient: ReturnType<typeof createDynamoDbClient>;
let documents: DynamoDBDocumentClient;
let aws: FakeAws;
const mockSns = () => mockClient(SNSClient);
const mockSqs = () => mockClient(SQSClient);
let sns: ReturnType<typeof mockSns>;
let sqs: ReturnType<typeof mockSqs>;
let clock: Date;
let tables = 0;
let deployments: Deployments;
let releases: Releases;
let locks: EnvironmentLocks;
let trail: ReturnType<typeof auditOn>;
let registry: Server;
let registryUrl: string;
let certificates: string;
let tls: { key: Buffer; cert: Buffer };
let httpsRegistry: Server;
let httpsRegistryHost: string;
/** What the HTTPS registry stand-in answers: `<name>:<tag>` → digest. */
const httpsTags = new Map<string, string>();

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
  // A registry on this machine that answers the OCI distribution API, as Docker Hub does for a tag.
  registry = createServer((request, response) => {
    if (request.method === 'HEAD' && request.url === '/v2/acme/shop-admin/manifests/main-7c1d') {
      response.writeHead(200, {
        'docker-content-digest': digest('d'),
        'content-type': 'application/vnd.oci.image.index.v1+json',
      });
    } else {
      response.writeHead(404);
    }
    response.end();
  });
  await new Promise<void>((done) => registry.listen(0, '127.0.0.1', done));
  registryUrl = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
  // A registry over https (a certificate openssl made, trusted by the test's resolver only), standing in for
  // registry.example.com and ghcr.io: HEAD /v2/<name>/manifests/<tag> answers the digest the tag has now.
  certificates = mkdtempSync(join(tmpdir(), 'slipway-releases-'));
  tls = selfSignedCertificate(certificates);
  httpsRegistry = createHttpsServer(tls, (request, response) => {
    const [, name, tag] = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(request.url ?? '') ?? [];
    const found = request.method === 'HEAD' ? httpsTags.get(`${name}:${tag}`) : undefined;
    response.writeHead(found ? 200 : 404, found ? { 'docker-content-digest': found } : {});
    response.end();
  });
  await new Promise<void>((done) => httpsRegistry.listen(0, '127.0.0.1', done));
  httpsRegistryHost = `127.0.0.1:${(httpsRegistry.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await dynamodb.close();
  await new Promise((done) => registry.close(done));
  httpsRegistry.closeAllConnections();
  await new Promise((done) => httpsRegistry.close(done));
  rmSync(certificates, { recursive: true, force: true });
});

beforeEach(async () => {
  tables += 1;
  const tableName = `slipway-releases-test-${tables}`;
  await createStateTable(dynamoClient, tableName);
  aws = fakeAws({
    clusters: ['shop-staging', 'shop-qa', 'shop-prod', 'web-staging', 'admin-staging', 'packages-staging'],
  });
  httpsTags.clear();
  // What runs everywhere now is 1.4.0 (the base revision's digest), also tagged latest.
  aws.images.set('1.4.0', digest('1'));
  aws.images.set('latest', digest('1'));
  sns = mockSns();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  sqs = mockSqs();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'dl-1' });
  clock = new Date('2026-11-22T03:00:10.000Z');
  const ecs = new ECSClient({ region: 'us-east-1' });
  const ecrFor = (region: string) => new ECRClient({ region });
  const publisher = snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC);
  locks = new EnvironmentLocks(documents, tableName);
  trail = auditOn(documents, tableName, () => clock);
  deployments = new Deployments({
    config,
    stage: 'test',
    store: new DeploymentStore(documents, tableName),
    locks,
    ecsFor: () => ecs,
    ecrFor,
    publisher,
    audit: trail.audit,
    now: () => clock,
  });
  releases = new Releases({
    config,
    deployments,
    store: new ReleaseStore(documents, tableName),
    ecsFor: () => ecs,
    ecrFor,
    idempotency: dynamoDbIdempotency(documents, tableName),
    publisher,
    audit: trail.audit,
    now: () => clock,
  });
});

afterEach(() => {
  aws.restore();
  sns.restore();
  sqs.restore();
});

const deadLetters = () => sqsDeadLetters(new SQSClient({ region: 'us-east-1' }), QUEUE);
const sample = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
const push = (tag: string | undefined, imageDigest: string, overrides: Record<string, unknown> = {}) => {
  const event = sample('ecr.image-push.tagged.json');
  event.detail['image-digest'] = imageDigest;
  if (tag) event.detail['image-tag'] = tag;
  else delete event.detail['image-tag'];
  event.time = '2026-11-22T03:00:00Z';
  Object.assign(event.detail, overrides);
  return event;
};
const onPush = (event: unknown) => makeEcrImageAction({ releases, deadLetters: deadLetters() })(event, lambdaContext());
const onScan = (event: unknown) => makeEcrImageScan({ releases, deadLetters: deadLetters() })(event, lambdaContext());
const releaseDue = () =>
  makeReleaseDue({ releases, deadLetters: deadLetters() })(sample('schedule.release-due.json'), lambdaContext());
const stored = (imageDigest: string) =>
  new ReleaseStore(documents, `slipway-releases-test-${tables}`).forDigest(REPOSITORY, imageDigest);
/** Amazon Inspector's first enhanced scan of a digest, with its counts (TOTAL included, as Inspector sends it). */
const inspectorScan = (imageDigest: string, counts?: Record<string, number>) => {
  const event = sample('inspector2.scan.json');
  event.detail['image-digest'] = imageDigest;
  if (counts) event.detail['finding-severity-counts'] = counts;
  return event;
};
/** An enhanced finding as DescribeImageScanFindings lists it (ECR API Reference, EnhancedImageScanFinding). */
const finding = (severity: string, status = 'ACTIVE', id = 1): EnhancedImageScanFinding => ({
  awsAccountId: '123456789012',
  findingArn: `arn:aws:inspector2:us-east-1:123456789012:finding/${severity.toLowerCase()}${status.toLowerCase()}${id}`,
  title: `CVE-2026-${1000 + id} - openssl`,
  type: 'PACKAGE_VULNERABILITY',
  severity,
  status,
  firstObservedAt: new Date('2026-11-22T03:01:00Z'),
  lastObservedAt: new Date('2026-11-22T03:01:00Z'),
  updatedAt: new Date('2026-11-22T03:01:00Z'),
});
const findings = (severity: string, count: number, status = 'ACTIVE') =>
  Array.from({ length: count }, (_, index) => finding(severity, status, index));
/** The image index of events/ecr.image-push.image-index.json and what BatchGetImage answers for it. */
const INDEX = JSON.parse(readFileSync('test/fixtures/ecr/batch-get-image.image-index.json', 'utf8'));
const INDEX_DIGEST: string = INDEX.images[0].imageId.imageDigest;
const [AMD64, ARM64] = (JSON.parse(INDEX.images[0].imageManifest).manifests as Array<{ digest: string }>).map(
  (entry) => entry.digest,
) as [string, string];
const indexPush = (tag: string) => {
  const event = sample('ecr.image-push.image-index.json');
  event.detail['image-tag'] = tag;
  return event;
};
const updates = (cluster: string) =>
  aws.ecs.commandCalls(UpdateServiceCommand).filter((call) => call.args[0].input.cluster === cluster);

describe('ECR pushes', () => {
  it('deploys a newer minor version to staging by digest, recorded as ecr-push', async () => {
    // Given staging runs 1.4.0 under `semver: minor`, and 1.5.0 is pushed
    aws.images.set('1.5.0', digest('b'));

    // When the push event arrives
    const result = await onPush(push('1.5.0', digest('b')));

    // Then staging deploys exactly that digest, and the others decide for themselves
    expect(result).toMatchObject({ handled: true });
    const outcome = result.handled ? result.result : undefined;
    expect(outcome?.targets).toEqual([
      {
        app: 'shop',
        environment: 'staging',
        outcome: 'deployed',
        reason: '1.5.0 is newer than 1.4.0 (minor)',
        tag: '1.5.0',
        deploymentId: expect.any(String),
      },
      expect.objectContaining({ environment: 'qa', outcome: 'skipped' }),
      expect.objectContaining({ environment: 'production', outcome: 'skipped' }),
    ]);
    const staging = outcome?.targets[0];
    const record = await deployments.get(staging?.deploymentId as string);
    expect(record).toMatchObject({
      kind: 'deploy',
      requestedBy: { name: 'ecr-push', kind: 'system' },
      to: { digest: digest('b'), tag: '1.5.0' },
    });
    expect(updates('shop-staging')).toHaveLength(1);
    // And the audit trail has the deployment the push started, by ecr-push
    expect(await trail.entries()).toEqual([
      expect.objectContaining({
        source: 'automatic',
        actor: 'ecr-push',
        action: 'deployment.deploy',
        decision: 'allowed',
        target: { app: 'shop', environment: 'staging', deploymentId: staging?.deploymentId },
        outcome: {
          result: 'succeeded',
          code: 'IN_PROGRESS',
          detail: 'push of 1.5.0: 1.5.0 is newer than 1.4.0 (minor)',
        },
      }),
    ]);
  });

  it.each([
    ['an untagged push', push(undefined, digest('b')), 'untagged push (an image index, attestation or signature)'],
    [
      'an image of an image index, pushed untagged before the index (image-tag "")',
      sample('ecr.image-push.image-index-child.json'),
      'untagged push (an image index, attestation or signature)',
    ],
    ['a delete', sample('ecr.image-delete.json'), 'DELETE action'],
    ['a failed push', sample('ecr.image-push.failure.json'), 'the push failed'],
    [
      'a repository no app uses',
      push('1.5.0', digest('b'), { 'repository-name': 'someone-else' }),
      'no app uses repository 123456789012.dkr.ecr.us-east-1.amazonaws.com/someone-else',
    ],
  ])('ignores %s, saying why', async (_, event, reason) => {
    aws.images.set('1.5.0', digest('b'));
    const result = await onPush(event);
    expect(result).toEqual({ handled: true, result: { ignored: reason, targets: [] } });
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('makes one deployment per environment from one digest pushed under several tags, delivered twice', async () => {
    // Given 1.5.0 pushed as 1.5.0 and v1.5.0: two events, each delivered twice
    aws.images.set('1.5.0', digest('b'));
    aws.images.set('v1.5.0', digest('b'));
    for (const tag of ['1.5.0', 'v1.5.0', '1.5.0', 'v1.5.0']) await onPush(push(tag, digest('b')));

    // Then staging was updated once
    expect(updates('shop-staging')).toHaveLength(1);
  });

  it('skips a major bump under semver: minor, and a version not newer than what runs', async () => {
    aws.images.set('2.0.0', digest('7'));
    const major = await onPush(push('2.0.0', digest('7')));
    expect(major.handled && major.result.targets.find((target) => target.environment === 'staging')).toMatchObject({
      outcome: 'skipped',
    });
    aws.images.set('1.3.9', digest('6'));
    const older = await onPush(push('1.3.9', digest('6')));
    expect(older.handled && older.result.targets.find((target) => target.environment === 'staging')?.reason).toBe(
      '1.3.9 is not newer than 1.4.0 which runs',
    );
    expect(updates('shop-staging')).toHaveLength(0);
  });

  it('follows a moving tag with force: every new digest under latest deploys to qa', async () => {
    aws.images.set('latest', digest('e'));
    const result = await onPush(push('latest', digest('e')));
    expect(result.handled && result.result.targets.find((target) => target.environment === 'qa')).toMatchObject({
      outcome: 'deployed',
      tag: 'latest',
    });
    expect(updates('shop-qa')).toHaveLength(1);
  });

  it('sends an event it cannot read to the dead-letter queue with its id', async () => {
    const broken = sample('ecr.image-push.tagged.json');
    delete broken.detail['repository-name'];
    const result = await onPush(broken);
    expect(result).toMatchObject({ handled: false, deadLettered: true });
    const sent = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(sent?.QueueUrl).toBe(QUEUE);
    expect(sent?.MessageAttributes?.eventId?.StringValue).toBe(broken.id);
  });

  it('waits while another deployment holds the environment, then deploys it', async () => {
    // Given a deployment in flight in staging
    aws.images.set('1.4.2', digest('a'));
    aws.images.set('1.5.0', digest('b'));
    await deployments.request({
      app: 'shop',
      environment: 'staging',
      target: { kind: 'deploy', tag: '1.4.2' },
      requestedBy: { name: 'alice', kind: 'token' },
    });

    // When 1.5.0 is pushed, it waits
    const result = await onPush(push('1.5.0', digest('b')));
    expect(result.handled && result.result.targets[0]).toMatchObject({ environment: 'staging', outcome: 'waiting' });

    // And once the first deployment completed, the schedule deploys it
    await deployments.onEcsEvent(
      ecsDeploymentEvent.parse(
        aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: '2026-11-22T03:01:00Z' }),
      ),
      HOME,
    );
    clock = new Date('2026-11-22T03:02:00.000Z');
    const due = await releaseDue();
    expect(due.handled && due.result.released).toEqual([
      expect.objectContaining({ environment: 'staging', outcome: 'deployed', tag: '1.5.0' }),
    ]);
    expect(updates('shop-staging')).toHaveLength(2);
  });
});

describe('soak and scan gates', () => {
  it('deploys to production only after the soak time and a clean scan, and asks for approval', async () => {
    // Given 1.4.3 pushed at 03:00, under `semver: patch`, 30 minutes of soak and a scan gate
    aws.images.set('1.4.3', digest('f'));
    aws.pushedAt.set(digest('f'), new Date('2026-11-22T03:00:00Z'));
    const pushed = await onPush(push('1.4.3', digest('f')));
    expect(pushed.handled && pushed.result.targets.find((target) => target.environment === 'production')).toMatchObject(
      {
        outcome: 'waiting',
        reason: 'soaking until 2026-11-22T03:30:00.000Z and waiting for the image scan',
      },
    );

    // When the clean scan arrives at 03:05, it still soaks
    clock = new Date('2026-11-22T03:05:00.000Z');
    const clean = sample('ecr.image-scan.clean.json');
    clean.detail['image-digest'] = digest('f');
    const scanned = await onScan(clean);
    expect(scanned.handled && scanned.result.targets).toEqual([
      expect.objectContaining({ environment: 'production', outcome: 'waiting' }),
    ]);
    expect(updates('shop-prod')).toHaveLength(0);

    // And at 03:31 the schedule starts it, waiting for approval as production requires
    clock = new Date('2026-11-22T03:31:00.000Z');
    const due = await releaseDue();
    expect(due.handled && due.result.released).toEqual([
      expect.objectContaining({ environment: 'production', outcome: 'pending-approval', tag: '1.4.3' }),
    ]);
  });

  it('refuses a release whose scan is over the limits, recording the counts', async () => {
    aws.images.set('1.4.3', digest('f'));
    aws.pushedAt.set(digest('f'), new Date('2026-11-22T03:00:00Z'));
    await onPush(push('1.4.3', digest('f')));
    const findings = sample('ecr.image-scan.findings.json');
    findings.detail['image-digest'] = digest('f');
    const scanned = await onScan(findings);
    expect(scanned.handled && scanned.result.targets).toEqual([
      {
        app: 'shop',
        environment: 'production',
        outcome: 'refused',
        reason: 'the image scan found CRITICAL 1 > 0, HIGH 7 > 5',
        tag: '1.4.3',
      },
    ]);
    const stored = await new ReleaseStore(documents, `slipway-releases-test-${tables}`).forDigest(
      REPOSITORY,
      digest('f'),
    );
    expect(stored).toEqual([
      expect.objectContaining({
        state: 'REFUSED',
        reason: 'the image scan found CRITICAL 1 > 0, HIGH 7 > 5',
        scan: { counts: { CRITICAL: 1, HIGH: 7, MEDIUM: 9 }, at: expect.any(String) },
      }),
    ]);
    expect(
      sns.commandCalls(PublishCommand).map((call) => call.args[0].input.MessageAttributes?.type?.StringValue),
    ).toContain('release.refused');
    clock = new Date('2026-11-22T04:00:00.000Z');
    await releaseDue();
    expect(updates('shop-prod')).toHaveLength(0);
    // And the refusal is in the audit trail as denied, with the counts
    const refusals = (await trail.entries()).filter((entry) => entry.decision === 'denied');
    expect(refusals).toEqual([
      expect.objectContaining({
        actor: 'ecr-push',
        action: 'release.deploy',
        target: { app: 'shop', environment: 'production', repository: REPOSITORY, digest: digest('f'), tag: '1.4.3' },
        outcome: { result: 'refused', code: 'REFUSED', detail: 'the image scan found CRITICAL 1 > 0, HIGH 7 > 5' },
      }),
    ]);
  });

  it('refuses at once, recording the counts, a push whose scan already finished over the limits', async () => {
    // Given 1.4.3 whose scan ECR finished before the push event was handled
    aws.images.set('1.4.3', digest('f'));
    aws.scans.set(digest('f'), { HIGH: 6 });

    // When the push arrives, twice
    const first = await onPush(push('1.4.3', digest('f')));
    await onPush(push('1.4.3', digest('f')));

    // Then production refuses it, records it once with the counts, and deploys nothing
    expect(first.handled && first.result.targets.find((target) => target.environment === 'production')).toEqual({
      app: 'shop',
      environment: 'production',
      outcome: 'refused',
      reason: 'the image scan found HIGH 6 > 5',
      tag: '1.4.3',
    });
    const stored = await new ReleaseStore(documents, `slipway-releases-test-${tables}`).forDigest(
      REPOSITORY,
      digest('f'),
    );
    expect(stored).toEqual([
      expect.objectContaining({
        environment: 'production',
        state: 'REFUSED',
        scan: { counts: { HIGH: 6 }, at: expect.any(String) },
      }),
    ]);
    const refusals = sns
      .commandCalls(PublishCommand)
      .filter((call) => call.args[0].input.MessageAttributes?.type?.StringValue === 'release.refused');
    expect(refusals).toHaveLength(1);
    expect(updates('shop-prod')).toHaveLength(0);
  });

  it('releases a waiting push when enhanced scanning (Inspector2 Scan) finds it within the limits, TOTAL and UNTRIAGED aside', async () => {
    // Given 1.4.3 pushed at 03:00, waiting in production for its soak time and its scan
    aws.images.set('1.4.3', digest('f'));
    aws.pushedAt.set(digest('f'), new Date('2026-11-22T03:00:00Z'));
    await onPush(push('1.4.3', digest('f')));

    // When Amazon Inspector's first scan of it comes in at 03:31, its counts within the limits
    // (HIGH 5 of at most 5) but for TOTAL, which would be over them were it a severity
    clock = new Date('2026-11-22T03:31:00.000Z');
    const scanned = await onScan(inspectorScan(digest('f'), { HIGH: 5, MEDIUM: 12, UNTRIAGED: 4, TOTAL: 21 }));

    // Then production starts it, waiting for approval as production requires
    expect(scanned.handled && scanned.result.targets).toEqual([
      expect.objectContaining({ environment: 'production', outcome: 'pending-approval', tag: '1.4.3' }),
    ]);
    expect(await stored(digest('f'))).toEqual([expect.objectContaining({ state: 'DEPLOYED' })]);
  });

  it('refuses a waiting push whose Inspector2 Scan is over the limits, recording the counts without TOTAL', async () => {
    aws.images.set('1.4.3', digest('f'));
    aws.pushedAt.set(digest('f'), new Date('2026-11-22T03:00:00Z'));
    await onPush(push('1.4.3', digest('f')));

    // When the published example's counts come in: CRITICAL 7, HIGH 61, MEDIUM 62, TOTAL 158
    const scanned = await onScan(inspectorScan(digest('f')));

    expect(scanned.handled && scanned.result.targets).toEqual([
      {
        app: 'shop',
        environment: 'production',
        outcome: 'refused',
        reason: 'the image scan found CRITICAL 7 > 0, HIGH 61 > 5',
        tag: '1.4.3',
      },
    ]);
    expect(await stored(digest('f'))).toEqual([
      expect.objectContaining({
        state: 'REFUSED',
        scan: { counts: { CRITICAL: 7, HIGH: 61, MEDIUM: 62 }, at: expect.any(String) },
      }),
    ]);
    expect(updates('shop-prod')).toHaveLength(0);
  });

  it('takes enhanced scanning’s ACTIVE status as a result: refuses at once on its open findings', async () => {
    // Given 1.4.3, which Amazon Inspector already scanned: 6 open HIGH findings, one suppressed, two untriaged
    aws.images.set('1.4.3', digest('f'));
    aws.enhanced.set(digest('f'), [
      ...findings('HIGH', 6),
      ...findings('HIGH', 1, 'SUPPRESSED'),
      ...findings('UNTRIAGED', 2),
      ...findings('MEDIUM', 3),
    ]);

    // When the push arrives
    const pushed = await onPush(push('1.4.3', digest('f')));

    // Then production refuses it at once with the open findings' counts, instead of waiting for a scan
    expect(pushed.handled && pushed.result.targets.find((target) => target.environment === 'production')).toEqual({
      app: 'shop',
      environment: 'production',
      outcome: 'refused',
      reason: 'the image scan found HIGH 6 > 5',
      tag: '1.4.3',
    });
    expect(await stored(digest('f'))).toEqual([
      expect.objectContaining({ state: 'REFUSED', scan: { counts: { HIGH: 6, MEDIUM: 3 }, at: expect.any(String) } }),
    ]);
  });

  it('judges a tag on an image index by every image it lists: refused once one of them is over the limits', async () => {
    // Given 1.4.3 pushed at 03:00 as an image index of an amd64 and an arm64 image (and their attestations):
    // the amd64 image already scanned, the arm64 one not yet
    aws.images.set('1.4.3', INDEX_DIGEST);
    aws.indexes.set(INDEX_DIGEST, INDEX.images[0].imageManifest);
    aws.pushedAt.set(INDEX_DIGEST, new Date('2026-11-22T03:00:00Z'));
    aws.scans.set(AMD64, { HIGH: 2 });

    // When the index's push arrives, production waits for the scans
    const pushed = await onPush(indexPush('1.4.3'));
    expect(pushed.handled && pushed.result.targets.find((target) => target.environment === 'production')).toMatchObject(
      { outcome: 'waiting', reason: 'soaking until 2026-11-22T03:30:00.000Z and waiting for the image scan' },
    );
    // And the schedule reads the index (BatchGetImage) and, no scan event naming an index, looks again each minute
    clock = new Date('2026-11-22T03:01:00.000Z');
    const early = await releaseDue();
    expect(early.handled && early.result.released).toEqual([
      expect.objectContaining({ environment: 'production', outcome: 'waiting', reason: 'waiting for the image scan' }),
    ]);
    // (its exact request is test/unit/release/ecr-images.test.ts's; the fake answers only for an index media type)
    expect(aws.ecr).toHaveReceivedCommandWith(BatchGetImageCommand, { imageIds: [{ imageDigest: INDEX_DIGEST }] });
    expect(await stored(INDEX_DIGEST)).toEqual([expect.objectContaining({ dueAt: '2026-11-22T03:02:00.000Z' })]);

    // When the arm64 image's scan comes in, under its own digest, over the limits
    const childScan = sample('ecr.image-scan.findings.json');
    childScan.detail['image-digest'] = ARM64;
    childScan.detail['image-tags'] = [];
    childScan.detail['finding-severity-counts'] = { HIGH: 6 };
    aws.scans.set(ARM64, { HIGH: 6 });
    await onScan(childScan);
    clock = new Date('2026-11-22T03:32:00.000Z');
    const due = await releaseDue();

    // Then the index is refused with the worst counts among its images, as soon as the last one is scanned
    expect(due.handled && due.result.released).toEqual([
      {
        app: 'shop',
        environment: 'production',
        outcome: 'refused',
        reason: 'the image scan found HIGH 6 > 5',
        tag: '1.4.3',
      },
    ]);
    expect(await stored(INDEX_DIGEST)).toEqual([
      expect.objectContaining({ state: 'REFUSED', scan: { counts: { HIGH: 6 }, at: expect.any(String) } }),
    ]);
    expect(updates('shop-prod')).toHaveLength(0);
  });

  it('deploys a tag on an image index once every image it lists passed, basic and enhanced scans alike', async () => {
    // Given 1.4.3 as an image index whose amd64 image passed basic scanning and whose arm64 image enhanced scanning
    aws.images.set('1.4.3', INDEX_DIGEST);
    aws.indexes.set(INDEX_DIGEST, INDEX.images[0].imageManifest);
    aws.pushedAt.set(INDEX_DIGEST, new Date('2026-11-22T03:00:00Z'));
    aws.scans.set(AMD64, { HIGH: 5, LOW: 40 });
    aws.enhanced.set(ARM64, [...findings('HIGH', 4), ...findings('UNTRIAGED', 3)]);

    // When the push arrives, production has both results at once: it waits for the soak time only
    const pushed = await onPush(indexPush('1.4.3'));
    expect(pushed.handled && pushed.result.targets.find((target) => target.environment === 'production')).toMatchObject(
      { outcome: 'waiting', reason: 'soaking until 2026-11-22T03:30:00.000Z' },
    );

    // And the schedule runs once it is over
    clock = new Date('2026-11-22T03:31:00.000Z');
    const due = await releaseDue();

    // Then production starts it, waiting for approval, the index's digest the one deployed
    expect(due.handled && due.result.released).toEqual([
      expect.objectContaining({ environment: 'production', outcome: 'pending-approval', tag: '1.4.3' }),
    ]);
    const deploymentId = due.handled ? due.result.released[0]?.deploymentId : undefined;
    expect((await deployments.get(deploymentId as string)).to).toMatchObject({ digest: INDEX_DIGEST, tag: '1.4.3' });
  });

  it('refuses a release whose scan never comes, once the scan timeout has passed', async () => {
    aws.images.set('1.4.3', digest('f'));
    aws.pushedAt.set(digest('f'), new Date('2026-11-22T03:00:00Z'));
    await onPush(push('1.4.3', digest('f')));
    clock = new Date('2026-11-22T03:31:00.000Z');
    const due = await releaseDue();
    expect(due.handled && due.result.released).toEqual([
      {
        app: 'shop',
        environment: 'production',
        outcome: 'refused',
        reason: 'no image scan result within 20 minutes of the push',
        tag: '1.4.3',
      },
    ]);
  });
});

describe('registry webhooks', () => {
  const ecrFor = (region: string) => new ECRClient({ region });
  /** As the function resolves a tag: ECR through DescribeImages, others through the stand-in registries. */
  const throughRegistries = (repository: string, tag: string) => {
    if (ecrRepository(repository)) return resolveImage(ecrFor, repository, { tag }).then(({ digest }) => digest);
    if (repository.startsWith('docker.io/')) {
      return resolveDigest(repository.replace('docker.io', registryUrl), tag, { scheme: 'http' });
    }
    const [, name] = /^(?:registry\.example\.com|ghcr\.io)\/(.+)$/.exec(repository) ?? [];
    return resolveDigest(`${httpsRegistryHost}/${name}`, tag, { ca: tls.cert, timeoutMs: 3_000 });
  };
  const webhook = (
    options: {
      resolve?: (repository: string, tag: string, operation: { id: string; principal: string }) => Promise<string>;
      schemes?: Array<'slipway' | 'github'>;
    } = {},
  ) =>
    makeRegistryWebhook({
      audit: trail.audit,
      releases,
      deliveries: new DeliveryStore(documents, `slipway-releases-test-${tables}`),
      secret: async () => SECRET,
      schemes: options.schemes ?? ['slipway', 'github'],
      toleranceSeconds: 300,
      resolve: options.resolve ?? throughRegistries,
      now: () => clock,
    });
  const post = (body: string, headers: Record<string, string>) =>
    httpEvent('not-found', {
      method: 'POST',
      path: '/v1/webhooks/registry',
      routeKey: 'POST /v1/webhooks/registry',
      token: null,
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const signed = (body: string, options: { secret?: string; at?: number; header?: string | null } = {}) => {
    const at = options.at ?? Math.floor(clock.getTime() / 1000);
    const signature = createHmac('sha256', options.secret ?? SECRET)
      .update(`${at}.${body}`)
      .digest('hex');
    return post(
      body,
      options.header === null ? {} : { 'x-slipway-signature': options.header ?? `t=${at},sha256=${signature}` },
    );
  };
  /** As GitHub delivers: X-Hub-Signature-256 over the body, X-GitHub-Event and X-GitHub-Delivery. */
  const fromGitHub = (body: string, delivery: string) =>
    post(body, {
      'x-github-event': 'package',
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    });
  const parsed = (response: APIGatewayProxyStructuredResultV2) => ({
    status: response.statusCode,
    body: JSON.parse(response.body ?? 'null'),
  });
  const httpEntries = async () => (await trail.entries()).filter((entry) => entry.source === 'http');
  const generic = JSON.stringify({ repository: WEB_REPOSITORY, tag: 'build-42', digest: digest('9') });
  /** GitHub's package event (test/fixtures/webhooks), published at 2026-11-22T03:00:00Z, ten seconds before the clock. */
  const PACKAGE_EVENT = readFileSync('test/fixtures/webhooks/ghcr.package-published.json', 'utf8');
  const PACKAGE_DIGEST = 'sha256:9b2a6c1f0d4e8a7b3c5d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b';
  const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

  it('deploys a signed generic push whose tag the registry resolves to its digest, recorded as webhook:generic', async () => {
    // Given the registry (over https) has build-42 at the pushed digest
    httpsTags.set('team/shop-web:build-42', digest('9'));

    // When the signed push arrives
    const response = parsed(await webhook()(signed(generic), lambdaContext()));

    // Then it deploys that digest
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({
      accepted: true,
      digest: digest('9'),
      targets: [{ app: 'web', environment: 'staging', outcome: 'deployed', tag: 'build-42' }],
    });
    const record = await deployments.get(response.body.targets[0].deploymentId);
    expect(record.requestedBy).toEqual({ name: 'webhook:generic', kind: 'system' });
    // And the trail has the signed request, then the deployment it started
    // (at one instant of the test's clock, so in no particular order)
    const entries = await trail.entries();
    expect(entries.map(({ source, actor, action }) => [source, actor, action]).sort()).toEqual([
      ['automatic', 'webhook:generic', 'deployment.deploy'],
      ['http', 'webhook:generic', 'registryWebhook'],
    ]);
  });

  it('records in the audit entry who pushed what: registry, repository, tag, digest and scheme, never the signature', async () => {
    // Given an honest signed push
    httpsTags.set('team/shop-web:build-42', digest('9'));
    const event = signed(generic);

    // When it is received
    await webhook()(event, lambdaContext());

    // Then its entry names the push and how it was signed, and nothing of the signature
    const [entry] = await httpEntries();
    expect(entry).toMatchObject({
      actor: 'webhook:generic',
      action: 'registryWebhook',
      decision: 'allowed',
      target: {
        registry: 'generic',
        repository: WEB_REPOSITORY,
        tag: 'build-42',
        digest: digest('9'),
        scheme: 'slipway',
      },
      outcome: { result: 'succeeded', status: 202 },
    });
    const signature = (event.headers?.['x-slipway-signature'] ?? '').split('sha256=')[1] as string;
    expect(JSON.stringify(entry)).not.toContain(signature);
    expect(JSON.stringify(entry)).not.toContain(SECRET);
  });

  it('resolves a Docker Hub push, which names no digest, through the registry', async () => {
    const hub = JSON.parse(readFileSync('test/fixtures/webhooks/dockerhub.push.json', 'utf8'));
    hub.repository.repo_name = 'acme/shop-admin';
    hub.push_data.tag = 'main-7c1d';
    const response = parsed(await webhook()(signed(JSON.stringify(hub)), lambdaContext()));
    expect(response).toMatchObject({
      status: 202,
      body: {
        accepted: true,
        digest: digest('d'),
        targets: [{ app: 'admin', environment: 'staging', outcome: 'deployed' }],
      },
    });
  });

  it('names the tag lookup’s session after the release the push claims, else after the tag, with the registry as principal', async () => {
    // Given a registry that records what each lookup is asked as
    const asked: unknown[] = [];
    const recording = webhook({
      resolve: async (repository, tag, operation) => {
        asked.push(operation);
        return throughRegistries(repository, tag);
      },
    });
    httpsTags.set('team/shop-web:build-42', digest('9'));
    const hub = JSON.parse(readFileSync('test/fixtures/webhooks/dockerhub.push.json', 'utf8'));
    hub.repository.repo_name = 'acme/shop-admin';
    hub.push_data.tag = 'main-7c1d';

    // When a generic push naming its digest, then a Docker Hub push naming none, arrive
    await recording(signed(generic), lambdaContext());
    await recording(signed(JSON.stringify(hub)), lambdaContext());

    // Then the first is asked as its release, the second as its tag's lookup
    expect(asked).toEqual([
      { id: `release-${'9'.repeat(32)}`, principal: 'webhook:generic' },
      { id: 'webhook-main-7c1d', principal: 'webhook:dockerhub' },
    ]);
  });

  it.each([
    // Signed over the original body, delivered with another one.
    ['a tampered body', () => ({ ...signed(generic), body: generic.replace('build-42', 'build-43') })],
    ['a stale timestamp', () => signed(generic, { at: Math.floor(clock.getTime() / 1000) - 301 })],
    ['no signature', () => signed(generic, { header: null })],
    ['the wrong secret', () => signed(generic, { secret: 'not-the-secret-at-all' })],
  ])('refuses %s with 401 and deploys nothing', async (_, event) => {
    const response = parsed(await webhook()(event(), lambdaContext()));
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(response.body)).not.toContain(SECRET);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('answers 202 with the reason for a repository no app uses', async () => {
    const body = JSON.stringify({ repository: 'registry.example.com/other/thing', tag: '1.0.0', digest: digest('8') });
    const response = parsed(await webhook()(signed(body), lambdaContext()));
    expect(response).toEqual({
      status: 202,
      body: { accepted: false, reason: 'no app uses repository registry.example.com/other/thing' },
    });
  });

  describe("GitHub's scheme, which signs no time", () => {
    beforeEach(() => httpsTags.set('acme-corp/shop-backend:1.4.2', PACKAGE_DIGEST));

    it('deploys a package event once, and answers its redelivery 409, audited as denied', async () => {
      // Given GitHub's delivery of a published container version
      const first = parsed(await webhook()(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext()));
      expect(first).toMatchObject({
        status: 202,
        body: { accepted: true, targets: [{ app: 'packages', outcome: 'deployed', tag: '1.4.2' }] },
      });

      // When the same delivery comes again (a redelivery keeps its X-GitHub-Delivery)
      const again = parsed(await webhook()(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext()));

      // Then it is a conflict that says why, nothing more is deployed, and both entries name the delivery
      expect(again).toEqual({
        status: 409,
        body: {
          error: {
            code: 'CONFLICT',
            message: `delivery ${DELIVERY} was already received: a delivery is acted on once, and a redelivery keeps its X-GitHub-Delivery`,
            details: { deliveryId: DELIVERY },
          },
        },
      });
      expect(updates('packages-staging')).toHaveLength(1);
      // And the id is remembered for 400 days on the state table, with DynamoDB's TTL
      const { Item } = await documents.send(
        new GetCommand({ TableName: `slipway-releases-test-${tables}`, Key: deliveryKey(DELIVERY) }),
      );
      expect(Item).toMatchObject({
        type: 'delivery',
        receivedAt: clock.toISOString(),
        expiresAt: Math.floor(clock.getTime() / 1000) + DELIVERY_MEMORY_DAYS * 86_400,
      });
      const target = {
        registry: 'ghcr',
        repository: GHCR_REPOSITORY,
        tag: '1.4.2',
        digest: PACKAGE_DIGEST,
        deliveryId: DELIVERY,
        scheme: 'github',
      };
      expect(
        (await httpEntries()).map(({ actor, decision, target, outcome }) => ({ actor, decision, target, outcome })),
      ).toEqual(
        expect.arrayContaining([
          { actor: 'webhook:ghcr', decision: 'allowed', target, outcome: { result: 'succeeded', status: 202 } },
          {
            actor: 'webhook:ghcr',
            decision: 'denied',
            target,
            outcome: { result: 'refused', status: 409, code: 'CONFLICT', detail: again.body.error.message },
          },
        ]),
      );
    });

    it('starts at most one release from two concurrent deliveries of one id', async () => {
      // When GitHub's delivery arrives twice at once
      const answers = await Promise.all([
        webhook()(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext()),
        webhook()(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext()),
      ]);

      // Then one is taken and the other refused, and staging is updated once
      expect(answers.map((answer) => answer.statusCode).sort()).toEqual([202, 409]);
      expect(updates('packages-staging')).toHaveLength(1);
    });

    it('refuses the delivery replayed 25 hours later, past the release idempotency window, even under a new id', async () => {
      // Given the delivery was taken when it was fresh
      expect((await webhook()(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext())).statusCode).toBe(202);

      // When an attacker replays the captured body and signature a day and an hour later, with its id or another
      // (X-GitHub-Delivery is not signed)
      clock = new Date('2026-11-23T04:00:10.000Z');
      const replays = [
        parsed(await webhook()(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext())),
        parsed(await webhook()(fromGitHub(PACKAGE_EVENT, '0c1b7a6e-2f4d-4e8a-9b3c-5d6e7f8a9b0c'), lambdaContext())),
      ];

      // Then both are refused by the signed push time, and nothing deploys or waits
      for (const replay of replays) {
        expect(replay).toMatchObject({
          status: 401,
          body: {
            error: {
              message:
                'package.updated_at 2026-11-22T03:00:00.000Z is outside the 300 s tolerance; the delivery may be a replay',
            },
          },
        });
      }
      expect(updates('packages-staging')).toHaveLength(1);
      expect(await new ReleaseStore(documents, `slipway-releases-test-${tables}`).due(clock)).toEqual([]);
    });

    it('forgets a delivery that failed before it was acted on, so its redelivery is taken', async () => {
      // Given the registry cannot be reached for the first delivery
      const down = webhook({
        resolve: async () => {
          throw new Error('connection reset');
        },
      });
      expect((await down(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext())).statusCode).toBe(500);

      // When GitHub's redelivery comes with the registry back
      const redelivered = parsed(await webhook()(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext()));

      // Then it is taken
      expect(redelivered).toMatchObject({ status: 202, body: { accepted: true } });
    });

    it('refuses a package event GitHub signed when webhooks.schemes leaves github out', async () => {
      const response = parsed(
        await webhook({ schemes: ['slipway'] })(fromGitHub(PACKAGE_EVENT, DELIVERY), lambdaContext()),
      );

      expect(response).toMatchObject({
        status: 401,
        body: {
          error: { message: 'X-Hub-Signature-256 is not accepted: webhooks.schemes allows X-Slipway-Signature only' },
        },
      });
      expect(updates('packages-staging')).toHaveLength(0);
    });
  });

  describe('tags the registry itself must confirm', () => {
    it('refuses a signed push labelling an old ECR digest 9.9.9, and takes tags from ECR only', async () => {
      // Given staging (semver: minor) runs 1.4.0, and ECR has an old image 1.3.0 and no 9.9.9
      aws.images.set('1.3.0', digest('0'));
      const lie = JSON.stringify({ repository: REPOSITORY, tag: '9.9.9', digest: digest('0') });

      // When the signing key's holder announces the old digest as 9.9.9
      const response = parsed(await webhook()(signed(lie), lambdaContext()));

      // Then ECR does not confirm the tag: refused with the reason, audited as denied, nothing deployed
      expect(response).toMatchObject({
        status: 422,
        body: { error: { code: 'UNPROCESSABLE', message: 'repository shop-backend has no image with tag 9.9.9' } },
      });
      expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
      expect(await httpEntries()).toEqual([
        expect.objectContaining({
          actor: 'webhook:generic',
          decision: 'denied',
          target: { registry: 'generic', repository: REPOSITORY, tag: '9.9.9', digest: digest('0'), scheme: 'slipway' },
          outcome: { result: 'refused', status: 422, code: 'UNPROCESSABLE', detail: response.body.error.message },
        }),
      ]);
    });

    it('refuses a signed push whose ECR tag is on another digest', async () => {
      aws.images.set('1.3.0', digest('0'));
      aws.images.set('1.5.0', digest('b'));
      const lie = JSON.stringify({ repository: REPOSITORY, tag: '1.5.0', digest: digest('0') });

      const response = parsed(await webhook()(signed(lie), lambdaContext()));

      expect(response).toMatchObject({
        status: 422,
        body: {
          error: {
            message: `${REPOSITORY}:1.5.0 is ${digest('b')} in ECR, not the pushed ${digest('0')}: the push is refused`,
          },
        },
      });
      expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    });

    it('judges an ECR push by the tags ECR has for the digest, never the tags the push names', async () => {
      // Given an old digest ECR tags 1.3.0
      aws.images.set('1.3.0', digest('0'));

      // When a push names it 1.9.9, a minor bump staging's policy would take (what a signed webhook could say)
      const outcome = await releases.onPush({
        source: 'webhook:generic',
        repository: REPOSITORY,
        digest: digest('0'),
        tags: ['1.9.9'],
      });

      // Then staging's semver policy judges 1.3.0, and nothing deploys
      expect(outcome.targets.find((target) => target.environment === 'staging')).toEqual({
        app: 'shop',
        environment: 'staging',
        outcome: 'skipped',
        reason: '1.3.0 is not newer than 1.4.0 which runs',
      });
      expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    });

    it('ignores an ECR push of a digest ECR does not have', async () => {
      const outcome = await releases.onPush({
        source: 'webhook:generic',
        repository: REPOSITORY,
        digest: digest('5'),
        tags: ['9.9.9'],
      });

      expect(outcome).toEqual({ ignored: `ECR has no image sha256:555555555555… in ${REPOSITORY}`, targets: [] });
    });

    it('refuses a signed push whose tag the https registry resolves to another digest', async () => {
      // Given the registry has 9.9.9 at another digest than the push names
      httpsTags.set('team/shop-web:9.9.9', digest('7'));
      const lie = JSON.stringify({ repository: WEB_REPOSITORY, tag: '9.9.9', digest: digest('2') });

      // When the push arrives
      const response = parsed(await webhook()(signed(lie), lambdaContext()));

      // Then it is refused with both digests, audited as denied, and nothing deploys
      expect(response).toMatchObject({
        status: 422,
        body: {
          error: {
            message: `${WEB_REPOSITORY}:9.9.9 is ${digest('7')} in the registry, not the pushed ${digest('2')}: the push is refused`,
            details: { repository: WEB_REPOSITORY, tag: '9.9.9', digest: digest('2'), resolved: digest('7') },
          },
        },
      });
      expect(updates('web-staging')).toHaveLength(0);
      expect(await httpEntries()).toEqual([
        expect.objectContaining({ decision: 'denied', outcome: expect.objectContaining({ status: 422 }) }),
      ]);
    });

    it('refuses a signed push whose tag the https registry does not have', async () => {
      const lie = JSON.stringify({ repository: WEB_REPOSITORY, tag: '9.9.9', digest: digest('2') });

      const response = parsed(await webhook()(signed(lie), lambdaContext()));

      expect(response).toMatchObject({
        status: 422,
        body: { error: { message: `${httpsRegistryHost}/team/shop-web has no tag 9.9.9` } },
      });
      expect((await httpEntries())[0]).toMatchObject({ decision: 'denied' });
      expect(updates('web-staging')).toHaveLength(0);
    });
  });
});
