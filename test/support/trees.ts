import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

/** Directory trees built to a spec, and what a restore of one must reproduce. */

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const at = (seconds: number) => new Date(Date.UTC(2024, 2, 4, 5, 6, 7) + seconds * 1000 + 250);

export interface TreeNode {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  mtime: number;
  size?: number;
  sha256?: string;
  linkTarget?: string;
}

/** Every entry of a tree, depth first and sorted, with what a restore must reproduce. */
export async function snapshot(root: string): Promise<TreeNode[]> {
  const nodes: TreeNode[] = [];
  const visit = async (abs: string, path: string) => {
    const stats = await lstat(abs);
    const type = stats.isFile()
      ? 'file'
      : stats.isDirectory()
        ? 'directory'
        : stats.isSymbolicLink()
          ? 'symlink'
          : 'other';
    const node: TreeNode = { path, type, mode: stats.mode & 0o777, mtime: Math.floor(stats.mtimeMs / 1000) };
    if (type === 'file') {
      node.size = stats.size;
      node.sha256 = sha256(await readFile(abs));
    }
    if (type === 'symlink') node.linkTarget = await readlink(abs);
    nodes.push(node);
    if (type === 'directory') {
      for (const name of (await readdir(abs)).sort())
        await visit(join(abs, name), path === '.' ? name : `${path}/${name}`);
    }
  };
  await visit(root, '.');
  return nodes;
}

export interface Spec {
  path: string;
  mode?: number;
  content?: Buffer | string;
  directory?: true;
  linkTo?: string;
}

/** Builds a tree in a new directory under `parent`, then sets every mtime deepest first, so creating children does not move them. */
export async function buildTree(parent: string, specs: Spec[]): Promise<string> {
  const root = await mkdtemp(join(parent, 'tree-'));
  for (const spec of specs) {
    const abs = join(root, spec.path);
    if (spec.directory) await mkdir(abs, { recursive: true });
    else if (spec.linkTo !== undefined) await symlink(spec.linkTo, abs);
    else await writeFile(abs, spec.content ?? '');
    if (spec.mode !== undefined) await chmod(abs, spec.mode);
  }
  const ordered = [...specs].sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const [index, spec] of ordered.entries()) {
    const abs = join(root, spec.path);
    if (spec.linkTo !== undefined) await lutimes(abs, at(index), at(index));
    else await utimes(abs, at(index), at(index));
  }
  await chmod(root, 0o755);
  await utimes(root, at(1_000), at(1_000));
  return root;
}
