import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DescribeServicesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { createS3Client } from '../../lib/aws/clients/s3';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { createSnsClient } from '../../lib/aws/clients/sns';
import { Archives } from '../../lib/backup/archives';
import type { SlipwayConfig } from '../../lib/config/schema';
import { Deployments } from '../../lib/deploy/deployments';
import { ecsDeploymentEvent as ecsEventSchema } from '../../lib/deploy/outcome';
import type { DeploymentRecord, Requester } from '../../lib/deploy/records';
import type { DeadLetters } from '../../lib/events/dead-letter';
import { AlarmResponder } from '../../lib/health/alarm-responder';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureBackupBucket } from '../../lib/local/provision';
import { notificationPublisher } from '../../lib/notify/notifications';
import type { Publisher } from '../../lib/notify/publisher';
import { Releases } from '../../lib/release/releases';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import { DeploymentStore } from '../../lib/store/deployments';
import { dynamoDbIdempotency, type Idempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { ReleaseStore } from '../../lib/store/releases';
import { workerDepsFromEnv } from '../../lib/worker/deps';
import { type JobOutcome, runJob, type WorkerJobDeps } from '../../lib/worker/jobs';
import type { LaunchTarget, WorkerJob, WorkerLauncher } from '../../lib/worker/launch';
import { postgresTools } from '../../lib/worker/postgres';
import { auditOn } from './audit';
import { resetMoto } from './moto';
import {
  createNetwork,
  createRepository,
  createService,
  ec2Client,
  ecsDeploymentEvent,
  type Network,
  pushImage,
  REGION,
  registerTaskDefinition,
} from './moto-aws';
import { createStateTable, resourcesFragment } from './resources';

/**
 * A worked example's system on this machine, for its integration flows: AWS on moto (a fresh one per file), the
 * control plane's state table, topic and use cases wired as the functions wire them but given the example's own
 * config, the example's ECS services seeded from its task definitions, a worker launcher that runs jobs in this
 * process, and the HTTP servers its config points at (health endpoints, Slack) on 127.0.0.1.
 */

export const HOME = { account: '123456789012', region: REGION };

export interface ExampleControlPlane {
  env: Record<string, string>;
  stage: string;
  table: string;
  topicArn: string;
  documents: DynamoDBDocumentClient;
  ecs: ECSClient;
  deployments: Deployments;
  /** Pushes as releases, and alarm state changes as rollbacks, on the same deployments. */
  releases: Releases;
  alarms: AlarmResponder;
  idempotency: Idempotency;
  publisher: Publisher;
  trail: ReturnType<typeof auditOn>;
  network: Network;
}

/**
 * A fresh moto at `endpoint` holding the control plane of `stage`: its state table, its notifications topic, the
 * Slack webhook URL in the secret config names (when `slackUrl` is given), and the deploy use case on them.
 */
export async function exampleControlPlane(options: {
  endpoint: string;
  config: SlipwayConfig;
  stage: string;
  slackUrl?: string;
  now?: () => Date;
}): Promise<ExampleControlPlane> {
  const { endpoint, config, stage } = options;
  await resetMoto(endpoint);
  const env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION };
  const table = `slipway-${stage}-state`;
  const dynamo = createDynamoDbClient(env);
  await createStateTable(dynamo, table);
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const sns = createSnsClient(env);
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `slipway-${stage}-notifications` }));
  const secretsManager = createSecretsManagerClient(env);
  const slackWebhookSecret = config.notifications.slackWebhookSecret;
  if (slackWebhookSecret && options.slackUrl) {
    await secretsManager.send(new CreateSecretCommand({ Name: slackWebhookSecret, SecretString: options.slackUrl }));
  }
  const publisher = notificationPublisher({ sns, topicArn: TopicArn, secretsManager, slackWebhookSecret });
  const trail = auditOn(documents, table, options.now);
  const ecs = createEcsClient(env);
  const ports = {
    ecsFor: () => ecs,
    ecrFor: (region: string) => createEcrClient({ ...env, AWS_REGION: region }),
    publisher,
    audit: trail.audit,
    ...(options.now ? { now: options.now } : {}),
  };
  const deployments = new Deployments({
    config,
    stage,
    store: new DeploymentStore(documents, table),
    locks: new EnvironmentLocks(documents, table),
    ...ports,
  });
  const idempotency = dynamoDbIdempotency(documents, table);
  return {
    env,
    stage,
    table,
    topicArn: TopicArn as string,
    documents,
    ecs,
    deployments,
    releases: new Releases({ config, deployments, store: new ReleaseStore(documents, table), idempotency, ...ports }),
    alarms: new AlarmResponder({
      config,
      stage,
      deployments,
      idempotency,
      publisher,
      ...(options.now ? { now: options.now } : {}),
    }),
    idempotency,
    publisher,
    trail,
    network: await createNetwork(ec2Client(env), `${stage}-services`),
  };
}

