import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import * as z from 'zod/mini';
import { SlipwayError } from '../../errors';
import { SKIP_REASONS } from './types';

// Manifest lines: what each line of a manifest holds, and reading a manifest back, every line checked

export class RestoreVerificationFailed extends SlipwayError {
  constructor(message: string, options?: ConstructorParameters<typeof SlipwayError>[3]) {
    super('RESTORE_VERIFICATION_FAILED', 422, message, options);
  }
}

export const VOLUME_MANIFEST_FORMAT = 'slipway-volume-manifest/1';

const SHA256_HEX = /^[0-9a-f]{64}$/;

// zod/mini: the Lambda volume function validates manifests at run time and carries no classic zod.
const nonEmpty = () => z.string().check(z.minLength(1));
const count = () => z.int().check(z.nonnegative());
const sha256 = () => z.string().check(z.regex(SHA256_HEX));
const metadata = {
  path: nonEmpty(),
  mode: count(),
  uid: count(),
  gid: count(),
  mtime: z.iso.datetime(),
};
const entrySchema = z.discriminatedUnion('type', [
  z.object({
    ...metadata,
    type: z.literal('file'),
    size: count(),
    sha256: sha256(),
    inconsistent: z.optional(z.literal(true)),
    // Taken through SQLite (lib/worker/volume/sqlite.ts): the restore checks it with PRAGMA integrity_check.
    sqlite: z.optional(z.literal(true)),
  }),
  z.object({ ...metadata, type: z.literal('directory'), size: z.literal(0) }),
  z.object({ ...metadata, type: z.literal('symlink'), size: z.literal(0), linkTarget: nonEmpty() }),
  z.object({
    path: nonEmpty(),
    type: z.literal('skipped'),
    reason: z.enum(SKIP_REASONS),
  }),
]);
const headerSchema = z.object({
  format: z.literal(VOLUME_MANIFEST_FORMAT),
  createdAt: z.iso.datetime(),
  dir: z.string(),
  compression: z.enum(['gzip', 'zstd']),
  archiveKey: nonEmpty(),
});
const trailerSchema = z.object({
  archiveSha256: sha256(),
  archiveBytes: z.int().check(z.positive()),
  files: count(),
  bytes: count(),
  consistent: z.boolean(),
  inconsistentCount: count(),
  skippedCount: count(),
});

export type VolumeManifestEntry = z.infer<typeof entrySchema>;
export type VolumeManifestHeader = z.infer<typeof headerSchema>;
export type VolumeManifestTrailer = z.infer<typeof trailerSchema>;
export type ArchivedEntry = Exclude<VolumeManifestEntry, { type: 'skipped' }>;
export type FileEntry = Extract<ArchivedEntry, { type: 'file' }>;

export interface ManifestSummary {
  header: VolumeManifestHeader;
  trailer: VolumeManifestTrailer;
  lines: number;
}

function parseLine<T>(schema: z.ZodMiniType<T>, text: string, key: string, line: number, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RestoreVerificationFailed(`manifest ${key}: line ${line} is not JSON`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new RestoreVerificationFailed(`manifest ${key}: line ${line} is not a valid ${what}${where}`, {
      details: { key, line },
    });
  }
  return parsed.data;
}

function manifestLines(file: string) {
  const input = createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  return {
    lines,
    close: () => {
      lines.close();
      input.destroy();
    },
  };
}

/** A first pass: the header, the trailer, and every entry checked, before anything is written. */
export async function summarizeManifest(file: string, key: string): Promise<ManifestSummary> {
  const { lines, close } = manifestLines(file);
  let count = 0;
  let header: VolumeManifestHeader | undefined;
  let previous: string | undefined;
  let files = 0;
  let bytes = 0;
  try {
    for await (const line of lines) {
      count += 1;
      if (count === 1) {
        header = parseLine(headerSchema, line, key, count, 'header');
        continue;
      }
      if (previous !== undefined) {
        const entry = parseLine(entrySchema, previous, key, count - 1, 'entry');
        if (entry.type === 'file') {
          files += 1;
          bytes += entry.size;
        }
      }
      previous = line;
    }
  } finally {
    close();
  }
  if (!header) throw new RestoreVerificationFailed(`manifest ${key} is empty`, { details: { key } });
  if (previous === undefined) {
    throw new RestoreVerificationFailed(`manifest ${key} is incomplete: it has no trailer`, { details: { key } });
  }
  const trailer = parseLine(trailerSchema, previous, key, count, 'trailer');
  if (trailer.files !== files || trailer.bytes !== bytes) {
    throw new RestoreVerificationFailed(
      `manifest ${key} lists ${files} files of ${bytes} bytes, its trailer says ${trailer.files} files of ${trailer.bytes} bytes`,
      { details: { key } },
    );
  }
  return { header, trailer, lines: count };
}

/** The second pass: archived entries in archive order, read in step with the tar. */
export async function* manifestEntries(file: string, key: string, lineCount: number): AsyncGenerator<ArchivedEntry> {
  const { lines, close } = manifestLines(file);
  let count = 0;
  try {
    for await (const line of lines) {
      count += 1;
      if (count === 1) continue;
      if (count === lineCount) return;
      const entry = parseLine(entrySchema, line, key, count, 'entry');
      if (entry.type !== 'skipped') yield entry;
    }
  } finally {
    close();
  }
}
