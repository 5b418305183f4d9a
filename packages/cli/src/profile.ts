import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isLoopbackHost } from '../../../lib/net/addresses';
import { SetupError } from './errors';

/**
 * Where the control plane is and which token to present: each from its flag, else its
 * environment variable, else the chosen profile of the config file. The file holds a token,
 * so one that group or others can open is refused rather than used.
 */

export interface Settings {
  /** The control plane's base URL, without a trailing slash. */
  url: string;
  /** Where the URL came from, for messages: `--url`, `SLIPWAY_URL`, or `profile default in <path>`. */
  urlSource: string;
  token: string;
  tokenSource: string;
}

export interface ProfileFile {
  text: string;
  /** The file's permission bits (`stat.mode & 0o777`). */
  mode: number;
}

/** Reads the profile file; undefined when there is none. */
export type ProfileReader = (path: string) => ProfileFile | undefined;

interface Profile {
  url?: string;
  token?: string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The profiles of a parsed file, or the key path of the first value of the wrong shape. */
function profilesOf(raw: unknown): { profiles: Record<string, Profile> } | { wrong: string } {
  if (!isObject(raw)) return { wrong: '(top level)' };
  if (!isObject(raw.profiles)) return { wrong: 'profiles' };
  for (const [name, profile] of Object.entries(raw.profiles)) {
    if (!isObject(profile)) return { wrong: `profiles.${name}` };
    for (const key of ['url', 'token']) {
      if (profile[key] !== undefined && typeof profile[key] !== 'string') return { wrong: `profiles.${name}.${key}` };
    }
  }
  return { profiles: raw.profiles as Record<string, Profile> };
}

export function profilePath(env: NodeJS.ProcessEnv, home: string = homedir()): string {
  const base = env.XDG_CONFIG_HOME?.trim() ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(base, 'slipway', 'config.json');
}

export const readProfileFile: ProfileReader = (path) => {
  try {
    const mode = statSync(path).mode & 0o777;
    return { text: readFileSync(path, 'utf8'), mode };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SetupError(`${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
};

/** Group or other permissions on a file holding a token: refused, as ssh refuses such a key. */
export function assertPrivate(path: string, mode: number, platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32') return;
  if ((mode & 0o077) !== 0) {
    throw new SetupError(
      `${path} holds a token but is open to group or others (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); run chmod 600 ${path}`,
    );
  }
}

function profileFrom(path: string, file: ProfileFile, name: string, platform: NodeJS.Platform) {
  assertPrivate(path, file.mode, platform);
  let raw: unknown;
  try {
    raw = JSON.parse(file.text);
  } catch {
    throw new SetupError(`${path} is not valid JSON`);
  }
  const parsed = profilesOf(raw);
  if ('wrong' in parsed) {
    throw new SetupError(`${path}: ${parsed.wrong}: expected {"profiles": {"<name>": {"url", "token"}}}`);
  }
  return Object.hasOwn(parsed.profiles, name) ? parsed.profiles[name] : undefined;
}

/**
 * An http(s) URL without credentials in it, and without the trailing slash. Plain http only to this
 * machine (localhost, 127.0.0.0/8, ::1), unless `insecure`: anywhere else the token would cross the
 * network in clear text.
 */
export function checkUrl(url: string, source: string, insecure = false): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SetupError(`${source} ${JSON.stringify(url)} is not a URL; expected http://host:port or https://host`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SetupError(`${source} ${JSON.stringify(url)}: expected an http:// or https:// URL`);
  }
  if (parsed.username || parsed.password) {
    throw new SetupError(`${source}: put the token in --token or SLIPWAY_TOKEN, not in the URL`);
  }
  if (parsed.search || parsed.hash)
    throw new SetupError(`${source} ${JSON.stringify(url)}: expected no query or fragment`);
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname) && !insecure) {
    throw new SetupError(
      `${source} ${JSON.stringify(url)}: would send the API token in clear text to ${parsed.hostname}, which is not this machine; use https://, or give --insecure to send it anyway`,
    );
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

export interface SettingsInput {
  /** `insecure`: plain http to a host other than this machine is allowed. */
  flags: { url?: string; token?: string; profile?: string; insecure?: boolean };
  env: NodeJS.ProcessEnv;
  read?: ProfileReader;
  home?: string;
  platform?: NodeJS.Platform;
}

export function resolveSettings(input: SettingsInput): Settings {
  const { flags, env } = input;
  const read = input.read ?? readProfileFile;
  const platform = input.platform ?? process.platform;
  const nonEmpty = (value: string | undefined) => (value?.trim() ? value : undefined);

  let url = nonEmpty(flags.url);
  let urlSource = '--url';
  if (url === undefined && nonEmpty(env.SLIPWAY_URL)) {
    url = env.SLIPWAY_URL as string;
    urlSource = 'SLIPWAY_URL';
  }
  let token = nonEmpty(flags.token);
  let tokenSource = '--token';
  if (token === undefined && nonEmpty(env.SLIPWAY_TOKEN)) {
    token = env.SLIPWAY_TOKEN as string;
    tokenSource = 'SLIPWAY_TOKEN';
  }

  const chosen = nonEmpty(flags.profile) ?? nonEmpty(env.SLIPWAY_PROFILE);
  const name = chosen ?? 'default';
  const path = profilePath(env, input.home);
  // The file is read only when it is asked for or still needed.
  if (chosen !== undefined || url === undefined || token === undefined) {
    const file = read(path);
    if (file === undefined && chosen !== undefined) {
      throw new SetupError(`profile ${name} was asked for, but there is no ${path}`);
    }
    const profile = file ? profileFrom(path, file, name, platform) : undefined;
    if (file && !profile && chosen !== undefined) throw new SetupError(`${path} has no profile ${name}`);
    const source = `profile ${name} in ${path}`;
    if (url === undefined && nonEmpty(profile?.url)) {
      url = profile?.url as string;
      urlSource = source;
    }
    if (token === undefined && nonEmpty(profile?.token)) {
      token = profile?.token as string;
      tokenSource = source;
    }
  }
  if (url === undefined) {
    throw new SetupError(
      `no control plane URL: give --url, set SLIPWAY_URL, or add "url" to profile ${name} in ${path}`,
    );
  }
  if (token === undefined) {
    throw new SetupError(`no API token: give --token, set SLIPWAY_TOKEN, or add "token" to profile ${name} in ${path}`);
  }
  return { url: checkUrl(url, urlSource, flags.insecure === true), urlSource, token, tokenSource };
}