/**
 * What the example's team had before Slipway: for each app its ECR repository with `tags` pushed (their digests
 * returned), and each environment's service running the first, registered from the example's task definition.
 */
export async function seedApp(
  plane: ExampleControlPlane,
  config: SlipwayConfig,
  app: string,
  options: {
    tags: string[];
    /** The task definition an environment's service runs, with `image`. */
    registration: (image: string, environment: string) => Parameters<typeof registerTaskDefinition>[1];
  },
): Promise<{ digests: Record<string, string>; running: Record<string, string> }> {
  const appConfig = config.apps[app];
  if (!appConfig) throw new Error(`the example has no app ${app}`);
  const ecr = createEcrClient(plane.env);
  const repositoryName = appConfig.repository.split('/').slice(1).join('/');
  await createRepository(ecr, repositoryName);
  const digests: Record<string, string> = {};
  for (const tag of options.tags) digests[tag] = await pushImage(ecr, repositoryName, tag, `${app} ${tag}`);
  const first = options.tags[0] as string;
  const running: Record<string, string> = {};
  for (const [environment, env] of Object.entries(appConfig.environments)) {
    const taskDefinitionArn = await registerTaskDefinition(
      plane.ecs,
      options.registration(`${appConfig.repository}@${digests[first]}`, environment),
    );
    // CreateCluster of a name that exists answers that cluster (ECS API Reference, CreateCluster), so another
    // app's service in a cluster already made (total-recall's nginx beside its api) is seeded as the first.
    await createService(plane.ecs, {
      cluster: env.cluster,
      service: env.service,
      taskDefinitionArn,
      network: plane.network,
    });
    running[environment] = taskDefinitionArn;
  }
  return { digests, running };
}

/** ECS's completion event for the service's deployment, built from what moto reports, delivered to Slipway. */
export async function completeDeployment(plane: ExampleControlPlane, cluster: string, service: string) {
  const event = ecsEventSchema.parse(
    await ecsDeploymentEvent(plane.ecs, cluster, service, 'SERVICE_DEPLOYMENT_COMPLETED'),
  );
  return plane.deployments.onEcsEvent(event, HOME);
}

/** A request of the deploy use case that must not be a dry run: its record. */
export async function requested(
  plane: ExampleControlPlane,
  request: Parameters<Deployments['request']>[0],
): Promise<DeploymentRecord> {
  const outcome = await plane.deployments.request(request);
  if (outcome.dryRun) throw new Error('not a dry run');
  return outcome.deployment;
}

export const person = (name: string): Requester => ({ name, kind: 'token' });

/** What moto's service says it runs: revision and desired count. */
export async function serviceState(plane: ExampleControlPlane, cluster: string, service: string) {
  const described = (await plane.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }))).services?.[0];
  return { taskDefinition: described?.taskDefinition, desiredCount: described?.desiredCount };
}

/**
 * The worker's launcher, in this process: the jobs Slipway starts (a volume function's or the worker task's) are
 * kept, and `runQueued` runs them as the worker runs them (lib/worker/jobs.ts), in the order they were started.
 */
export function inProcessWorker(): {
  launcher: WorkerLauncher;
  started: Array<{ job: WorkerJob; target: LaunchTarget }>;
  runQueued: (deps: WorkerJobDeps) => Promise<JobOutcome[]>;
} {
  const started: Array<{ job: WorkerJob; target: LaunchTarget }> = [];
  let tasks = 0;
  return {
    started,
    launcher: {
      launch: async (job, target) => {
        started.push({ job, target });
        if (target.runner !== 'ecs') return {};
        tasks += 1;
        return {
          taskArn: `arn:aws:ecs:${HOME.region}:${HOME.account}:task/slipway-workers/${String(tasks).padStart(32, '0')}`,
        };
      },
    },
    runQueued: async (deps) => {
      const outcomes: JobOutcome[] = [];
      for (const { job } of started.splice(0)) outcomes.push(await runJob(job, deps));
      return outcomes;
    },
  };
}

