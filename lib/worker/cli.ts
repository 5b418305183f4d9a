import { parseArgs } from 'node:util';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createClient } from '../aws/clients';
import { SlipwayError } from '../errors';
import { registerSecretValue } from '../observability';
import {
  backupPostgres,
  connectionFromSecret,
  connectionFromUrl,
  type PgConnection,
  restorePostgres,
} from './postgres';
import { backupVolume, restoreVolume, type VolumeCompression } from './volume';

/**
 * `slipway-worker`: the backup worker's command line, the same module the Lambda and the ECS
 * task run. Each command prints one JSON line with what it did on stdout; progress and errors go
 * to stderr. Every S3 and Secrets Manager call honours AWS_ENDPOINT_URL.
 */

export const USAGE = `usage:
  slipway-worker backup-volume --dir DIR --bucket B --prefix P [--compression gzip|zstd]
  slipway-worker restore-volume --bucket B --manifest KEY --dir TARGET [--force]
  slipway-worker backup-postgres (--url URL | --secret SECRET_ID) --bucket B --prefix P
  slipway-worker restore-postgres --bucket B --manifest KEY (--url URL | --secret SECRET_ID) [--force]`;

export class UsageError extends Error {}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  dir: { type: 'string' },
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  manifest: { type: 'string' },
  url: { type: 'string' },
  secret: { type: 'string' },
  compression: { type: 'string' },
  force: { type: 'boolean' },
} as const;

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

async function connection(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<PgConnection> {
  const url = values.url as string | undefined;
  const secret = values.secret as string | undefined;
  if ((url === undefined) === (secret === undefined)) throw new UsageError('give exactly one of --url or --secret');
  if (url) return connectionFromUrl(url);
  const { SecretString } = await createClient.secretsManager(env).send(new GetSecretValueCommand({ SecretId: secret }));
  if (!SecretString) throw new UsageError(`secret ${secret} has no string value`);
  registerSecretValue(SecretString);
  return connectionFromSecret(SecretString);
}

/** Runs one command; resolves with the process exit code (0 done, 1 failed, 2 usage). */
export async function main(
  argv: string[],
  io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`), env: process.env },
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false });
    const s3 = createClient.s3(io.env);
    let lastReport = 0;
    const onProgress = (progress: { files: number; bytes: number }) => {
      const now = Date.now();
      if (now - lastReport < 1_000) return;
      lastReport = now;
      io.err(`${command}: ${progress.files} files, ${progress.bytes} bytes`);
    };
    let result: Record<string, unknown>;
    switch (command) {
      case 'backup-volume': {
        const compression = (values.compression ?? 'gzip') as VolumeCompression;
        if (compression !== 'gzip' && compression !== 'zstd') throw new UsageError('--compression is gzip or zstd');
        result = {
          ...(await backupVolume({
            dir: required(values, 'dir'),
            s3,
            bucket: required(values, 'bucket'),
            prefix: required(values, 'prefix'),
            compression,
            onProgress,
          })),
        };
        break;
      }
      case 'restore-volume':
        result = {
          ...(await restoreVolume({
            s3,
            bucket: required(values, 'bucket'),
            manifestKey: required(values, 'manifest'),
            target: required(values, 'dir'),
            force: values.force === true,
            onProgress,
          })),
        };
        break;
      case 'backup-postgres':
        result = {
          ...(await backupPostgres({
            connection: await connection(values, io.env),
            s3,
            bucket: required(values, 'bucket'),
            prefix: required(values, 'prefix'),
          })),
        };
        break;
      case 'restore-postgres':
        result = {
          ...(await restorePostgres({
            connection: await connection(values, io.env),
            s3,
            bucket: required(values, 'bucket'),
            manifestKey: required(values, 'manifest'),
            force: values.force === true,
          })),
        };
        break;
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'a command is required');
    }
    io.out(JSON.stringify({ command, ...result }));
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`slipway-worker: ${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    // Slipway's own errors carry a message meant for people; anything else is named, not dumped.
    const message =
      error instanceof SlipwayError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    io.err(`slipway-worker ${command}: ${message}`);
    return 1;
  }
}
