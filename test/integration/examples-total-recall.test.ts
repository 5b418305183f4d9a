import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeDBSnapshotsCommand, type RDSClient } from '@aws-sdk/client-rds';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { makeHandler as makeScaleEnvironment } from '../../functions/http/scale-environment';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import type { Archives } from '../../lib/backup/archives';
import { Backups } from '../../lib/backup/backups';
import { planRetention, type RetentionPolicy } from '../../lib/backup/retention';
import type { SlipwayConfig } from '../../lib/config/schema';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import type { WorkerJobDeps } from '../../lib/worker/jobs';
import {
  completeDeployment,
  type ExampleControlPlane,
  exampleBackups,
  exampleControlPlane,
  HOME,
  inProcessWorker,
  localServer,
  person,
  requested,
  seedApp,
  serviceState,
} from '../support/example-systems';
import { exampleStage, exampleTaskDefinition, loadExample } from '../support/examples';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { motoEndpoint } from '../support/moto';
import { createNetwork, createPostgresInstance, ec2Client, rdsSnapshotCreatedEvent } from '../support/moto-aws';
import { psql, startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';
import { snapshot } from '../support/trees';

/**
 * total-recall (examples/total-recall) run on Slipway as its runbook says, from the example's own config and task
 * definitions: the api deployed to staging by digest and promoted to production after an approval, production scaled
 * to 3 tasks over HTTP and rolled back, on moto's ECS; the nightly RDS snapshot on moto's RDS and its 7-day
 * retention; the nightly pg_dump of a real PostgreSQL cluster to S3 (moto), restored into a new database and drilled;
 * the uploads volume archived to S3, restored beside itself and drilled. Only the endpoints point at this machine.
 */

const EXAMPLE = 'total-recall';
const STAGE = exampleStage(EXAMPLE);
const API = 'total-recall-api';
const BUCKET = `slipway-${STAGE}-backups`;
const BUILDS = ['2026.11.30', '2026.12.06'];

let config: SlipwayConfig;
let plane: ExampleControlPlane;
let clock: Date;
let work: string;
let postgres: ThrowawayPostgres;
let rds: RDSClient;
let archives: () => Archives;
let workerDeps: () => WorkerJobDeps;
let seeded: { digests: Record<string, string>; running: Record<string, string> };
let slack: Awaited<ReturnType<typeof localServer>>;
const worker = inProcessWorker();

const now = () => clock;
const sql = (dbname: string, query: string) => psql(postgres, dbname, query);

beforeAll(async () => {
  clock = new Date('2026-12-06T09:00:00.000Z');
  work = await mkdtemp(join(tmpdir(), 'slipway-total-recall-'));
  slack = await localServer(() => ({ status: 200 }));
  postgres = await startThrowawayPostgres();
  // Given the example's config as the team copies it; nothing in it needs to point at this machine
  config = loadExample(EXAMPLE);
  plane = await exampleControlPlane({
    endpoint: motoEndpoint(),
    config,
    stage: STAGE,
    slackUrl: `${slack.url}/services/T0TOTAL/B0RECALL/slack-stand-in`,
    now,
  });

  // And the api and nginx services of both clusters, from the example's task definitions, running the first build
  seeded = await seedApp(plane, config, API, {
    tags: BUILDS,
    registration: (image, environment) =>
      exampleTaskDefinition(EXAMPLE, 'api.task-definition.json', { api: image }, environment),
  });
  await seedApp(plane, config, 'total-recall-nginx', {
    tags: ['1.27.3'],
    registration: (image, environment) =>
      exampleTaskDefinition(EXAMPLE, 'nginx.task-definition.json', { nginx: image }, environment),
  });

  // And the RDS instance, encrypted with the key the config names, in its own subnets
  rds = createRdsClient(plane.env);
  const network = await createNetwork(ec2Client(plane.env), 'total-recall-db');
  await createPostgresInstance(rds, network, {
    identifier: 'total-recall-production',
    subnetGroup: 'total-recall-db',
    username: 'recall',
    instanceClass: 'db.t4g.small',
    kmsKeyId: config.databases['total-recall-db']?.kmsKeyArn,
  });

  // And the database the dumps read (the PostgreSQL test cluster), its credentials where the config says, in the
  // RDS secret format; the backup bucket; and the uploads volume as the api tasks wrote it
  await sql('postgres', 'create database total_recall');
  await sql(
    'total_recall',
    `create table memories (id serial primary key, owner text not null, body text, upload text);
     insert into memories (owner, body, upload) select 'user ' || (g % 50), repeat('remember ', g % 20), 'u/' || g || '.jpg'
       from generate_series(1, 3000) g;
     create index memories_owner on memories (owner);`,
  );
  await createSecretsManagerClient(plane.env).send(
    new CreateSecretCommand({
      Name: config.databases['total-recall-db']?.dump?.credentialsSecret,
      SecretString: JSON.stringify({ engine: 'postgres', ...postgres.connection, dbname: 'total_recall' }),
    }),
  );
  ({ archives, workerDeps } = await exampleBackups(plane, {
    config,
    bucket: BUCKET,
    launcher: worker.launcher,
    work,
    now,
    pgBinDir: postgres.binDir,
  }));
  await mkdir(join(work, 'scratch'));
  const uploads = join(work, 'mnt', 'total-recall-uploads');
  await mkdir(join(uploads, 'u', 'avatars'), { recursive: true });
  await writeFile(join(uploads, 'u', '1.jpg'), Buffer.alloc(48_000, 1));
  await writeFile(join(uploads, 'u', 'avatars', 'ada.png'), Buffer.alloc(9_000, 2), { mode: 0o640 });
  await writeFile(join(uploads, 'README'), 'user uploads\n');
}, 120_000);

afterAll(async () => {
  await Promise.all([postgres?.stop(), slack?.close()]);
  await rm(work, { recursive: true, force: true });
});

describe('total-recall: deploy, promote, scale and roll back the api', () => {
  it('deploys a build to staging by digest, and promotes exactly that digest to production once approved', async () => {
    // When CI deploys the second build to staging by its digest, and ECS completes it
    const digest = seeded.digests[BUILDS[1] as string] as string;
    const staging = await requested(plane, {
      app: API,
      environment: 'staging',
      target: { kind: 'deploy', digest },
      requestedBy: person('ci'),
    });
    expect(staging.state).toBe('IN_PROGRESS');
    expect(await serviceState(plane, 'total-recall-staging', 'api')).toMatchObject({
      taskDefinition: staging.to.taskDefinitionArn,
    });
    expect(await completeDeployment(plane, 'total-recall-staging', 'api')).toMatchObject({ applied: true });

    // And the team promotes staging to production
    const promotion = await requested(plane, {
      app: API,
      environment: 'production',
      target: { kind: 'promote' },
      requestedBy: person('alice'),
    });

    // Then production waits for one approval, and runs staging's digest once a lead approves
    expect(promotion).toMatchObject({ state: 'PENDING_APPROVAL', to: { digest } });
    expect((await serviceState(plane, 'total-recall-production', 'api')).taskDefinition).toBe(
      seeded.running.production,
    );
    const approved = await plane.deployments.approve(promotion.id, person('bob'));
    expect(approved.state).toBe('IN_PROGRESS');
    expect(await completeDeployment(plane, 'total-recall-production', 'api')).toMatchObject({ applied: true });
    expect(await plane.deployments.get(promotion.id)).toMatchObject({ state: 'SUCCEEDED', to: { digest } });
    expect((await serviceState(plane, 'total-recall-production', 'api')).taskDefinition).toBe(
      approved.to.taskDefinitionArn,
    );
    // And the team's Slack channel heard of each outcome
    expect(slack.received.length).toBeGreaterThanOrEqual(3);
  });

  it('scales production to 3 tasks through POST .../scale, and refuses more than maxDesiredCount', async () => {
    // Given the route as deployed, a deployer's token
    const tokens = memoryTokenSource();
    const scale = makeScaleEnvironment({
      tokens: tokens.source,
      audit: plane.trail.audit,
      deployments: plane.deployments,
      idempotency: plane.idempotency,
    });
    const ask = async (desiredCount: number) =>
      (await scale(
        httpEvent('not-found', {
          method: 'POST',
          path: `/v1/apps/${API}/environments/production/scale`,
          routeKey: 'POST /v1/apps/{app}/environments/{env}/scale',
          pathParameters: { app: API, env: 'production' },
          token: tokens.tokens.deployer,
          body: { desiredCount, reason: 'three replicas, as before the move' },
        }),
        lambdaContext(),
      )) as APIGatewayProxyStructuredResultV2;

    // When 3 tasks are asked for
    const scaled = await ask(3);

    // Then ECS is told 3, and the revision is the one running
    expect(scaled.statusCode).toBe(202);
    expect(await serviceState(plane, 'total-recall-production', 'api')).toMatchObject({ desiredCount: 3 });

    // When 7 are asked for, above the example's maxDesiredCount of 6, then it is refused naming the limit
    const over = await ask(7);
    expect(over.statusCode).toBe(422);
    expect(JSON.parse(String(over.body)).error.message).toBe(
      `desiredCount 7 is above the maximum of 6 configured for ${API}/production`,
    );
    expect(await serviceState(plane, 'total-recall-production', 'api')).toMatchObject({ desiredCount: 3 });
  });

  it('rolls production back to the build it ran before the promotion', async () => {
    // When the team rolls production back
    const rollback = await requested(plane, {
      app: API,
      environment: 'production',
      target: { kind: 'rollback' },
      requestedBy: person('alice'),
    });

    // Then the first build's revision runs again
    expect(rollback).toMatchObject({
      kind: 'rollback',
      to: { taskDefinitionArn: seeded.running.production, digest: seeded.digests[BUILDS[0] as string] },
    });
    expect((await serviceState(plane, 'total-recall-production', 'api')).taskDefinition).toBe(
      seeded.running.production,
    );
  });
});

describe('total-recall: the nightly backups of the database and the uploads', () => {
  it('snapshots the RDS instance on its schedule, and deletes a snapshot the day already has a newer one of', async () => {
    // moto stamps a snapshot with the time it is made: the clock follows this machine's here
    const backups = new Backups({
      config,
      store: new BackupStore(plane.documents, plane.table),
      rdsFor: () => rds,
      region: HOME.region,
      backupBucket: BUCKET,
      publisher: plane.publisher,
      audit: plane.trail.audit,
      now,
    });
    // Given two snapshots of the day, a minute apart, each completed by RDS's event
    const taken = [];
    for (const minutes of [0, 1]) {
      clock = new Date(Date.now() + minutes * 60_000);
      const snapshot = await backups.take('total-recall-db', 'schedule');
      expect(snapshot).toMatchObject({ status: 'CREATING', kind: 'rds-snapshot' });
      const event = await rdsSnapshotCreatedEvent(rds, snapshot.snapshotIdentifier as string);
      expect(await backups.onSnapshotEvent(event as never, HOME)).toMatchObject({ applied: true });
      taken.push({ id: snapshot.id, identifier: snapshot.snapshotIdentifier });
    }

    // Then retention, which runs when a snapshot completes, kept the day's newest as its daily and deleted the other
    const { DBSnapshots } = await rds.send(
      new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'total-recall-production', SnapshotType: 'manual' }),
    );
    expect(DBSnapshots?.map((each) => each.DBSnapshotIdentifier)).toEqual([taken[1]?.identifier]);
    const store = new BackupStore(plane.documents, plane.table);
    expect(await store.get(taken[0]?.id as string)).toMatchObject({ status: 'DELETED' });
    expect(await store.get(taken[1]?.id as string)).toMatchObject({ status: 'AVAILABLE' });
  });

  it("keeps seven nights of snapshots under the example's retention, as `find -mtime +7 -delete` did", () => {
    // Given nine nightly snapshots at 02:00, as RDS lists them
    const nights = Array.from({ length: 9 }, (_, index) => ({
      id: `slipway-total-recall-db-202611${String(index + 1).padStart(2, '0')}0200`,
      createdAt: `2026-11-${String(index + 1).padStart(2, '0')}T02:00:07.000Z`,
      status: 'available',
      createdBySlipway: true,
      region: HOME.region,
    }));

    // When retention decides on the morning after the ninth, with the example's policy
    const decision = planRetention(
      nights,
      config.databases['total-recall-db']?.retention as RetentionPolicy,
      new Date('2026-11-09T08:00:00.000Z'),
    );

    // Then the seven newest stay and the two oldest go
    expect(decision.keep.map(({ snapshot }) => snapshot.id)).toEqual(
      nights
        .slice(2)
        .reverse()
        .map((night) => night.id),
    );
    expect(decision.delete.map(({ snapshot }) => snapshot.id)).toEqual(
      nights
        .slice(0, 2)
        .reverse()
        .map((night) => night.id),
    );
  });

  it('dumps the database to S3 with the worker, restores it into a new database, and drills it', async () => {
    clock = new Date('2026-12-06T02:30:00.000Z');
    const jobs = archives();

    // When the 02:30 schedule dumps it
    const dump = await jobs.take({ database: 'total-recall-db' }, 'schedule');
    expect(worker.started.map(({ target }) => target.runner)).toEqual(['ecs']);
    expect(await worker.runQueued(workerDeps())).toEqual([{ id: dump.id, status: 'AVAILABLE' }]);

    // And the dump is restored into total_recall_restored, as `slipway restore --database … --dump` asks
    clock = new Date('2026-12-06T10:00:00.000Z');
    const restore = await jobs.restore({
      subject: { database: 'total-recall-db' },
      target: { database: 'total_recall_restored' },
      force: false,
      requestedBy: 'alice',
    });
    expect(await worker.runQueued(workerDeps())).toEqual([{ id: restore.id, status: 'AVAILABLE' }]);

    // Then the restored database holds every row
    const fingerprint = "select count(*) || ' ' || md5(string_agg(m::text, ',' order by id)) from memories m";
    expect(await sql('total_recall_restored', fingerprint)).toBe(await sql('total_recall', fingerprint));

    // When the Sunday drill runs, then it restores into a scratch database, verifies it and drops it
    const drill = await jobs.drill({ database: 'total-recall-db' });
    expect(await worker.runQueued(workerDeps())).toEqual([{ id: drill.id, status: 'AVAILABLE' }]);
    expect(await sql('postgres', "select count(*) from pg_database where datname like 'slipway_drill_%'")).toBe('0');
  });

  it('archives the uploads volume to S3, restores it beside itself byte for byte, and drills it', async () => {
    clock = new Date('2026-12-06T03:00:00.000Z');
    const jobs = archives();
    const uploads = join(work, 'mnt', 'total-recall-uploads');
    const before = await snapshot(uploads);

    // When the 03:00 schedule archives it, in the volume's function
    const archive = await jobs.take({ volume: 'total-recall-uploads' }, 'schedule');
    expect(worker.started.map(({ target }) => target)).toEqual([{ runner: 'lambda', volume: 'total-recall-uploads' }]);
    expect(await worker.runQueued(workerDeps())).toEqual([{ id: archive.id, status: 'AVAILABLE' }]);

    // And it is restored into restored-1, as `slipway restore --volume … --target-path restored-1` asks
    clock = new Date('2026-12-06T11:00:00.000Z');
    const restore = await jobs.restore({
      subject: { volume: 'total-recall-uploads' },
      target: { path: 'restored-1' },
      force: false,
      requestedBy: 'alice',
    });
    expect(await worker.runQueued(workerDeps())).toEqual([{ id: restore.id, status: 'AVAILABLE' }]);

    // Then the restored tree is the archived one
    expect(await snapshot(join(uploads, 'restored-1'))).toEqual(before);

    // When the Sunday drill runs, then it restores onto the worker's own disk, verifies it and removes it
    const drill = await jobs.drill({ volume: 'total-recall-uploads' });
    expect(await worker.runQueued(workerDeps())).toEqual([{ id: drill.id, status: 'AVAILABLE' }]);
    expect(await new RestoreStore(plane.documents, plane.table).get(drill.id)).toMatchObject({
      status: 'AVAILABLE',
      deletedAt: expect.any(String),
    });
  });
});