/**
 * The example's backups on moto: the backup bucket made as resources/backup-bucket.yml makes it, the archive use
 * case (dumps and volume archives, their restores and drills) starting jobs on `worker`, and the worker's
 * dependencies as its task builds them from its environment alone, its volumes under `work`/mnt/<volume> and its
 * scratch disk `work`/scratch (both made by the caller).
 */
export async function exampleBackups(
  plane: ExampleControlPlane,
  options: {
    config: SlipwayConfig;
    bucket: string;
    launcher: WorkerLauncher;
    work: string;
    now: () => Date;
    pgBinDir?: string;
  },
): Promise<{ s3: S3Client; archives: () => Archives; workerDeps: () => WorkerJobDeps }> {
  const { config, bucket, launcher, work, now } = options;
  const s3 = createS3Client(plane.env);
  const resource = resourcesFragment('resources/backup-bucket.yml').BackupBucket as CloudFormationResource;
  await ensureBackupBucket(s3, bucket, resource, () => undefined);
  return {
    s3,
    archives: () =>
      new Archives({
        config,
        store: new BackupStore(plane.documents, plane.table),
        restores: new RestoreStore(plane.documents, plane.table),
        s3,
        bucket,
        launcher,
        ecs: plane.ecs,
        publisher: plane.publisher,
        audit: plane.trail.audit,
        now,
      }),
    workerDeps: () => ({
      ...workerDepsFromEnv({
        ...plane.env,
        STATE_TABLE: plane.table,
        NOTIFICATIONS_TOPIC_ARN: plane.topicArn,
        SLIPWAY_VOLUME_ROOT: join(work, 'mnt'),
        ...(options.pgBinDir ? { SLIPWAY_PG_BIN_DIR: options.pgBinDir } : {}),
      }),
      scratchRoot: join(work, 'scratch'),
      postgres: postgresTools,
      now,
    }),
  };
}

/** An HTTP server on 127.0.0.1 answering each path with what `answer` says now; every request is recorded. */
export async function localServer(
  answer: (path: string, body: string) => { status: number; body?: unknown },
): Promise<{ url: string; received: Array<{ path: string; body: string }>; close: () => Promise<void> }> {
  const received: Array<{ path: string; body: string }> = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = request.url ?? '/';
      received.push({ path, body });
      const { status, body: answered } = answer(path, body);
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(answered === undefined ? '' : JSON.stringify(answered));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

/** A dead-letter queue that must stay empty: the flows of an example deliver only events Slipway takes. */
export const noDeadLetters: DeadLetters = {
  send: async () => {
    throw new Error('no event of an example is dead-lettered');
  },
};

/** AWS's sample of an ECR push (events/ecr.image-push.tagged.json), for `tag` with `digest` in this account's `repositoryName`. */
export function ecrPushEvent(repositoryName: string, tag: string, digest: string) {
  const event = JSON.parse(readFileSync('events/ecr.image-push.tagged.json', 'utf8'));
  event.id = `push-${tag}`;
  event.time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  event.detail = { ...event.detail, 'repository-name': repositoryName, 'image-digest': digest, 'image-tag': tag };
  return event;
}

/** AWS's sample of an alarm state change (events/cloudwatch.alarm-state-change.json) for `alarmName`, at `at`. */
export function alarmStateEvent(alarmName: string, state: string, previous: string, at: Date) {
  const event = JSON.parse(readFileSync('events/cloudwatch.alarm-state-change.json', 'utf8'));
  // CloudWatch writes the state's timestamp with milliseconds and +0000 (the published sample's form).
  const timestamp = at.toISOString().replace('Z', '+0000');
  event.time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  event.resources = [`arn:aws:cloudwatch:${HOME.region}:${HOME.account}:alarm:${alarmName}`];
  event.detail.alarmName = alarmName;
  event.detail.state = { ...event.detail.state, value: state, timestamp };
  event.detail.previousState = { ...event.detail.previousState, value: previous };
  return event;
}
