import { SetupError } from '../../../packages/cli/src/errors';
import { type ProfileFile, profilePath, resolveSettings, type SettingsInput } from '../../../packages/cli/src/profile';

const HOME = '/home/alice';
const PATH = '/home/alice/.config/slipway/config.json';

const profiles = (document: unknown, mode = 0o600): ProfileFile => ({ text: JSON.stringify(document), mode });

/** A profile reader over in-memory files, which records whether it was asked. */
function files(byPath: Record<string, ProfileFile>) {
  const asked: string[] = [];
  return {
    asked,
    read: (path: string) => {
      asked.push(path);
      return byPath[path];
    },
  };
}

function resolve(input: Partial<SettingsInput> & { read?: SettingsInput['read'] }) {
  return resolveSettings({ flags: {}, env: {}, home: HOME, platform: 'linux', read: () => undefined, ...input });
}

function setupError(input: Partial<SettingsInput>): string {
  try {
    resolve(input);
  } catch (error) {
    if (error instanceof SetupError) return error.message;
    throw error;
  }
  throw new Error('the settings were accepted');
}

const file = profiles({
  profiles: {
    default: { url: 'https://slipway.example.com/', token: 'slw_from_default_profile' },
    staging: { url: 'https://staging.slipway.example.com', token: 'slw_from_staging_profile' },
  },
});

