import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { InvalidInput } from '../../errors';
import { CODEC_CHUNK, GZIP_LEVEL } from './limits';
import type { VolumeCompression } from './types';

// Compression: zstd only where this Node has it

type CodecFactory = (options?: zlib.ZlibOptions) => Transform;
const zstd = zlib as unknown as { createZstdCompress?: CodecFactory; createZstdDecompress?: CodecFactory };
const ZSTD_MISSING = 'zstd needs Node 22.15 or later; use gzip';

export function compressorFor(compression: VolumeCompression): () => Transform {
  if (compression === 'gzip') return () => zlib.createGzip({ level: GZIP_LEVEL, chunkSize: CODEC_CHUNK });
  const create = zstd.createZstdCompress;
  if (!create) throw new InvalidInput(ZSTD_MISSING);
  return () => create({ chunkSize: CODEC_CHUNK });
}

export function decompressorFor(compression: VolumeCompression): () => Transform {
  if (compression === 'gzip') return () => zlib.createGunzip({ chunkSize: CODEC_CHUNK });
  const create = zstd.createZstdDecompress;
  if (!create) throw new InvalidInput(ZSTD_MISSING);
  return () => create({ chunkSize: CODEC_CHUNK });
}
