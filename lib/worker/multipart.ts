import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/**
 * A multipart upload written chunk by chunk into a few part buffers that are reused, for
 * pg_dump's output. lib-storage's Upload, which volume archives use, concatenates each part into
 * a fresh buffer on the event loop. An archive is made by this process and simply waits out such
 * a pause; pg_dump is another process writing into a 64 KiB pipe, and every pause (page faults on
 * new memory, then the garbage collector) stalls it. Here a chunk is copied into memory that is
 * already mapped, and at most `queueSize` parts are in flight.
 */
export class PartUploader {
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;
  private uploadId: string | undefined;
  private partNumber = 0;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly s3: S3Client,
    private readonly target: { bucket: string; key: string; contentType: string },
    private readonly partSize: number,
    private readonly queueSize: number,
  ) {}

  /** Copies the chunk in; resolves once there is room for more (at most queueSize parts in flight). */
  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.failure) throw this.failure;
      this.current ??= this.free.pop() ?? Buffer.allocUnsafeSlow(this.partSize);
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === this.partSize) await this.sendPart();
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
      }),
    );
  }

  /** Waits for the parts in flight, then discards the upload so S3 keeps none of its parts. */
  async abort(): Promise<void> {
    this.failure ??= new Error('upload aborted');
    await Promise.allSettled(this.inFlight);
    if (this.uploadId === undefined) return;
    await this.s3.send(
      new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.target.key, UploadId: this.uploadId }),
    );
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
        const { ETag } = await this.s3.send(
          new UploadPartCommand({
            Bucket: this.target.bucket,
            Key: this.target.key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: buffer.subarray(0, length),
          }),
        );
        this.parts.push({ PartNumber: partNumber, ETag });
      } catch (error) {
        this.failure ??= error;
      } finally {
        // Only once the request is over: a retry sends the same bytes again.
        this.free.push(buffer);
      }
    })();
    this.inFlight.add(sent);
    void sent.then(() => this.inFlight.delete(sent));
    if (this.inFlight.size >= this.queueSize) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private async create(): Promise<string> {
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.target.bucket,
        Key: this.target.key,
        ContentType: this.target.contentType,
      }),
    );
    if (!UploadId) throw new Error(`S3 started no multipart upload for s3://${this.target.bucket}/${this.target.key}`);
    return UploadId;
  }
}
