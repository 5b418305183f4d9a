import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The CLI package as a user gets it: `npm pack` in packages/cli (its prepack builds dist/), then
 * `npm i <tarball>` into an empty directory. What is installed is measured there: bytes on disk
 * (file sizes, as `du -sb` adds them) and the packages under node_modules, the CLI's own included.
 */

const run = promisify(execFile);

export interface CliInstall {
  tarball: string;
  /** The paths the tarball holds, as npm pack lists them. */
  files: string[];
  /** Where it was installed: `<dir>/node_modules/.bin/slipway` is the command. */
  dir: string;
  tarballBytes: number;
  installedBytes: number;
  /** The name of every package installed, nested ones included. */
  packages: string[];
}

/** What a node_modules folder holds: its bytes on disk, and the name of every package in it, nested ones included. */
export function footprint(nodeModules: string): { bytes: number; packages: string[] } {
  return { bytes: bytesUnder(nodeModules), packages: packagesUnder(nodeModules).sort() };
}

function bytesUnder(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + bytesUnder(join(path, name)), 0);
}

function packagesUnder(nodeModules: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(nodeModules)) {
    if (name.startsWith('.')) continue;
    const path = join(nodeModules, name);
    if (name.startsWith('@')) {
      found.push(...packagesUnder(path).map((inner) => `${name}/${inner}`));
      continue;
    }
    found.push(name);
    const nested = join(path, 'node_modules');
    if (statSync(nested, { throwIfNoEntry: false })?.isDirectory()) found.push(...packagesUnder(nested));
  }
  return found;
}

/** Packs `packageDir` into `workDir` and installs the tarball into `workDir/install`. */
export async function packAndInstall(packageDir: string, workDir: string): Promise<CliInstall> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', workDir], {
    cwd: packageDir,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!packed) throw new Error('npm pack listed no tarball');
  const tarball = join(workDir, packed.filename);
  const dir = join(workDir, 'install');
  mkdirSync(dir);
  // The registry only for what npm's cache lacks: the dependencies are those of the checkout's lockfile.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], {
    cwd: dir,
  });
  const installed = footprint(join(dir, 'node_modules'));
  return {
    tarball,
    files: packed.files.map((file) => file.path).sort(),
    dir,
    tarballBytes: statSync(tarball).size,
    installedBytes: installed.bytes,
    packages: installed.packages,
  };
}