describe('resolveSettings', () => {
  it('takes the flags first, without reading the profile file', () => {
    // Given flags, variables and a profile that all say something
    const reader = files({ [PATH]: file });

    // When the settings are resolved
    const settings = resolve({
      flags: { url: 'http://127.0.0.1:3000', token: 'slw_flag' },
      env: { SLIPWAY_URL: 'http://127.0.0.1:4000', SLIPWAY_TOKEN: 'slw_env' },
      read: reader.read,
    });

    // Then the flags win and the file, holding nothing that is needed, was never opened
    expect(settings).toEqual({
      url: 'http://127.0.0.1:3000',
      urlSource: '--url',
      token: 'slw_flag',
      tokenSource: '--token',
    });
    expect(reader.asked).toEqual([]);
  });

  it('takes the environment next', () => {
    expect(resolve({ env: { SLIPWAY_URL: 'http://127.0.0.1:4000', SLIPWAY_TOKEN: 'slw_env' } })).toEqual({
      url: 'http://127.0.0.1:4000',
      urlSource: 'SLIPWAY_URL',
      token: 'slw_env',
      tokenSource: 'SLIPWAY_TOKEN',
    });
  });

  it('fills what is still missing from the default profile, field by field', () => {
    const settings = resolve({ env: { SLIPWAY_URL: 'http://127.0.0.1:4000' }, read: files({ [PATH]: file }).read });
    expect(settings).toEqual({
      url: 'http://127.0.0.1:4000',
      urlSource: 'SLIPWAY_URL',
      token: 'slw_from_default_profile',
      tokenSource: `profile default in ${PATH}`,
    });
  });

  it('uses the profile --profile or SLIPWAY_PROFILE names, under XDG_CONFIG_HOME when set', () => {
    const xdg = '/etc/xdg-alice/slipway/config.json';
    const read = files({ [xdg]: file }).read;
    expect(resolve({ flags: { profile: 'staging' }, env: { XDG_CONFIG_HOME: '/etc/xdg-alice' }, read })).toMatchObject({
      url: 'https://staging.slipway.example.com',
      token: 'slw_from_staging_profile',
    });
    expect(resolve({ env: { XDG_CONFIG_HOME: '/etc/xdg-alice', SLIPWAY_PROFILE: 'staging' }, read })).toMatchObject({
      url: 'https://staging.slipway.example.com',
    });
  });

  it('drops the trailing slash of a base URL', () => {
    expect(resolve({ read: files({ [PATH]: file }).read }).url).toBe('https://slipway.example.com');
  });

  it('refuses a profile file that group or others can open, in one line saying how to fix it', () => {
    const open = profiles({ profiles: { default: { url: 'https://x.example.com', token: 'slw_t' } } }, 0o644);
    expect(setupError({ read: files({ [PATH]: open }).read })).toBe(
      `${PATH} holds a token but is open to group or others (mode 644); run chmod 600 ${PATH}`,
    );
    expect(setupError({ read: files({ [PATH]: { ...open, mode: 0o640 } }).read })).toContain('(mode 640)');
  });

  it('says where a URL or token could come from when none is found', () => {
    expect(setupError({})).toBe(
      `no control plane URL: give --url, set SLIPWAY_URL, or add "url" to profile default in ${PATH}`,
    );
    expect(setupError({ env: { SLIPWAY_URL: 'http://127.0.0.1:3000' } })).toBe(
      `no API token: give --token, set SLIPWAY_TOKEN, or add "token" to profile default in ${PATH}`,
    );
  });

  it.each<[Partial<SettingsInput>, string]>([
    [{ flags: { profile: 'prod' } }, `profile prod was asked for, but there is no ${PATH}`],
    [{ flags: { profile: 'prod' }, read: () => file }, `${PATH} has no profile prod`],
    [{ flags: { profile: 'toString' }, read: () => file }, `${PATH} has no profile toString`],
    [{ read: () => ({ text: '{"profiles": ', mode: 0o600 }) }, `${PATH} is not valid JSON`],
    [
      { read: () => profiles({ profiles: { default: { url: 42 } } }) },
      `${PATH}: profiles.default.url: expected {"profiles": {"<name>": {"url", "token"}}}`,
    ],
    [
      { read: () => profiles({ profiles: { other: { url: 'https://x.example.com', token: ['t'] } } }) },
      `${PATH}: profiles.other.token: expected {"profiles": {"<name>": {"url", "token"}}}`,
    ],
    [
      { read: () => profiles({ profiles: { default: 'https://x.example.com' } }) },
      `${PATH}: profiles.default: expected {"profiles": {"<name>": {"url", "token"}}}`,
    ],
    [
      { read: () => profiles({ profiles: [] }) },
      `${PATH}: profiles: expected {"profiles": {"<name>": {"url", "token"}}}`,
    ],
    [
      { read: () => profiles(['default']) },
      `${PATH}: (top level): expected {"profiles": {"<name>": {"url", "token"}}}`,
    ],
    [{ flags: { url: 'ftp://x', token: 't' } }, '--url "ftp://x": expected an http:// or https:// URL'],
    [
      { flags: { url: 'https://me:slw_x@x.example.com', token: 't' } },
      '--url: put the token in --token or SLIPWAY_TOKEN, not in the URL',
    ],
    [
      { env: { SLIPWAY_URL: 'localhost:3000', SLIPWAY_TOKEN: 't' } },
      'SLIPWAY_URL "localhost:3000": expected an http:// or https:// URL',
    ],
    [
      { flags: { url: 'http://slipway.example.com', token: 't' } },
      '--url "http://slipway.example.com": would send the API token in clear text to slipway.example.com, which is not this machine; use https://, or give --insecure to send it anyway',
    ],
    [
      { env: { SLIPWAY_URL: 'http://169.254.169.254/', SLIPWAY_TOKEN: 't' } },
      'SLIPWAY_URL "http://169.254.169.254/": would send the API token in clear text to 169.254.169.254, which is not this machine; use https://, or give --insecure to send it anyway',
    ],
  ])('refuses %j', (input, message) => {
    expect(setupError(input)).toBe(message);
  });

  it('takes an http:// URL to another host with --insecure, and https:// or loopback without it', () => {
    const insecure = resolve({ flags: { url: 'http://slipway.internal:8080/', token: 't', insecure: true } });
    expect(insecure.url).toBe('http://slipway.internal:8080');
    expect(resolve({ flags: { url: 'https://slipway.example.com', token: 't' } }).url).toBe(
      'https://slipway.example.com',
    );
    expect(resolve({ flags: { url: 'http://localhost:3000', token: 't' } }).url).toBe('http://localhost:3000');
  });
});

describe('profilePath', () => {
  it('follows XDG_CONFIG_HOME, else ~/.config', () => {
    expect(profilePath({}, HOME)).toBe(PATH);
    expect(profilePath({ XDG_CONFIG_HOME: '/xdg' }, HOME)).toBe('/xdg/slipway/config.json');
    expect(profilePath({ XDG_CONFIG_HOME: ' ' }, HOME)).toBe(PATH);
  });
});
