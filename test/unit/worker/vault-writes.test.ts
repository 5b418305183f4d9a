import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { PartUploader, S3_MAX_OBJECT_SIZE, S3_MAX_PARTS } from '../../../lib/worker/multipart';
import { ownerParameters, writeParameters } from '../../../lib/worker/object-writes';

/**
 * What the worker's writes carry into the vault bucket (backups.vaultBucket): the checksum S3 requires of a put into
 * an Object Lock bucket ("The Content-MD5 or x-amz-checksum-* header is required for any request to upload an object
 * with a retention period configured using Amazon S3 Object Lock", Amazon S3 API Reference, PutObject), and the vault
 * account as the expected bucket owner; and no lock header, no ACL. Into the backup bucket, nothing more than before.
 */

const VAULT = { accountId: '444444444444', region: 'eu-west-1' };
const TARGET = {
  bucket: 'slipway-prod-vault',
  key: 'dumps/shop-db/bkp-1/shop-db.dump',
  contentType: 'application/octet-stream',
};
const PART = 1024;
const options = {
  plan: {
    firstPartSize: PART,
    doubleEvery: S3_MAX_PARTS,
    maxPartSize: PART,
    maxParts: S3_MAX_PARTS,
    maxObjectSize: S3_MAX_OBJECT_SIZE,
  },
  queueSize: 2,
  bufferBytes: PART * 2,
};

const s3mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'eu-west-1' });

beforeEach(() => {
  s3mock.reset();
  s3mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3mock
    .on(UploadPartCommand)
    .callsFake((input) => ({ ETag: `"etag-${input.PartNumber}"`, ChecksumCRC32: `crc-${input.PartNumber}` }));
  s3mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"whole"' });
  s3mock.on(PutObjectCommand).resolves({ ETag: '"single"' });
  s3mock.on(AbortMultipartUploadCommand).resolves({});
});

describe('writeParameters', () => {
  it('given the vault, then a CRC32 checksum and the vault account as owner, and no lock or ACL header', () => {
    // when
    const parameters = writeParameters(VAULT);

    // then
    expect(parameters).toEqual({ ChecksumAlgorithm: 'CRC32', ExpectedBucketOwner: '444444444444' });
    expect(ownerParameters(VAULT)).toEqual({ ExpectedBucketOwner: '444444444444' });
  });

  it('given the backup bucket, then nothing is added', () => {
    expect(writeParameters(undefined)).toEqual({});
    expect(ownerParameters(undefined)).toEqual({});
  });
});

describe('PartUploader into the vault', () => {
  it('given less than a part, when finished, then one checksummed PutObject naming the vault account as owner', async () => {
    // given
    const upload = new PartUploader(s3, { ...TARGET, vault: VAULT }, options);

    // when
    await upload.write(Buffer.alloc(300, 1));
    await upload.finish();

    // then
    expect(s3mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input)).toEqual([
      {
        Bucket: TARGET.bucket,
        Key: TARGET.key,
        Body: expect.any(Buffer),
        ContentType: TARGET.contentType,
        ChecksumAlgorithm: 'CRC32',
        ExpectedBucketOwner: '444444444444',
      },
    ]);
  });

  it('given two and a half parts, when finished, then every request names the owner, parts are checksummed and the completion lists their checksums', async () => {
    // given
    const upload = new PartUploader(s3, { ...TARGET, vault: VAULT }, options);

    // when
    await upload.write(Buffer.alloc(PART * 2 + PART / 2, 2));
    await upload.finish();

    // then
    expect(s3mock.commandCalls(CreateMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      {
        Bucket: TARGET.bucket,
        Key: TARGET.key,
        ContentType: TARGET.contentType,
        ChecksumAlgorithm: 'CRC32',
        ExpectedBucketOwner: '444444444444',
      },
    ]);
    for (const call of s3mock.commandCalls(UploadPartCommand)) {
      expect(call.args[0].input).toMatchObject({ ChecksumAlgorithm: 'CRC32', ExpectedBucketOwner: '444444444444' });
    }
    expect(s3mock.commandCalls(CompleteMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      {
        Bucket: TARGET.bucket,
        Key: TARGET.key,
        UploadId: 'upload-1',
        ExpectedBucketOwner: '444444444444',
        MultipartUpload: {
          Parts: [1, 2, 3].map((PartNumber) => ({
            PartNumber,
            ETag: `"etag-${PartNumber}"`,
            ChecksumCRC32: `crc-${PartNumber}`,
          })),
        },
      },
    ]);
  });

  it('given a failed part, when aborted, then the abort names the vault account as owner', async () => {
    // given
    s3mock.on(UploadPartCommand).rejects(new Error('slow down'));
    const upload = new PartUploader(s3, { ...TARGET, vault: VAULT }, options);

    // when
    await upload.write(Buffer.alloc(PART, 3)).catch(() => undefined);
    await upload.abort();

    // then
    expect(s3mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: TARGET.bucket, Key: TARGET.key, UploadId: 'upload-1', ExpectedBucketOwner: '444444444444' },
    ]);
  });
});
