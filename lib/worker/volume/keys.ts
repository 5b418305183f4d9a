import { InvalidInput } from '../../errors';
import { MAX_PART_SIZE, MIN_PART_SIZE, MiB, PART_BUDGET } from './limits';
import type { VolumeCompression } from './types';

// Names, keys and sizes: pure functions of plain data

/** 2026-11-22T03:00:00.123Z → 20261122T030000Z: sortable, and safe in any S3 key. */
export function volumeTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

export function volumeKeys(prefix: string, date: Date, compression: VolumeCompression) {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  const base = `${trimmed ? `${trimmed}/` : ''}${volumeTimestamp(date)}`;
  return {
    archiveKey: `${base}.tar.${compression === 'gzip' ? 'gz' : 'zst'}`,
    manifestKey: `${base}.manifest.ndjson`,
  };
}

/**
 * The archive's compressed size is unknown until it has been uploaded, but S3 fixes the part size
 * at the first part and refuses a 10,001st. Neither gzip nor zstd grows incompressible data by more
 * than a fraction of a percent, so the uncompressed tree bounds the archive: the file bytes plus 5%
 * for files growing between the sizing walk and the archive walk, 1 KiB per entry for its header
 * and padding (PAX entries take more, but headers compress to almost nothing), and 1 MiB for the
 * end of the archive. Dividing by 9,000 rather than 10,000 leaves further room.
 */
export function volumePartSize(totalBytes: number, entries: number): number {
  const bound = totalBytes * 1.05 + entries * 1024 + MiB;
  const partSize = Math.max(MIN_PART_SIZE, Math.ceil(bound / PART_BUDGET));
  if (partSize > MAX_PART_SIZE) {
    throw new InvalidInput(`a tree of ${totalBytes} bytes needs parts over S3's 5 GiB limit; split the volume`);
  }
  return partSize;
}
