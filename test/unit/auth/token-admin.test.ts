import {
  checkScopeAgainstConfig,
  describeTokenGrant,
  parseTokenArgs,
  parseTokenDocument,
  type StoredTokenDocument,
  tokenEntry,
  tokenJsonLine,
  UsageError,
  upsertTokenEntry,
} from '../../../lib/auth/token-admin';
import { hashToken, type TokenEntry } from '../../../lib/auth/tokens';
import { ConfigError } from '../../../lib/errors';

const sha = (seed: string) => hashToken(seed);
const entry = (name: string, roles: TokenEntry['roles'] = ['viewer']): TokenEntry => ({
  name,
  sha256: sha(name),
  roles,
  createdAt: '2026-11-22T03:00:00.000Z',
});

describe('parseTokenArgs', () => {
  it.each([
    [['--name', 'ci', '--role', 'deployer'], { name: 'ci', roles: ['deployer'], stage: 'local', json: false }],
    [
      ['--name', 'ci', '--role', 'deployer', '--role', 'approver', '--stage', 'prod', '--json'],
      { name: 'ci', roles: ['deployer', 'approver'], stage: 'prod', json: true },
    ],
    [
      ['--name=alice@example.com', '--role=admin'],
      { name: 'alice@example.com', roles: ['admin'], stage: 'local', json: false },
    ],
    [
      ['--role', 'viewer', '--name', 'ci', '--role', 'viewer', '--role', 'deployer'],
      { name: 'ci', roles: ['viewer', 'deployer'], stage: 'local', json: false },
    ],
  ])('reads %j', (args, command) => {
    expect(parseTokenArgs(args)).toEqual(command);
  });

  it.each([
    [[], '--name is required'],
    [['--role', 'admin'], '--name is required'],
    [['--name', 'ci'], 'at least one --role is required'],
    [['--name', 'ci', '--role', 'root'], '--role "root": expected one of viewer, deployer, approver, admin'],
    [['--name', 'ci', '--name', 'cd', '--role', 'admin'], '--name is given 2 times; give it once'],
    [['--name', 'ci', '--role', 'admin', '--stage', 'a', '--stage', 'b'], '--stage is given 2 times; give it once'],
    [['--name=-ci', '--role', 'admin'], expect.stringMatching(/^--name "-ci": expected/)],
    [['--name', '-ci', '--role', 'admin'], expect.stringContaining("'--name' argument is ambiguous")],
    [['--name', 'has space', '--role', 'admin'], expect.stringMatching(/^--name "has space": expected/)],
    [
      ['--name', 'ci', '--role', 'admin', '--stage', 'Prod'],
      '--stage "Prod": expected lowercase letters, digits and dashes',
    ],
    [['--name', 'ci', '--role', 'admin', '--rol', 'x'], expect.stringContaining("'--rol'")],
    [['--name', 'ci', '--role', 'admin', 'extra'], expect.stringContaining("'extra'")],
    [['--name'], expect.stringContaining('--name')],
    [['--name', 'ci', '--role', 'admin', '--json=yes'], expect.stringContaining('--json')],
  ])('refuses %j with a one-line UsageError', (args, message) => {
    let failure: unknown;
    try {
      parseTokenArgs(args);
    } catch (error) {
      failure = error;
    }

    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toEqual(message);
    expect((failure as Error).message).not.toContain('\n');
  });
});

describe('tokenEntry', () => {
  it('stores the hash, the roles and when, never the token', () => {
    const token = 'slw_example-token-value-0123456789';

    const made = tokenEntry('ci', ['deployer'], token, new Date('2026-11-22T03:00:00Z'));

    expect(made).toEqual({
      name: 'ci',
      sha256: hashToken(token),
      roles: ['deployer'],
      createdAt: '2026-11-22T03:00:00.000Z',
    });
    expect(JSON.stringify(made)).not.toContain(token);
  });
});

describe('upsertTokenEntry', () => {
  it('appends an entry with a new name', () => {
    const document = { tokens: [entry('ci')] };

    const result = upsertTokenEntry(document, entry('alice', ['admin']));

    expect(result).toEqual({ document: { tokens: [entry('ci'), entry('alice', ['admin'])] }, replaced: false });
  });

  it('replaces the entry with the same name where it stands', () => {
    const document = { tokens: [entry('ci'), entry('alice'), entry('bob')] };
    const renewed = { ...entry('alice', ['approver']), sha256: sha('new alice token') };

    const result = upsertTokenEntry(document, renewed);

    expect(result).toEqual({ document: { tokens: [entry('ci'), renewed, entry('bob')] }, replaced: true });
  });

  it('starts an empty document', () => {
    expect(upsertTokenEntry({ tokens: [] }, entry('ci')).document).toEqual({ tokens: [entry('ci')] });
  });

  it('keeps other top-level keys and leaves its input alone', () => {
    const document: StoredTokenDocument = { comment: 'managed by npm run token', tokens: [entry('ci')] };
    const before = structuredClone(document);

    const result = upsertTokenEntry(document, entry('ci', ['admin']));

    expect(result.document).toEqual({ comment: 'managed by npm run token', tokens: [entry('ci', ['admin'])] });
    expect(document).toEqual(before);
  });
});

