import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ObjectTooLarge,
  type PartPlan,
  PartUploader,
  type PartUploaderOptions,
  partsInFlight,
  planCapacity,
  planPartAt,
  planPartSize,
  S3_MAX_OBJECT_SIZE,
  S3_MAX_PART_SIZE,
  S3_MAX_PARTS,
  S3_MIN_PART_SIZE,
  STREAM_PART_PLAN,
} from '../../../lib/worker/multipart';
import { DUMP_UPLOAD } from '../../../lib/worker/postgres';

const TARGET = {
  bucket: 'slipway-prod-backups',
  key: 'dumps/shop-db/bkp-1/shop-db.dump',
  contentType: 'application/octet-stream',
};
const PART = 1024;
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

/** Every part `partSize` bytes, as S3 allows them (10,000 parts, 5 TiB). */
const fixedParts = (partSize: number, queueSize: number): PartUploaderOptions => ({
  plan: {
    firstPartSize: partSize,
    doubleEvery: S3_MAX_PARTS,
    maxPartSize: partSize,
    maxParts: S3_MAX_PARTS,
    maxObjectSize: S3_MAX_OBJECT_SIZE,
  },
  queueSize,
  bufferBytes: partSize * queueSize,
});

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
    const upload = new PartUploader(s3, TARGET, fixedParts(PART, 2));
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
    const upload = new PartUploader(s3, TARGET, fixedParts(PART, 2));
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
    const upload = new PartUploader(s3, TARGET, fixedParts(PART, 2));
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
    const upload = new PartUploader(s3, TARGET, fixedParts(PART, 1));

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
    const upload = new PartUploader(s3, TARGET, fixedParts(PART, 2));
    await upload.write(bytes(10));

    // when
    await upload.abort();

    // then
    expect(s3mock.calls()).toHaveLength(0);
  });
});

describe("the part plan of a dump (a stream of unknown length), as pure arithmetic up to S3's limits", () => {
  const plan = DUMP_UPLOAD.plan;

  it("given the dump plan, when its parts are summed, then 10,000 of them hold S3's 5 TiB object limit", () => {
    // when
    const capacity = planCapacity(plan);

    // then: Amazon S3 user guide, "Amazon S3 multipart upload limits"
    expect(plan).toBe(STREAM_PART_PLAN);
    expect(plan.maxParts).toBe(10_000);
    expect(plan.maxObjectSize).toBe(5 * TiB);
    expect(capacity).toBeGreaterThanOrEqual(5 * TiB);
    expect(capacity).toBe(5_318_400 * MiB);
  });

  it("given the dump plan, when every part is sized, then each is within S3's 5 MiB to 5 GiB and none is smaller than the one before", () => {
    // when
    const sizes = Array.from({ length: plan.maxParts }, (_, index) => planPartSize(plan, index + 1));

    // then
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(S3_MIN_PART_SIZE);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(S3_MAX_PART_SIZE);
    expect(sizes.every((size, index) => index === 0 || size >= (sizes[index - 1] as number))).toBe(true);
    expect([...new Set(sizes)].map((size) => size / MiB)).toEqual([8, 16, 32, 64, 128, 256, 512, 1024]);
  });

  it.each([
    { at: 'the first byte', offset: 0, partNumber: 1, partSize: 8 * MiB, buffered: 4 * 8 * MiB },
    {
      at: '1 GiB (the benchmark’s dump is smaller)',
      offset: GiB,
      partNumber: 129,
      partSize: 8 * MiB,
      buffered: 32 * MiB,
    },
    {
      at: 'the last byte of 8 MiB parts (6.25 GiB)',
      offset: 6400 * MiB - 1,
      partNumber: 800,
      partSize: 8 * MiB,
      buffered: 32 * MiB,
    },
    {
      at: '78 GiB, where fixed 8 MiB parts ran out',
      offset: 10_000 * 8 * MiB,
      partNumber: 2951,
      partSize: 64 * MiB,
      buffered: 128 * MiB,
    },
    { at: '100 GiB', offset: 100 * GiB, partNumber: 3251, partSize: 128 * MiB, buffered: 256 * MiB },
    {
      at: '794 GiB, where parts reach 1 GiB',
      offset: 812_800 * MiB,
      partNumber: 5601,
      partSize: GiB,
      buffered: 2 * GiB,
    },
    { at: 'the last byte of S3’s 5 TiB', offset: 5 * TiB - 1, partNumber: 9927, partSize: GiB, buffered: 2 * GiB },
  ])(
    'given a dump reaching $at, when located, then part $partNumber of $partSize bytes, and $buffered bytes of part buffers while parts of that size go',
    ({ offset, partNumber, partSize, buffered }) => {
      // when
      const part = planPartAt(plan, offset);

      // then
      expect(part).toEqual({ partNumber, partSize });
      expect(partsInFlight(partSize, DUMP_UPLOAD.queueSize, DUMP_UPLOAD.bufferBytes) * partSize).toBe(buffered);
    },
  );

  it('given the dump plan, when located past its last part, then there is no part for it', () => {
    expect(planPartAt(plan, planCapacity(plan) - 1)).toEqual({ partNumber: 10_000, partSize: GiB });
    expect(planPartAt(plan, planCapacity(plan))).toBeUndefined();
  });
});

