import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { VaultPlacement } from '../../backup/records';
import { Conflict, SlipwayError, Unprocessable, UpstreamFailed } from '../../errors';
import { logger, registerSecretValue } from '../../observability';
import { ObjectTooLarge, PartUploader, type PartUploaderOptions, STREAM_PART_PLAN } from '../multipart';
import { writeParameters } from '../object-writes';
import { label, type PgConnection } from './connection';
import { backupTimestamp, keyUnder, MANIFEST_FORMAT, type PostgresManifest } from './manifest';
import { deleteQuietly, objectExists } from './objects';
import {
  collectTail,
  describeExit,
  dumpArgs,
  exitedCleanly,
  pgCommand,
  scrubbedTail,
  start,
  waitForExit,
} from './tools';
import { serverVersion, toolVersion } from './versions';

// Backup: pg_dump's output streamed to S3 through a hash, then the manifest that names it

export interface DumpResult {
  dumpKey: string;
  manifestKey: string;
  bytes: number;
  sha256: string;
  serverVersion: string;
  pgDumpVersion: string;
  durationMs: number;
}

export class DumpFailed extends SlipwayError {
  constructor(message: string, options?: ConstructorParameters<typeof SlipwayError>[3]) {
    super('DUMP_FAILED', 502, message, options);
  }
}

// Whatever is in the last part is uploaded after pg_dump exits: 8 MiB first parts keep that tail short
// and four in flight (32 MiB) keep pg_dump's pipe drained; larger parts go two at a time, so the buffers
// hold twice the part size (256 MiB around 100 GiB, 2 GiB past 794 GiB: raise worker.memory for those).
export const DUMP_UPLOAD: PartUploaderOptions = { plan: STREAM_PART_PLAN, queueSize: 4, bufferBytes: 32 * 1024 * 1024 };

export async function backupPostgres(options: {
  connection: PgConnection;
  s3: S3Client;
  bucket: string;
  prefix: string;
  now?: () => Date;
  binDir?: string;
  /** How the dump is cut into parts; the default grows them so a dump up to S3's 5 TiB fits. */
  upload?: PartUploaderOptions;
  /** The bucket is the vault: written as one (lib/worker/object-writes.ts), never deleted from. */
  vault?: VaultPlacement;
}): Promise<DumpResult> {
  const { connection, s3, bucket, binDir, vault } = options;
  registerSecretValue(connection.password);
  const started = performance.now();
  const createdAt = (options.now ?? (() => new Date()))();
  const timestamp = backupTimestamp(createdAt);
  const dumpKey = keyUnder(options.prefix, `${timestamp}.dump`);
  const manifestKey = keyUnder(options.prefix, `${timestamp}.manifest.json`);
  const what = `dump of ${label(connection)}`;
  const runOptions = { binDir, failure: DumpFailed, what };

  // Independent reads: together they cost one round trip instead of three.
  const [alreadyStored, server, pgDump] = await Promise.all([
    objectExists(s3, bucket, manifestKey),
    serverVersion(connection, runOptions),
    toolVersion('pg_dump', connection, runOptions),
  ]);
  // Two backups in one second would otherwise put one dump under the other's manifest.
  if (alreadyStored) throw new Conflict(`a backup already exists at s3://${bucket}/${manifestKey}`);
  // pg_dump refuses a newer server anyway, with a message that does not say what to do.
  if (pgDump.majorNum < server.majorNum) {
    throw new Unprocessable(
      `pg_dump ${pgDump.display} is older than the server (${server.display}); install pg_dump ${server.major} or later`,
    );
  }

  const { bytes, sha256 } = await streamDump({
    connection,
    s3,
    bucket,
    dumpKey,
    binDir,
    what,
    upload: options.upload ?? DUMP_UPLOAD,
    vault,
  });

  const manifest: PostgresManifest = {
    format: MANIFEST_FORMAT,
    createdAt: createdAt.toISOString(),
    database: connection.dbname,
    host: connection.host,
    port: connection.port,
    serverVersion: server.display,
    pgDumpVersion: pgDump.display,
    dumpKey,
    bytes,
    sha256,
    dumpFormat: 'custom',
  };
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: manifestKey,
        Body: `${JSON.stringify(manifest, null, 2)}\n`,
        ContentType: 'application/json',
        ...writeParameters(vault),
      }),
    );
  } catch (error) {
    await removeUnlisted(s3, bucket, dumpKey, vault);
    throw new UpstreamFailed(`could not write the manifest s3://${bucket}/${manifestKey}`, { cause: error });
  }

  const durationMs = Math.round(performance.now() - started);
  logger.info('postgres dump stored', {
    bucket,
    dumpKey,
    manifestKey,
    bytes,
    sha256,
    host: connection.host,
    database: connection.dbname,
    durationMs,
  });
  return {
    dumpKey,
    manifestKey,
    bytes,
    sha256,
    serverVersion: server.display,
    pgDumpVersion: pgDump.display,
    durationMs,
  };
}