describe('parseTokenDocument', () => {
  it.each([
    ['no file', undefined],
    ['an empty file', ''],
    ['a blank file', '  \n'],
  ])('reads %s as an empty document', (_, text) => {
    expect(parseTokenDocument(text, 'tokens.json')).toEqual({ tokens: [] });
  });

  it('reads a document, other keys included', () => {
    const text = JSON.stringify({ comment: 'local', tokens: [entry('ci')] });

    expect(parseTokenDocument(text, 'tokens.json')).toEqual({ comment: 'local', tokens: [entry('ci')] });
  });

  it('refuses text that is not JSON, quoting none of it', () => {
    const failure = (() => {
      try {
        return parseTokenDocument('{"tokens": [slw_raw-token-value', 'tokens.json');
      } catch (error) {
        return error;
      }
    })();

    expect(failure).toEqual(new ConfigError('tokens.json is not valid JSON; fix or remove it'));
  });

  it('refuses a document of the wrong shape, naming the paths but not the values', () => {
    const text = JSON.stringify({ tokens: [{ name: 'ci', sha256: 'slw_raw-token-value', roles: [] }] });

    expect(() => parseTokenDocument(text, 'tokens.json')).toThrow(
      new ConfigError('tokens.json is not a valid token document (tokens.0.sha256, tokens.0.roles); fix or remove it'),
    );
  });
});

describe('tokenJsonLine', () => {
  it('is one line with name, token and entry', () => {
    const line = tokenJsonLine('ci', 'slw_token', entry('ci'));

    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ name: 'ci', token: 'slw_token', entry: entry('ci') });
    expect(Object.keys(JSON.parse(line))).toEqual(['name', 'token', 'entry']);
  });
});

describe('scoped tokens', () => {
  it.each([
    [
      ['--name', 'ci', '--role', 'deployer', '--app', 'shop', '--environment', 'staging'],
      { name: 'ci', roles: ['deployer'], apps: ['shop'], environments: ['staging'], stage: 'local', json: false },
    ],
    [
      ['--name', 'ci', '--role', 'deployer', '--app', 'shop', '--app', 'billing', '--app', 'shop'],
      { name: 'ci', roles: ['deployer'], apps: ['shop', 'billing'], stage: 'local', json: false },
    ],
    [
      ['--name', 'ci', '--role', 'viewer', '--environment=staging', '--environment=qa'],
      { name: 'ci', roles: ['viewer'], environments: ['staging', 'qa'], stage: 'local', json: false },
    ],
  ])('reads %j', (args, command) => {
    expect(parseTokenArgs(args)).toStrictEqual(command);
  });

  it('leaves apps and environments out when no flag limits them', () => {
    expect(Object.keys(parseTokenArgs(['--name', 'ci', '--role', 'admin']))).toEqual([
      'name',
      'roles',
      'stage',
      'json',
    ]);
  });

  it.each([
    [
      ['--name', 'ci', '--role', 'deployer', '--app', 'Shop'],
      '--app "Shop": expected lowercase letters, digits and dashes, starting with a letter',
    ],
    [
      ['--name', 'ci', '--role', 'deployer', '--environment', 'prod env'],
      '--environment "prod env": expected lowercase letters, digits and dashes, starting with a letter',
    ],
    [
      ['--name', 'oidc:github', '--role', 'deployer'],
      '--name "oidc:github": names starting with oidc: are kept for OIDC callers',
    ],
  ])('refuses %j', (args, message) => {
    expect(() => parseTokenArgs(args)).toThrow(new UsageError(message));
  });

  const apps = { shop: ['staging', 'production'], billing: ['staging', 'qa'] };

  it('accepts a scope naming what the config has', () => {
    expect(() =>
      checkScopeAgainstConfig({ stage: 'local', apps: ['shop'], environments: ['production'] }, apps),
    ).not.toThrow();
    expect(() => checkScopeAgainstConfig({ stage: 'local', environments: ['qa'] }, apps)).not.toThrow();
    expect(() => checkScopeAgainstConfig({ stage: 'local' }, apps)).not.toThrow();
  });

  it.each([
    [{ apps: ['reports'] }, '--app reports: config/prod.yml has no app reports (apps: shop, billing)'],
    [
      { environments: ['dev'] },
      '--environment dev: no app in config/prod.yml has it (environments: staging, production, qa)',
    ],
    [
      { apps: ['shop'], environments: ['qa'] },
      '--environment qa: no app of shop in config/prod.yml has it (environments: staging, production)',
    ],
  ])('refuses a scope that could never match: %j', (scope, message) => {
    expect(() => checkScopeAgainstConfig({ stage: 'prod', ...scope }, apps)).toThrow(new UsageError(message));
  });

  it('writes the scope into the entry, between the roles and when', () => {
    const made = tokenEntry('ci', ['deployer'], 'slw_x', new Date('2026-11-22T03:00:00Z'), {
      apps: ['shop'],
      environments: ['staging'],
    });
    expect(Object.keys(made)).toEqual(['name', 'sha256', 'roles', 'apps', 'environments', 'createdAt']);
    expect(made).toMatchObject({ apps: ['shop'], environments: ['staging'] });
    expect(Object.keys(tokenEntry('ci', ['deployer'], 'slw_x', new Date(), {}))).not.toContain('apps');
  });

  it('describes what the token may do', () => {
    expect(describeTokenGrant({ roles: ['deployer'], apps: ['shop'], environments: ['staging'] })).toBe(
      'deployer on apps shop and environments staging only',
    );
    expect(describeTokenGrant({ roles: ['viewer', 'approver'] })).toBe('viewer, approver');
  });
});
