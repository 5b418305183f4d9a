import { createHmac, timingSafeEqual } from 'node:crypto';

/** Signatures of webhooks and Slack requests: an HMAC-SHA256 over parts, compared in constant time. */

const SHA256_HEX = /^[0-9a-f]{64}$/i;

export function hmacSha256(secret: string, ...parts: Array<string | Buffer>): Buffer {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

export function sameDigest(expected: Buffer, candidateHex: string): boolean {
  // timingSafeEqual throws on buffers of different lengths; a value that is not 64 hex digits cannot match anyway.
  if (!SHA256_HEX.test(candidateHex)) return false;
  return timingSafeEqual(Buffer.from(candidateHex, 'hex'), expected);
}
