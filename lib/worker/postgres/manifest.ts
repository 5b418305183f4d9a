import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod/mini';
import { Unprocessable, UpstreamFailed } from '../../errors';
import { isNotFound } from './objects';

// The manifest beside each dump: its format, the keys both are stored under, and reading it back checked

export const MANIFEST_FORMAT = 'slipway-postgres-manifest/1';

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  createdAt: z.string(),
  database: z.string(),
  host: z.string(),
  port: z.int(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  dumpKey: z.string(),
  bytes: z.int().check(z.nonnegative()),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  dumpFormat: z.literal('custom'),
});
export type PostgresManifest = z.infer<typeof manifestSchema>;

/** 2026-11-22T03:00:00.123Z → 20261122T030000Z */
export const backupTimestamp = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export const keyUnder = (prefix: string, name: string) => {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed ? `${trimmed}/${name}` : name;
};

export async function readManifest(s3: S3Client, bucket: string, key: string): Promise<PostgresManifest> {
  let text: string;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await response.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (isNotFound(error)) throw new Unprocessable(`manifest ${key} is missing`);
    throw new UpstreamFailed(`could not read the manifest s3://${bucket}/${key}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Unprocessable(`manifest ${key} is not JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new Unprocessable(`manifest ${key} is not a ${MANIFEST_FORMAT} manifest`);
  return parsed.data;
}
