import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/aws/clients/s3';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureBackupBucket } from '../../lib/local/provision';
import { type EmbeddedServer, startS3rver } from '../../lib/local/servers';
import { resourcesFragment } from './resources';

/** A work directory and s3rver in it, holding `bucket` made as resources/backup-bucket.yml makes the backup bucket. */
export interface BackupBucketPlace {
  work: string;
  server: EmbeddedServer;
  s3: S3Client;
}

export async function startBackupBucket(prefix: string, bucket: string): Promise<BackupBucketPlace> {
  const work = await mkdtemp(join(tmpdir(), prefix));
  const server = await startS3rver(join(work, 's3'));
  const s3 = createS3Client({ AWS_ENDPOINT_URL_S3: server.endpoint, AWS_REGION: 'us-east-1' });
  const resource = resourcesFragment('resources/backup-bucket.yml').BackupBucket as CloudFormationResource;
  await ensureBackupBucket(s3, bucket, resource, () => undefined);
  return { work, server, s3 };
}

export async function stopBackupBucket(place: Partial<BackupBucketPlace>): Promise<void> {
  place.s3?.destroy();
  await place.server?.close();
  if (place.work) await rm(place.work, { recursive: true, force: true });
}

/** The same, started before the file's tests and stopped after them; its fields are set once they start. */
export function useBackupBucket(prefix: string, bucket: string): BackupBucketPlace {
  const place = {} as BackupBucketPlace;
  beforeAll(async () => {
    Object.assign(place, await startBackupBucket(prefix, bucket));
  });
  afterAll(() => stopBackupBucket(place));
  return place;
}
