import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { createS3Client } from '../../lib/aws/clients/s3';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureBackupBucket } from '../../lib/local/provision';
import { motoEndpoint, resetMoto } from '../support/moto';
import { REGION } from '../support/moto-aws';
import { psql, startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';
import { resourcesFragment } from '../support/resources';
import { buildTree, snapshot } from '../support/trees';
import { runWorker } from '../support/worker';

/**
 * The backup worker's round trips with S3 and Secrets Manager on moto instead of s3rver: `slipway-worker`
 * as the worker task runs it, a volume archived and restored, a PostgreSQL database dumped and restored
 * into another one on a throwaway cluster, its credentials read from Secrets Manager.
 */

const BUCKET = 'slipway-moto-backups';
const MiB = 1024 * 1024;

let endpoint: string;
let work: string;
let s3: S3Client;
let cluster: ThrowawayPostgres;

interface Run {
  code: number | null;
  result: Record<string, unknown>;
  stderr: string;
}

/** `slipway-worker …` with every AWS call to moto, and the one JSON line it ends with (run-job's log lines come before it). */
async function worker(args: string[]): Promise<Run> {
  const run = await runWorker(args, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  const last = run.stdout.trim().split('\n').at(-1);
  let result: Record<string, unknown>;
  try {
    result = last ? JSON.parse(last) : {};
  } catch {
    result = { unparsed: run.stdout };
  }
  return { code: run.code, result, stderr: `${run.stderr}${run.stdout}` };
}

beforeAll(async () => {
  // Given the backup bucket as resources/backup-bucket.yml defines it, on moto
  endpoint = motoEndpoint();
  await resetMoto(endpoint);
  work = await mkdtemp(join(tmpdir(), 'slipway-moto-worker-'));
  s3 = createS3Client({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION });
  const bucket = resourcesFragment('resources/backup-bucket.yml').BackupBucket as CloudFormationResource;
  const reported: string[] = [];
  await ensureBackupBucket(s3, BUCKET, bucket, (line) => reported.push(line));
  // moto takes every setting the bucket has: none is reported as unsupported
  expect(reported).toEqual([`bucket ${BUCKET}: created`]);
});

afterAll(async () => {
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('slipway-worker with S3 and Secrets Manager on moto', () => {
  it('archives a volume in a multipart upload and restores the same tree', async () => {
    // Given a volume with nested directories, modes, a symlink, an empty file and 20 MiB that does not compress
    const source = await buildTree(work, [
      { path: 'uploads', directory: true, mode: 0o755 },
      { path: 'uploads/avatar.bin', content: randomBytes(20 * MiB), mode: 0o640 },
      { path: 'uploads/readme.txt', content: 'shop uploads\n', mode: 0o644 },
      { path: 'uploads/empty', content: '', mode: 0o600 },
      { path: 'uploads/latest', linkTo: 'avatar.bin' },
      { path: 'cache', directory: true, mode: 0o700 },
      { path: 'run.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    ]);

    // When it is archived, then restored elsewhere
    const backup = await worker([
      'backup-volume',
      '--dir',
      source,
      '--bucket',
      BUCKET,
      '--prefix',
      'volumes/shop-uploads',
    ]);
    expect(backup).toMatchObject({ code: 0, result: { command: 'backup-volume' } });
    const target = join(work, 'restored-volume');
    const restored = await worker([
      'restore-volume',
      '--bucket',
      BUCKET,
      '--manifest',
      backup.result.manifestKey as string,
      '--dir',
      target,
    ]);

    // Then the restored tree is the archived one, byte for byte, mode for mode
    expect(restored).toMatchObject({ code: 0, result: { command: 'restore-volume', files: backup.result.files } });
    expect(await snapshot(target)).toEqual(await snapshot(source));
    // And the archive went up in parts, none left open, in a versioned bucket
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'volumes/shop-uploads/' }));
    expect(versions.Versions?.map((version) => version.Key).sort()).toEqual(
      [backup.result.archiveKey, backup.result.manifestKey].sort(),
    );
    expect(versions.Versions?.every((version) => version.VersionId && version.VersionId !== 'null')).toBe(true);
    const archive = versions.Versions?.find((version) => version.Key === backup.result.archiveKey);
    // A multipart upload's ETag is the MD5 of the parts' MD5s, then "-" and the number of parts (S3 User Guide, "Checking object integrity").
    expect(archive?.ETag).toMatch(/^"[0-9a-f]{32}-([2-9]|\d{2,})"$/);
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(open.Uploads ?? []).toEqual([]);
  });

  it('dumps a database with credentials from Secrets Manager and restores it into another one', async () => {
    // Given a throwaway PostgreSQL cluster with a shop database, and its credentials in Secrets Manager (the RDS secret format)
    cluster = await startThrowawayPostgres();
    const { connection } = cluster;
    const sql = (dbname: string, query: string) => psql(cluster, dbname, query);
    await sql('postgres', 'CREATE DATABASE shop');
    await sql(
      'shop',
      "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, cents int); INSERT INTO orders (item, cents) SELECT 'item ' || n, n * 7 FROM generate_series(1, 5000) n; CREATE INDEX orders_item ON orders (item)",
    );
    const secrets = createSecretsManagerClient({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION });
    const secretFor = async (name: string, dbname: string) => {
      await secrets.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: JSON.stringify({
            engine: 'postgres',
            host: connection.host,
            port: connection.port,
            username: connection.username,
            password: connection.password,
            dbname,
          }),
        }),
      );
    };
    await secretFor('shop/db-dump', 'shop');
    await secretFor('shop/db-restore', 'shop_restored');

    // When it is dumped, then restored into a new database
    const dump = await worker([
      'backup-postgres',
      '--secret',
      'shop/db-dump',
      '--bucket',
      BUCKET,
      '--prefix',
      'dumps/shop-db',
    ]);
    expect(dump).toMatchObject({ code: 0, result: { command: 'backup-postgres' } });
    const restore = await worker([
      'restore-postgres',
      '--bucket',
      BUCKET,
      '--manifest',
      dump.result.manifestKey as string,
      '--secret',
      'shop/db-restore',
    ]);

    // Then the new database holds every row and index of the source, and the password appeared nowhere
    expect(restore).toMatchObject({ code: 0, result: { command: 'restore-postgres', database: 'shop_restored' } });
    const fingerprint = (dbname: string) =>
      sql(
        dbname,
        "SELECT count(*) || ' ' || md5(string_agg(o::text, ',' ORDER BY id)) || ' ' || (SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public') FROM orders o",
      );
    expect(await fingerprint('shop_restored')).toBe(await fingerprint('shop'));
    expect(await fingerprint('shop')).toMatch(/^5000 [0-9a-f]{32} orders_item,orders_pkey$/);
    for (const run of [dump, restore])
      expect(`${JSON.stringify(run.result)}${run.stderr}`).not.toContain(connection.password);
  });

  it('drills the newest dump and archive with no control plane, then prunes the archives by the retention plan', async () => {
    // Given the dump and the archive above, and a second, newer archive of the same volume
    const source = await buildTree(work, [
      { path: 'uploads', directory: true, mode: 0o755 },
      { path: 'uploads/later.txt', content: 'a later upload\n', mode: 0o644 },
    ]);
    const newer = await worker([
      'backup-volume',
      '--dir',
      source,
      '--bucket',
      BUCKET,
      '--prefix',
      'volumes/shop-uploads',
    ]);
    expect(newer).toMatchObject({ code: 0 });

    // When each is drilled, as a systemd timer would run them
    const dumpDrill = await worker([
      'drill-postgres',
      '--bucket',
      BUCKET,
      '--prefix',
      'dumps/shop-db',
      '--secret',
      'shop/db-dump',
    ]);
    const volumeDrill = await worker(['drill-volume', '--bucket', BUCKET, '--prefix', 'volumes/shop-uploads']);

    // Then both restore, verify and time the newest backup, and leave no scratch database behind
    expect(dumpDrill).toMatchObject({ code: 0, result: { command: 'drill-postgres', ok: true } });
    expect(dumpDrill.result.recoverySeconds).toEqual(expect.any(Number));
    expect(
      await psql(cluster, 'postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'slipway_drill_%'"),
    ).toBe('0');
    expect(volumeDrill).toMatchObject({
      code: 0,
      result: { command: 'drill-volume', ok: true, manifest: newer.result.manifestKey, files: 1 },
    });

    // When the archives are pruned to one daily backup
    const pruned = await worker([
      'prune',
      '--bucket',
      BUCKET,
      '--prefix',
      'volumes/shop-uploads',
      '--retention',
      'daily=1,weekly=0,monthly=0',
    ]);

    // Then only the newer archive is listed in the versioned bucket; the older one's objects are gone
    expect(pruned).toMatchObject({ code: 0, result: { command: 'prune' } });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'volumes/shop-uploads/' }));
    expect(listed.Contents?.map((object) => object.Key).sort()).toEqual(
      [newer.result.archiveKey, newer.result.manifestKey].sort(),
    );
  });
});
