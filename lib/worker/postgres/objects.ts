import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UpstreamFailed } from '../../errors';
import { logger } from '../../observability';

// S3 objects: whether one is there, and removing one a failed dump left

export const isNotFound = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'NotFound' ||
    error.name === 'NoSuchKey' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw new UpstreamFailed(`could not read s3://${bucket}/${key}`, { cause: error });
  }
}

export async function deleteQuietly(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    // No manifest points at it, so a leftover object is never restored; it only costs storage.
    logger.warn('could not delete the object of a failed dump', { bucket, key, error });
  }
}
