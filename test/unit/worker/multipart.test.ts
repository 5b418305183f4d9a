import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { PartUploader } from '../../../lib/worker/multipart';

const TARGET = {
  bucket: 'slipway-prod-backups',
  key: 'dumps/shop-db/bkp-1/shop-db.dump',
  contentType: 'application/octet-stream',
};
const PART = 1024;

const s3mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'us-east-1' });

/** Bytes that say where they came from, so a part holding the wrong slice shows. */
const bytes = (length: number, seed = 0) => Buffer.from(Array.from({ length }, (_, index) => (index * 7 + seed) % 251));

/** The bodies UploadPart was sent, copied when sent: the uploader reuses its buffers afterwards. */
function recordParts() {
  const bodies: Buffer[] = [];
  s3mock.on(UploadPartCommand).callsFake((input) => {
    bodies.push(Buffer.from(input.Body as Uint8Array));
    return { ETag: `"etag-${input.PartNumber}"` };
  });
  return bodies;
}

beforeEach(() => {
  s3mock.reset();
  s3mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"whole"' });
  s3mock.on(PutObjectCommand).resolves({ ETag: '"single"' });
  s3mock.on(AbortMultipartUploadCommand).resolves({});
});

describe('PartUploader', () => {
  it('given less than a part, when finished, then one PutObject with exactly those bytes and no multipart upload', async () => {
    // given
    const upload = new PartUploader(s3, TARGET, PART, 2);
    const data = bytes(300);

    // when
    await upload.write(data.subarray(0, 100));
    await upload.write(data.subarray(100));
    await upload.finish();

    // then
    const puts = s3mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(puts).toEqual([
      { Bucket: TARGET.bucket, Key: TARGET.key, Body: expect.any(Buffer), ContentType: TARGET.contentType },
    ]);
    expect(Buffer.compare(puts[0]?.Body as Buffer, data)).toBe(0);
    expect(s3mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('given two and a half parts in odd chunks, when finished, then three parts in order, byte for byte, and the completion lists them', async () => {
    // given
    const bodies = recordParts();
    const upload = new PartUploader(s3, TARGET, PART, 2);
    const data = bytes(PART * 2 + PART / 2, 3);

    // when: chunks that straddle the part boundaries
    for (let offset = 0; offset < data.length; offset += 700) await upload.write(data.subarray(offset, offset + 700));
    await upload.finish();

    // then
    expect(s3mock.commandCalls(CreateMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: TARGET.bucket, Key: TARGET.key, ContentType: TARGET.contentType },
    ]);
    const parts = s3mock.commandCalls(UploadPartCommand).map((call) => call.args[0].input);
    expect(parts.map(({ Bucket, Key, UploadId, PartNumber }) => ({ Bucket, Key, UploadId, PartNumber }))).toEqual(
      [1, 2, 3].map((PartNumber) => ({ Bucket: TARGET.bucket, Key: TARGET.key, UploadId: 'upload-1', PartNumber })),
    );
    expect(Buffer.compare(Buffer.concat(bodies), data)).toBe(0);
    expect(bodies.map((body) => body.length)).toEqual([PART, PART, PART / 2]);
    expect(s3mock.commandCalls(CompleteMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      {
        Bucket: TARGET.bucket,
        Key: TARGET.key,
        UploadId: 'upload-1',
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: '"etag-1"' },
            { PartNumber: 2, ETag: '"etag-2"' },
            { PartNumber: 3, ETag: '"etag-3"' },
          ],
        },
      },
    ]);
    expect(s3mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('given slow parts, when written, then never more than queueSize are in flight and memory holds queueSize + 1 parts', async () => {
    // given: each part answers only when the test says so
    let inFlight = 0;
    let most = 0;
    const pending: Array<() => void> = [];
    s3mock.on(UploadPartCommand).callsFake(async (input) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => pending.push(resolve));
      inFlight -= 1;
      return { ETag: `"etag-${input.PartNumber}"` };
    });
    const upload = new PartUploader(s3, TARGET, PART, 2);
    const release = setInterval(() => pending.shift()?.(), 5);

    // when
    try {
      for (let part = 0; part < 8; part += 1) await upload.write(bytes(PART, part));
      await upload.finish();
    } finally {
      clearInterval(release);
    }

    // then
    expect(most).toBe(2);
    expect(s3mock.commandCalls(UploadPartCommand)).toHaveLength(8);
  });

  it('given a part S3 refuses, when written on, then the next write throws and abort discards the upload', async () => {
    // given
    s3mock
      .on(UploadPartCommand)
      .resolvesOnce({ ETag: '"etag-1"' })
      .rejects(Object.assign(new Error('slow down'), { name: 'SlowDown' }));
    const upload = new PartUploader(s3, TARGET, PART, 1);

    // when
    await upload.write(bytes(PART));
    const written = upload.write(bytes(PART * 3));

    // then
    await expect(written).rejects.toThrow('slow down');
    await upload.abort();
    expect(s3mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: TARGET.bucket, Key: TARGET.key, UploadId: 'upload-1' },
    ]);
    expect(s3mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    await expect(upload.finish()).rejects.toThrow('slow down');
  });

  it('given nothing started on S3, when aborted, then nothing is sent', async () => {
    // given
    const upload = new PartUploader(s3, TARGET, PART, 2);
    await upload.write(bytes(10));

    // when
    await upload.abort();

    // then
    expect(s3mock.calls()).toHaveLength(0);
  });
});
