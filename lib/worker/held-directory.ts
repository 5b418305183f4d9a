import { constants, existsSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, opendir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A directory held open by its descriptor, so that what is done inside it stays inside it whatever is
 * renamed, or swapped for a symbolic link, along the path it was reached by. Node has no openat(2);
 * on Linux (Lambda, Fargate) a descriptor is named through /proc/self/fd, which the kernel resolves to
 * the open directory itself, never again through the path (proc(5), /proc/pid/fd). Where there is no
 * /proc the path it was opened at stands in, and only the checks on each component remain.
 */

const PROC_FD = '/proc/self/fd';
const procfs = existsSync(PROC_FD);
// O_NOFOLLOW makes open(2) fail on a symbolic link as the last component; O_DIRECTORY on anything but a directory.
const NO_FOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;

/** What a name inside a held directory is. */
export type Child = { kind: 'directory'; dir: HeldDirectory } | { kind: 'absent' | 'symlink' | 'not-directory' };

export class HeldDirectory {
  private constructor(
    private readonly handle: FileHandle,
    /** The path it was opened at: where there is no /proc, and in messages. */
    readonly opened: string,
  ) {}

  /** `path` as it resolves now, symbolic links followed: for a root the caller trusts, such as a mount point. */
  static async open(path: string): Promise<HeldDirectory> {
    return new HeldDirectory(await open(path, constants.O_RDONLY | constants.O_DIRECTORY), path);
  }

  /** Where paths inside this directory start. */
  get path(): string {
    return procfs ? `${PROC_FD}/${this.handle.fd}` : this.opened;
  }

  child(name: string): string {
    return join(this.path, name);
  }

  /** The entry `name`, opened when it is a directory, never through a symbolic link. */
  async entry(name: string): Promise<Child> {
    try {
      return {
        kind: 'directory',
        dir: new HeldDirectory(await open(this.child(name), NO_FOLLOW), join(this.opened, name)),
      };
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return { kind: 'absent' };
      if (code === 'ELOOP') return { kind: 'symlink' };
      if (code !== 'ENOTDIR') throw error;
    }
    // Linux answers ENOTDIR, not ELOOP, for a link opened with O_DIRECTORY and O_NOFOLLOW.
    const stats = await lstat(this.child(name)).catch((error: unknown) => {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (!stats) return { kind: 'absent' };
    return { kind: stats.isSymbolicLink() ? 'symlink' : 'not-directory' };
  }

  /** The same directory (device and inode) as `other`. */
  async sameAs(other: HeldDirectory): Promise<boolean> {
    const [mine, theirs] = await Promise.all([this.handle.stat(), other.handle.stat()]);
    return mine.dev === theirs.dev && mine.ino === theirs.ino;
  }

  async isEmpty(): Promise<boolean> {
    const dir = await opendir(this.path);
    try {
      return (await dir.read()) === null;
    } finally {
      await dir.close();
    }
  }

  // Metadata through the descriptor: a path could have been swapped for a link to somewhere else.
  chown(uid: number, gid: number): Promise<void> {
    return this.handle.chown(uid, gid);
  }

  chmod(mode: number): Promise<void> {
    return this.handle.chmod(mode);
  }

  utimes(atime: Date, mtime: Date): Promise<void> {
    return this.handle.utimes(atime, mtime);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Why a walk stopped at a component: the caller words the refusal. */
export type RefuseComponent = (component: string, found: 'symlink' | 'not-directory') => Error;

/**
 * `root/segments…` opened one component at a time, none of them a symbolic link (the root itself is
 * trusted, links and all). Missing components are created when `create` is set; otherwise a missing
 * root or component answers undefined. Only the directory answered stays open: the caller closes it.
 */
export async function openInside(
  root: string,
  segments: readonly string[],
  options: { create: boolean; refuse: RefuseComponent },
): Promise<HeldDirectory | undefined> {
  let current: HeldDirectory;
  try {
    current = await HeldDirectory.open(root);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' && !options.create) return undefined;
    throw error;
  }
  try {
    for (const segment of segments) {
      let found = await current.entry(segment);
      if (found.kind === 'absent' && options.create) {
        await mkdir(current.child(segment)).catch((error: unknown) => {
          if (errorCode(error) !== 'EEXIST') throw error;
        });
        found = await current.entry(segment);
      }
      if (found.kind === 'absent') {
        await current.close();
        return undefined;
      }
      if (found.kind !== 'directory') throw options.refuse(segment, found.kind);
      const next = found.dir;
      await current.close();
      current = next;
    }
  } catch (error) {
    await current.close();
    throw error;
  }
  return current;
}

const refusedAsDirectory = (error: unknown) => {
  if (errorCode(error) === 'EISDIR' || errorCode(error) === 'EPERM') return false;
  throw error;
};

/**
 * Removes `name` inside `parent` and everything under it, descending only through directories it holds
 * open: a directory swapped for a link meanwhile is unlinked as a link, never followed.
 */
export async function removeInside(parent: HeldDirectory, name: string): Promise<void> {
  const found = await parent.entry(name);
  if (found.kind === 'absent') return;
  if (found.kind !== 'directory') {
    await unlink(parent.child(name));
    return;
  }
  const dir = found.dir;
  try {
    // A restored 0555 directory refuses to lose its entries, even to its owner.
    await dir.chmod(0o700);
    const children: Array<{ name: string; directory: boolean }> = [];
    for await (const dirent of await opendir(dir.path))
      children.push({ name: dirent.name, directory: dirent.isDirectory() });
    for (const child of children) {
      // unlink(2) never follows a link, and refuses a directory (EISDIR): one swapped in is then descended into.
      if (!child.directory && (await unlink(dir.child(child.name)).then(() => true, refusedAsDirectory))) continue;
      await removeInside(dir, child.name);
    }
  } finally {
    await dir.close();
  }
  await rmdir(parent.child(name));
}
