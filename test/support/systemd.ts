import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES_DIR } from './examples';

/**
 * The systemd units of an example that runs `slipway-worker` alone (examples/<name>/systemd/), read as systemd reads
 * them, so that their own command lines are what the tests run: a unit file with a wrong flag fails its example's
 * tests. Rules from systemd.syntax(7), systemd.service(5) ("Command lines") and systemd.exec(5) (EnvironmentFile=).
 */

export type UnitSections = Record<string, Record<string, string[]>>;

/** Sections and their keys; a key given more than once (ExecStart= of a oneshot service) keeps every value in order. */
export function parseUnit(text: string): UnitSections {
  const sections: UnitSections = {};
  let current: Record<string, string[]> | undefined;
  // A line ending in a backslash continues on the next (systemd.syntax(7)).
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = sections[section[1] as string] ?? {};
      sections[section[1] as string] = current;
      continue;
    }
    const pair = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!pair || !current) throw new Error(`not a unit file line: ${line}`);
    const key = pair[1] as string;
    current[key] = [...(current[key] ?? []), (pair[2] as string).trim()];
  }
  return sections;
}

/** KEY=VALUE lines, # comments, values optionally quoted (systemd.exec(5), EnvironmentFile=). */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const pair = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!pair) throw new Error(`not an environment file line: ${line}`);
    values[pair[1] as string] = (pair[2] as string).replace(/^(["'])(.*)\1$/, '$2');
  }
  return values;
}

/** The variables a command line names as ${NAME}. */
export const variablesOf = (line: string) =>
  [...line.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1] as string);

/**
 * A command line as systemd splits it: words separated by whitespace, quotes grouping, ${NAME} replaced by the
 * variable's value within its word (systemd.service(5): "${FOO}" as part of a word stays one argument), the
 * prefixes `-`, `@`, `+`, `!` refused (the examples use none). An unset variable is an error here, where systemd
 * would make it empty: a unit whose command names a variable the environment file lacks is broken.
 */
export function commandWords(line: string, env: Record<string, string>): string[] {
  if (/^[-@+!:]/.test(line)) throw new Error(`a command line with a prefix: ${line}`);
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) {
    const word = match[1] ?? match[2] ?? match[3] ?? '';
    words.push(
      word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
        const value = env[name];
        if (value === undefined) throw new Error(`${line} names \${${name}}, which the environment does not set`);
        return value;
      }),
    );
  }
  return words;
}

/** How each ExecStart= of the examples starts the worker: npx in Slipway's installation (WorkingDirectory=). */
export const WORKER_COMMAND = ['/usr/bin/npx', 'slipway-worker'];

/** The `slipway-worker` arguments of a command line; throws when it runs anything else. */
export function workerArguments(line: string, env: Record<string, string>): string[] {
  const words = commandWords(line, env);
  if (words[0] !== WORKER_COMMAND[0] || words[1] !== WORKER_COMMAND[1]) {
    throw new Error(`not a slipway-worker command line: ${line}`);
  }
  return words.slice(2);
}

export const systemdDir = (example: string) => join(EXAMPLES_DIR, example, 'systemd');

/** Every example that runs the worker from systemd units instead of a control plane. */
export function examplesWithWorkerUnits(): string[] {
  return readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(systemdDir(entry.name)))
    .map((entry) => entry.name)
    .sort();
}

/** The example's unit files by name (`onprem-rag-backup.service`, …). */
export function exampleUnits(example: string): Record<string, UnitSections> {
  const dir = systemdDir(example);
  return Object.fromEntries(
    readdirSync(dir)
      .filter((name) => /\.(service|timer)$/.test(name))
      .sort()
      .map((name) => [name, parseUnit(readFileSync(join(dir, name), 'utf8'))]),
  );
}

/** The example's environment file template (examples/<name>/worker.env.example), as EnvironmentFile= reads it. */
export const exampleEnvironment = (example: string) =>
  parseEnvironmentFile(readFileSync(join(EXAMPLES_DIR, example, 'worker.env.example'), 'utf8'));

/** The ExecStart= lines of a service, in the order a oneshot service runs them. */
export function execStarts(unit: UnitSections): string[] {
  return unit.Service?.ExecStart ?? [];
}
