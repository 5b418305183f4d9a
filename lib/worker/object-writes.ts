import type { VaultPlacement } from '../backup/records';

/**
 * What every request writing an archive, a dump or a manifest carries, by where it goes. Into the vault bucket:
 *
 * - a CRC32 checksum, which S3 requires of every put into a bucket with Object Lock ("The Content-MD5 or
 *   x-amz-checksum-* header is required for any request to upload an object with a retention period configured
 *   using Amazon S3 Object Lock", Amazon S3 API Reference, PutObject), asked for here rather than left to the
 *   client's default, which an endpoint setting may turn off (lib/aws/client-config.ts);
 * - the vault account as the bucket's expected owner (Amazon S3 User Guide, "Verifying bucket ownership with bucket
 *   owner condition"): a bucket of that name in any other account, were the vault's ever deleted and its name
 *   taken, is refused rather than sent the backups.
 *
 * No lock headers: the bucket's default retention locks each version (lib/events/member-account/vault-bucket.ts), as
 * the vault account decides, so the worker's credentials choose no date, and need no s3:PutObjectRetention, which the
 * bucket policy denies. No ACL: the bucket enforces bucket-owner ownership, so the vault account owns what is written.
 */
export interface WriteParameters {
  ChecksumAlgorithm?: 'CRC32';
  ExpectedBucketOwner?: string;
}

export function writeParameters(vault: VaultPlacement | undefined): WriteParameters {
  if (!vault) return {};
  return { ChecksumAlgorithm: 'CRC32', ExpectedBucketOwner: vault.accountId };
}

/** What a read or an abort carries: only the owner check (a checksum is for what is sent). */
export function ownerParameters(vault: VaultPlacement | undefined): { ExpectedBucketOwner?: string } {
  return vault ? { ExpectedBucketOwner: vault.accountId } : {};
}
