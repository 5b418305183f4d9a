import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { VaultPlacement } from '../backup/records';
import { SlipwayError } from '../errors';
import { ownerParameters, writeParameters } from './object-writes';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// Amazon S3 user guide, "Amazon S3 multipart upload limits": 10,000 parts of 5 MiB to 5 GiB (the last
// part may be smaller), 5 TiB per object.
export const S3_MAX_PARTS = 10_000;
export const S3_MIN_PART_SIZE = 5 * MiB;
export const S3_MAX_PART_SIZE = 5 * GiB;
export const S3_MAX_OBJECT_SIZE = 5 * 1024 * GiB;

/**
 * How a stream of unknown length is cut into parts. S3 lets parts differ in size, so parts start small
 * (a short tail after the stream ends, little memory for small streams) and double every `doubleEvery`
 * parts up to `maxPartSize`, so that `maxParts` of them hold `maxObjectSize`.
 */
export interface PartPlan {
  firstPartSize: number;
  doubleEvery: number;
  maxPartSize: number;
  maxParts: number;
  maxObjectSize: number;
}

/**
 * For pg_dump's output: 8 MiB parts up to 6.25 GiB, 128 MiB parts around 100 GiB, 1 GiB parts beyond
 * 794 GiB, and 10,000 parts hold 5.07 TiB, above S3's 5 TiB object limit.
 */
export const STREAM_PART_PLAN: PartPlan = {
  firstPartSize: 8 * MiB,
  doubleEvery: 800,
  maxPartSize: GiB,
  maxParts: S3_MAX_PARTS,
  maxObjectSize: S3_MAX_OBJECT_SIZE,
};

/** The size of part `partNumber` (from 1) under `plan`; the last part of a stream may hold less. */
export function planPartSize(plan: PartPlan, partNumber: number): number {
  const doublings = Math.floor((partNumber - 1) / plan.doubleEvery);
  return Math.min(plan.maxPartSize, plan.firstPartSize * 2 ** Math.min(doublings, 64));
}

/** The part that holds byte `offset` (from 0) of a stream, or undefined past the plan's last part. */
export function planPartAt(plan: PartPlan, offset: number): { partNumber: number; partSize: number } | undefined {
  let start = 0;
  for (let partNumber = 1; partNumber <= plan.maxParts; partNumber += 1) {
    const partSize = planPartSize(plan, partNumber);
    if (offset < start + partSize) return { partNumber, partSize };
    start += partSize;
  }
  return undefined;
}

/** Every byte `plan` can hold: its `maxParts` parts, full. */
export function planCapacity(plan: PartPlan): number {
  let total = 0;
  for (let partNumber = 1; partNumber <= plan.maxParts; partNumber += 1) total += planPartSize(plan, partNumber);
  return total;
}

/** Parts in flight at once for parts of `partSize`: within `bufferBytes`, but never fewer than two (one uploads, one fills). */
export function partsInFlight(partSize: number, queueSize: number, bufferBytes: number): number {
  return Math.min(queueSize, Math.max(2, Math.floor(bufferBytes / partSize)));
}

export class ObjectTooLarge extends SlipwayError {
  constructor(message: string) {
    super('OBJECT_TOO_LARGE', 422, message);
  }
}

export interface PartUploaderOptions {
  plan: PartPlan;
  /** The most parts in flight at once. */
  queueSize: number;
  /** Fewer parts in flight (down to two) once `queueSize` parts would hold more than this. */
  bufferBytes: number;
}

/**
 * A multipart upload written chunk by chunk into a few part buffers that are reused, for
 * pg_dump's output. lib-storage's Upload, which volume archives use, concatenates each part into
 * a fresh buffer on the event loop, and fixes one part size up front (an archive knows its tree's
 * size; a dump does not). An archive is made by this process and simply waits out such a pause;
 * pg_dump is another process writing into a 64 KiB pipe, and every pause (page faults on new
 * memory, then the garbage collector) stalls it. Here a chunk is copied into memory that is already
 * mapped; parts grow as `plan` says, and the buffers of a size are reused until parts outgrow them.
 */
