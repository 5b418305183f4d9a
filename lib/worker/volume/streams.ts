import { createHash } from 'node:crypto';
import {
  close as closeCallback,
  createWriteStream,
  fchmod as fchmodCallback,
  fchown as fchownCallback,
  fstat as fstatCallback,
  futimes as futimesCallback,
  open as openCallback,
  read as readCallback,
  type WriteStream,
  write as writeCallback,
} from 'node:fs';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UpstreamFailed } from '../../errors';
import type { WriteParameters } from '../object-writes';
import { COMPRESSOR_BATCH, QUEUE_SIZE } from './limits';
import { RestoreVerificationFailed } from './manifest';

// Small stream helpers: file descriptors, backpressure, byte meters, the manifest's spool, and S3 in and out

// Plain descriptors rather than FileHandles: a FileHandle costs as much again per file, which
// dominates on trees of small files.
export const fd = {
  open: promisify(openCallback),
  fstat: promisify(fstatCallback),
  read: promisify(readCallback),
  write: promisify(writeCallback),
  fchown: promisify(fchownCallback),
  fchmod: promisify(fchmodCallback),
  futimes: promisify(futimesCallback),
  close: promisify(closeCallback),
};

export const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;
export const isMissing = (error: unknown) => errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR';
export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

// Node streams and tar-stream's streamx ones share this much.
interface Emitter {
  destroyed?: boolean;
  errored?: unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Resolves on 'drain'; rejects if the stream fails or closes first, so no writer waits forever. */
export function drained(target: object): Promise<void> {
  const stream = target as Emitter;
  if (stream.destroyed) return Promise.reject(stream.errored ?? new Error('stream closed before it drained'));
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (error: unknown) => settle(error);
    const onClose = () => settle(stream.errored ?? new Error('stream closed before it drained'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Counts the bytes tar-stream has emitted, so the walk can wait for the compressor to catch up, and
 * hands them on in batches: tar-stream emits every header and small file as its own chunk, and zlib
 * makes a thread-pool round trip per chunk written to it.
 */
export class ArchiveMeter extends Transform {
  bytes = 0;
  private waiters: Array<{ target: number; resolve: () => void; reject: (error: unknown) => void }> = [];
  private batch: Buffer[] = [];
  private batchBytes = 0;

  until(target: number): Promise<void> {
    if (this.bytes >= target) return Promise.resolve();
    if (this.destroyed) return Promise.reject(this.errored ?? new Error('archive stream closed'));
    return new Promise((resolve, reject) => this.waiters.push({ target, resolve, reject }));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.bytes += chunk.byteLength;
    this.waiters = this.waiters.filter((waiter) => {
      if (this.bytes < waiter.target) return true;
      waiter.resolve();
      return false;
    });
    this.batch.push(chunk);
    this.batchBytes += chunk.byteLength;
    if (this.batchBytes >= COMPRESSOR_BATCH) this.pushBatch();
    callback();
  }

  override _flush(callback: TransformCallback) {
    this.pushBatch();
    callback();
  }

  private pushBatch() {
    if (this.batchBytes === 0) return;
    this.push(this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch, this.batchBytes));
    this.batch = [];
    this.batchBytes = 0;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
    for (const waiter of this.waiters) waiter.reject(error ?? new Error('archive stream closed'));
    this.waiters = [];
    callback(error);
  }
}

/** SHA-256 and byte count of what passes through: the compressed archive, as S3 receives it. */
export class Digest extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
    callback(null, chunk);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/** An NDJSON temp file written with backpressure, so a million-entry manifest never sits in memory. */
export class NdjsonFile {
  private readonly stream: WriteStream;
  private failure: unknown;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.stream.on('error', (error) => {
      this.failure = error;
    });
  }

  async write(value: unknown): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(`${JSON.stringify(value)}\n`)) await drained(this.stream);
  }

  async close(): Promise<void> {
    this.stream.end();
    await finished(this.stream);
  }

  discard(): void {
    this.stream.destroy();
  }
}

export async function uploadStream(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Readable,
  contentType: string,
  partSize: number,
  write: WriteParameters = {},
) {
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType, ...write },
    queueSize: QUEUE_SIZE,
    partSize,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
  } catch (error) {
    throw new UpstreamFailed(`uploading s3://${bucket}/${key} failed: ${messageOf(error)}`, { cause: error });
  }
}

export async function getObject(s3: S3Client, bucket: string, key: string, what: 'manifest' | 'archive') {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new Error('the response has no body');
    return { body: response.Body as Readable, length: response.ContentLength };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') {
      throw new RestoreVerificationFailed(`${what} ${key} is missing`, { details: { key }, cause: error });
    }
    throw new UpstreamFailed(`reading s3://${bucket}/${key} failed: ${messageOf(error)}`, { cause: error });
  }
}
