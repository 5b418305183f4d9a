import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const mtime = (path: string) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
};

const newestSource = (dir: string): number =>
  Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? newestSource(join(dir, entry.name)) : (mtime(join(dir, entry.name)) ?? 0),
    ),
  );

/**
 * Functions read config/<stage>.resolved.json, which `sls package` and `npm start` write; a test that
 * imports a function for a stage writes it the same way when it is missing or older than the YAML or
 * the schema, in a child process so the test's own module graph stays as a function's.
 */
export function ensureResolvedConfig(stage: string): void {
  const written = mtime(join('config', `${stage}.resolved.json`));
  const source = Math.max(mtime(join('config', `${stage}.yml`)) ?? 0, newestSource(join('lib', 'config')));
  if (written !== undefined && written >= source) return;
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { writeResolvedConfig } from './lib/config/load.ts'; writeResolvedConfig(${JSON.stringify(stage)});`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}