/** A dump no manifest names is removed, except from the vault, whose lifecycle rule expires it: Slipway never deletes there. */
async function removeUnlisted(s3: S3Client, bucket: string, key: string, vault: VaultPlacement | undefined) {
  if (vault) {
    logger.warn('a failed dump is left in the vault bucket for its lifecycle rule', { bucket, key });
    return;
  }
  await deleteQuietly(s3, bucket, key);
}

/**
 * pg_dump's stdout → SHA-256 and byte count → a multipart upload. The object is completed only
 * once pg_dump has exited 0; a failed dump aborts the upload instead, so S3 never holds an object
 * from it (and the delete after is for an object left by anything else).
 */
async function streamDump(options: {
  connection: PgConnection;
  s3: S3Client;
  bucket: string;
  dumpKey: string;
  binDir: string | undefined;
  what: string;
  upload: PartUploaderOptions;
  vault: VaultPlacement | undefined;
}): Promise<{ bytes: number; sha256: string }> {
  const { connection, s3, bucket, dumpKey, what, vault } = options;
  const command = pgCommand('pg_dump', dumpArgs(), connection, options.binDir ? { binDir: options.binDir } : {});
  const child = start(command);
  const stderr = collectTail(child.stderr);
  const exited = waitForExit(child);

  const upload = new PartUploader(
    s3,
    { bucket, key: dumpKey, contentType: 'application/octet-stream', ...(vault ? { vault } : {}) },
    options.upload,
  );
  const hash = createHash('sha256');
  let bytes = 0;
  let uploadError: unknown;
  const streamed = (async () => {
    try {
      // Left open on a failed write: pg_dump is stopped by SIGTERM, not by a broken pipe it would report as its own failure.
      for await (const chunk of (child.stdout as Readable).iterator({ destroyOnReturn: false })) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).byteLength;
        await upload.write(chunk as Buffer);
      }
    } catch (error) {
      uploadError = error;
      // pg_dump would block on a full pipe that nobody reads any more.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  })();

  const exit = await exited;
  await streamed;
  if (exitedCleanly(exit) && uploadError === undefined) {
    try {
      await upload.finish();
      return { bytes, sha256: hash.digest('hex') };
    } catch (error) {
      uploadError = error;
    }
  }

  const tail = scrubbedTail(stderr(), connection.password);
  try {
    await upload.abort();
  } catch (error) {
    // S3 removes the parts of an abandoned upload by the bucket's lifecycle rule; nothing completes it.
    logger.warn('could not abort the upload of a failed dump', { bucket, key: dumpKey, error });
  }
  await removeUnlisted(s3, bucket, dumpKey, vault);
  if (uploadError instanceof ObjectTooLarge) {
    throw new ObjectTooLarge(`${what}: ${uploadError.message}`);
  }
  if (uploadError !== undefined && (exitedCleanly(exit) || exit.signal === 'SIGTERM')) {
    throw new UpstreamFailed(`${what}: could not upload s3://${bucket}/${dumpKey}`, {
      cause: uploadError,
      details: { bytes },
    });
  }
  throw new DumpFailed(`${what}: ${describeExit('pg_dump', exit, tail)}`, {
    details: { exitCode: exit.code, signal: exit.signal, stderr: tail, bytes },
  });
}
