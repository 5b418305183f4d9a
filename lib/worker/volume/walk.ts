import type { Stats } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { LSTAT_BATCH } from './limits';
import { isMissing } from './streams';
import type { SkipReason } from './types';

// The tree walk: depth first, each directory sorted; only the directories being walked are listed in memory

/**
 * One entry of the walk. `stats` is the entry's lstat; the archive walk leaves it out for regular
 * files, whose fstat after opening is what counts, and an lstat more per file is measurable.
 */
export type TreeItem =
  | { path: string; abs: string; kind: 'stat'; stats: Stats }
  | { path: string; abs: string; kind: 'file' }
  | { path: string; abs: string; kind: 'vanished' };

interface Listed {
  name: string;
  file: boolean;
}

async function sortedEntries(dir: string): Promise<Listed[]> {
  let handle: Awaited<ReturnType<typeof opendir>>;
  try {
    handle = await opendir(dir, { bufferSize: 128 });
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const listed: Listed[] = [];
  for await (const dirent of handle) listed.push({ name: dirent.name, file: dirent.isFile() });
  return listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function lstatIfPresent(abs: string): Promise<Stats | undefined> {
  try {
    return await lstat(abs);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function* walkChildren(abs: string, path: string, statFiles: boolean): AsyncGenerator<TreeItem> {
  const listed = await sortedEntries(abs);
  for (let start = 0; start < listed.length; start += LSTAT_BATCH) {
    const batch = listed.slice(start, start + LSTAT_BATCH).map(({ name, file }) => ({
      path: path === '.' ? name : `${path}/${name}`,
      abs: join(abs, name),
      file,
    }));
    const stats = await Promise.all(
      batch.map((item) => (item.file && !statFiles ? undefined : lstatIfPresent(item.abs))),
    );
    for (const [index, { path: itemPath, abs: itemAbs, file }] of batch.entries()) {
      const itemStats = stats[index];
      if (itemStats) yield { path: itemPath, abs: itemAbs, kind: 'stat', stats: itemStats };
      else yield { path: itemPath, abs: itemAbs, kind: file && !statFiles ? 'file' : 'vanished' };
      if (itemStats?.isDirectory()) yield* walkChildren(itemAbs, itemPath, statFiles);
    }
  }
}

/** Maps items ahead of the consumer, at most `width` at once, and yields the results in order. */
export async function* lookahead<T, U>(source: AsyncIterable<T>, map: (item: T) => Promise<U>, width: number) {
  const queue: Array<Promise<U>> = [];
  for await (const item of source) {
    const mapped = map(item);
    // Rejections surface when the result is yielded; until then they must not count as unhandled.
    mapped.catch(() => undefined);
    queue.push(mapped);
    if (queue.length >= width) yield await (queue.shift() as Promise<U>);
  }
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) yield await next;
}

export async function* walkTree(root: string, rootStats: Stats, statFiles: boolean): AsyncGenerator<TreeItem> {
  yield { path: '.', abs: root, kind: 'stat', stats: rootStats };
  yield* walkChildren(root, '.', statFiles);
}

export function skipReason(stats: Stats): SkipReason | undefined {
  if (stats.isSocket()) return 'socket';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isCharacterDevice()) return 'character-device';
  if (stats.isBlockDevice()) return 'block-device';
  return undefined;
}

/** The first walk: only sizes, to choose a part size before the first byte is uploaded. */
export async function measureTree(root: string, rootStats: Stats): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  for await (const item of walkTree(root, rootStats, true)) {
    entries += 1;
    if (item.kind === 'stat' && item.stats.isFile()) bytes += item.stats.size;
  }
  return { entries, bytes };
}