export class PartUploader {
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;
  private written = 0;
  private uploadId: string | undefined;
  private partNumber = 0;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly s3: S3Client,
    private readonly target: { bucket: string; key: string; contentType: string; vault?: VaultPlacement },
    private readonly options: PartUploaderOptions,
  ) {}

  /** Copies the chunk in; resolves once there is room for more parts in flight. */
  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.failure) throw this.failure;
      this.current ??= this.nextBuffer();
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      this.written += copied;
      offset += copied;
      if (this.written > this.options.plan.maxObjectSize) {
        this.failure ??= new ObjectTooLarge(
          `s3://${this.target.bucket}/${this.target.key} would be over ${this.options.plan.maxObjectSize} bytes, S3's limit for one object`,
        );
        throw this.failure;
      }
      if (this.filled === this.current.length) await this.sendPart();
    }
  }

  /** Uploads what is left and completes the object: one PutObject when it all fit in one part. */
  async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.uploadId === undefined) {
      const body = (this.current ?? Buffer.alloc(0)).subarray(0, this.filled);
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.target.bucket,
          Key: this.target.key,
          Body: body,
          ContentType: this.target.contentType,
          ...writeParameters(this.target.vault),
        }),
      );
      return;
    }
    if (this.filled > 0) await this.sendPart();
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.target.bucket,
        Key: this.target.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0)) },
        ...ownerParameters(this.target.vault),
      }),
    );
  }

  /** Waits for the parts in flight, then discards the upload so S3 keeps none of its parts. */
  async abort(): Promise<void> {
    this.failure ??= new Error('upload aborted');
    await Promise.allSettled(this.inFlight);
    if (this.uploadId === undefined) return;
    await this.s3.send(
      new AbortMultipartUploadCommand({
        Bucket: this.target.bucket,
        Key: this.target.key,
        UploadId: this.uploadId,
        ...ownerParameters(this.target.vault),
      }),
    );
  }

  /** A buffer for the next part: a free one of its size, else a new one (any smaller ones are let go). */
  private nextBuffer(): Buffer {
    const partNumber = this.partNumber + 1;
    if (partNumber > this.options.plan.maxParts) {
      this.failure ??= new ObjectTooLarge(
        `s3://${this.target.bucket}/${this.target.key} needs more than ${this.options.plan.maxParts} parts, S3's limit for one upload`,
      );
      throw this.failure;
    }
    const size = planPartSize(this.options.plan, partNumber);
    const reused = this.free.pop();
    if (reused?.length === size) return reused;
    this.free.length = 0;
    return Buffer.allocUnsafeSlow(size);
  }

  private async sendPart(): Promise<void> {
    const buffer = this.current as Buffer;
    const length = this.filled;
    this.current = undefined;
    this.filled = 0;
    this.uploadId ??= await this.create();
    const partNumber = ++this.partNumber;
    const uploadId = this.uploadId;
    const sent: Promise<void> = (async () => {
      try {
        const { ETag, ChecksumCRC32 } = await this.s3.send(
          new UploadPartCommand({
            Bucket: this.target.bucket,
            Key: this.target.key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: buffer.subarray(0, length),
            ...writeParameters(this.target.vault),
          }),
        );
        // A checksummed upload completes only with each part's checksum (Amazon S3 API Reference, CompleteMultipartUpload).
        this.parts.push({ PartNumber: partNumber, ETag, ...(ChecksumCRC32 ? { ChecksumCRC32 } : {}) });
      } catch (error) {
        this.failure ??= error;
      } finally {
        // Only once the request is over: a retry sends the same bytes again. A size parts have outgrown is let go.
        if (buffer.length === planPartSize(this.options.plan, this.partNumber + 1)) this.free.push(buffer);
      }
    })();
    this.inFlight.add(sent);
    void sent.then(() => this.inFlight.delete(sent));
    // Larger parts, fewer in flight: the buffers' memory stays bounded while the next part fills.
    const limit = partsInFlight(buffer.length, this.options.queueSize, this.options.bufferBytes);
    while (this.inFlight.size >= limit) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private async create(): Promise<string> {
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.target.bucket,
        Key: this.target.key,
        ContentType: this.target.contentType,
        ...writeParameters(this.target.vault),
      }),
    );
    if (!UploadId) throw new Error(`S3 started no multipart upload for s3://${this.target.bucket}/${this.target.key}`);
    return UploadId;
  }
}