describe('PartUploader with growing parts', () => {
  /** Parts of 1 KiB, then 2 KiB, then 4 KiB, three of each size before it doubles: 12 parts hold 21 KiB. */
  const GROWING: PartPlan = {
    firstPartSize: KiB,
    doubleEvery: 3,
    maxPartSize: 4 * KiB,
    maxParts: 12,
    maxObjectSize: 64 * KiB,
  };

  /** S3 as its limits have it: part numbers from 1 to the plan's maximum, each part sent once. */
  function countingS3(maxParts: number) {
    const bodies = new Map<number, Buffer>();
    s3mock.on(UploadPartCommand).callsFake((input) => {
      const partNumber = input.PartNumber as number;
      if (partNumber < 1 || partNumber > maxParts || bodies.has(partNumber)) {
        throw Object.assign(new Error(`Part number must be an integer between 1 and ${maxParts}`), {
          name: 'InvalidArgument',
        });
      }
      bodies.set(partNumber, Buffer.from(input.Body as Uint8Array));
      return { ETag: `"etag-${partNumber}"` };
    });
    return bodies;
  }

  it('given a stream that crosses two growth points, when uploaded, then the parts grow as planned, byte for byte, in reused buffers', async () => {
    // given: 20 KiB and 100 bytes, in chunks that straddle every boundary
    const bodies = countingS3(GROWING.maxParts);
    const allocations = jest.spyOn(Buffer, 'allocUnsafeSlow');
    const upload = new PartUploader(s3, TARGET, { plan: GROWING, queueSize: 2, bufferBytes: 2 * KiB });
    const data = bytes(20 * KiB + 100, 5);

    // when
    try {
      for (let offset = 0; offset < data.length; offset += 700) await upload.write(data.subarray(offset, offset + 700));
      await upload.finish();
    } finally {
      allocations.mockRestore();
    }

    // then
    const parts = [...bodies.entries()].sort(([a], [b]) => a - b);
    expect(parts.map(([, body]) => body.length)).toEqual([
      KiB,
      KiB,
      KiB,
      2 * KiB,
      2 * KiB,
      2 * KiB,
      4 * KiB,
      4 * KiB,
      3 * KiB + 100,
    ]);
    expect(Buffer.compare(Buffer.concat(parts.map(([, body]) => body)), data)).toBe(0);
    expect(s3mock.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload?.Parts).toEqual(
      parts.map(([PartNumber]) => ({ PartNumber, ETag: `"etag-${PartNumber}"` })),
    );
    // Nine parts from at most two buffers of each size (two in flight): each size's buffers are reused.
    const sizes = allocations.mock.calls.map(([size]) => size);
    expect(sizes.every((size) => [KiB, 2 * KiB, 4 * KiB].includes(size))).toBe(true);
    for (const size of [KiB, 2 * KiB, 4 * KiB]) {
      expect(sizes.filter((allocated) => allocated === size).length).toBeLessThanOrEqual(2);
    }
    expect(sizes.length).toBeLessThan(parts.length);
  });

  it('given slow parts, when they grow past the buffer budget, then fewer go in flight: four small ones, two large ones', async () => {
    // given: each part answers only when the test says so
    const inFlight = new Map<number, number>();
    const most = new Map<number, number>();
    let mostAtOnce = 0;
    const pending: Array<() => void> = [];
    s3mock.on(UploadPartCommand).callsFake(async (input) => {
      const size = (input.Body as Uint8Array).length;
      inFlight.set(size, (inFlight.get(size) ?? 0) + 1);
      most.set(size, Math.max(most.get(size) ?? 0, inFlight.get(size) as number));
      mostAtOnce = Math.max(
        mostAtOnce,
        [...inFlight.values()].reduce((sum, count) => sum + count, 0),
      );
      await new Promise<void>((resolve) => pending.push(resolve));
      inFlight.set(size, (inFlight.get(size) as number) - 1);
      return { ETag: `"etag-${input.PartNumber}"` };
    });
    const plan: PartPlan = { ...GROWING, doubleEvery: 6, maxParts: 18 };
    const upload = new PartUploader(s3, TARGET, { plan, queueSize: 4, bufferBytes: 4 * KiB });
    const release = setInterval(() => pending.shift()?.(), 5);

    // when: six parts of each size
    try {
      for (const size of [KiB, 2 * KiB, 4 * KiB]) {
        for (let part = 0; part < 6; part += 1) await upload.write(bytes(size, part));
      }
      await upload.finish();
    } finally {
      clearInterval(release);
    }

    // then
    expect(Object.fromEntries(most)).toEqual({ [KiB]: 4, [2 * KiB]: 2, [4 * KiB]: 2 });
    expect(mostAtOnce).toBeLessThanOrEqual(4);
    expect(s3mock.commandCalls(UploadPartCommand)).toHaveLength(18);
  });

  it("given a stream longer than the plan's parts hold, when written, then it fails before a part S3 would refuse, and abort discards the upload", async () => {
    // given: three parts of 1 KiB at most
    countingS3(3);
    const plan: PartPlan = { ...GROWING, doubleEvery: 3, maxParts: 3 };
    const upload = new PartUploader(s3, TARGET, { plan, queueSize: 2, bufferBytes: 2 * KiB });

    // when
    await upload.write(bytes(3 * KiB));
    const written = upload.write(bytes(1));

    // then
    await expect(written).rejects.toThrow(
      new ObjectTooLarge(`s3://${TARGET.bucket}/${TARGET.key} needs more than 3 parts, S3's limit for one upload`),
    );
    await upload.abort();
    expect(s3mock.commandCalls(UploadPartCommand).map((call) => call.args[0].input.PartNumber)).toEqual([1, 2, 3]);
    expect(s3mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it("given a stream over the plan's object limit, when written, then it fails naming the limit", async () => {
    // given
    countingS3(GROWING.maxParts);
    const upload = new PartUploader(s3, TARGET, {
      plan: { ...GROWING, maxObjectSize: 2500 },
      queueSize: 2,
      bufferBytes: 2 * KiB,
    });

    // when
    const written = upload.write(bytes(3000));

    // then
    await expect(written).rejects.toThrow(
      new ObjectTooLarge(`s3://${TARGET.bucket}/${TARGET.key} would be over 2500 bytes, S3's limit for one object`),
    );
    await upload.abort();
    expect(s3mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });
});
