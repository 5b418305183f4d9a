import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { PERMISSIONS, type Permission, ROLES, type Role, rolesGrant } from '../../../lib/auth/principal';
import { type TokenEntry, tokenDocumentSchema } from '../../../lib/auth/token-document';
import { fileTokenSource, localFileFirst, secretsManagerTokenSource } from '../../../lib/auth/token-source';
import { bearerToken, findPrincipal, hashToken, mintToken } from '../../../lib/auth/tokens';
import { ConfigError, UpstreamFailed } from '../../../lib/errors';

const secretsMock = mockClient(SecretsManagerClient);

const entry = (name: string, token: string, roles: Role[]): TokenEntry => ({ name, sha256: hashToken(token), roles });

describe('mintToken', () => {
  it('mints a prefixed 256-bit base64url token, different every time', () => {
    const minted = Array.from({ length: 50 }, () => mintToken());

    for (const token of minted) expect(token).toMatch(/^slw_[A-Za-z0-9_-]{43}$/);
    expect(new Set(minted).size).toBe(minted.length);
  });
});

describe('hashToken', () => {
  it.each([
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ])('hashes %j to its hex SHA-256', (token, sha256) => {
    expect(hashToken(token)).toBe(sha256);
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer slw_abc', 'slw_abc'],
    ['bearer slw_abc', 'slw_abc'],
    ['BEARER slw_abc', 'slw_abc'],
    ['Bearer   slw_abc  ', 'slw_abc'],
    ['Bearer slw_abc def', undefined],
    ['Bearer', undefined],
    ['Bearer ', undefined],
    ['Basic dXNlcjpwYXNz', undefined],
    ['slw_abc', undefined],
    [' Bearer slw_abc', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('rolesGrant', () => {
  const grants: Record<Role, Permission[]> = {
    viewer: ['read'],
    deployer: ['read', 'deploy'],
    approver: ['read', 'approve'],
    admin: ['read', 'deploy', 'approve', 'admin'],
  };
  const table = ROLES.flatMap((role) =>
    PERMISSIONS.map((permission) => [role, permission, grants[role].includes(permission)] as const),
  );

  it.each(table)('%s may %s: %s', (role, permission, granted) => {
    expect(rolesGrant([role], permission)).toBe(granted);
  });

  it('grants what any one of several roles grants', () => {
    expect(rolesGrant(['viewer', 'approver'], 'approve')).toBe(true);
    expect(rolesGrant(['deployer', 'approver'], 'admin')).toBe(false);
  });

  it('grants nothing to no roles', () => {
    expect(rolesGrant([], 'read')).toBe(false);
  });
});

describe('findPrincipal', () => {
  const ci = mintToken();
  const alice = mintToken();
  const entries = [entry('ci', ci, ['deployer']), entry('alice', alice, ['approver', 'viewer'])];

  it.each([
    ['the first entry', ci, { name: 'ci', roles: ['deployer'] }],
    ['the last entry', alice, { name: 'alice', roles: ['approver', 'viewer'] }],
    ['no entry', mintToken(), undefined],
    ['an empty token', '', undefined],
    ['a token differing by case', ci.toUpperCase(), undefined],
  ])('finds %s', (_, token, principal) => {
    expect(findPrincipal(token, entries)).toEqual(principal);
  });

  it('finds nobody among no entries', () => {
    expect(findPrincipal(ci, [])).toBeUndefined();
  });

  it('takes the first of two entries with the same hash', () => {
    const twice = [entry('first', ci, ['viewer']), entry('second', ci, ['admin'])];

    expect(findPrincipal(ci, twice)).toEqual({ name: 'first', roles: ['viewer'] });
  });

  it('hands back its own copy of the roles', () => {
    const principal = findPrincipal(ci, entries);
    principal?.roles.push('admin');

    expect(entries[0]?.roles).toEqual(['deployer']);
  });

  it('does not match a token against its own hash presented as the token', () => {
    expect(findPrincipal(hashToken(ci), entries)).toBeUndefined();
  });
});

describe('fileTokenSource', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-tokens-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is empty when the file does not exist', async () => {
    expect(await fileTokenSource(join(dir, 'tokens.json'))()).toEqual([]);
  });

  it('reads the entries, again on every call', async () => {
    // Given a tokens file with one entry
    const path = join(dir, 'tokens.json');
    const first = entry('ci', mintToken(), ['deployer']);
    writeFileSync(path, JSON.stringify({ tokens: [first] }));
    const source = fileTokenSource(path);
    expect(await source()).toEqual([first]);

    // When an entry is added to the file
    const second = { ...entry('alice', mintToken(), ['admin']), createdAt: '2026-11-22T03:00:00.000Z' };
    writeFileSync(path, JSON.stringify({ tokens: [first, second] }));

    // Then the next call sees it, with no restart
    expect(await source()).toEqual([first, second]);
  });

  it('fails with ConfigError naming the file when it is not JSON', async () => {
    const path = join(dir, 'tokens.json');
    writeFileSync(path, '{"tokens": [');

    const failure = fileTokenSource(path)();

    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toMatchObject({
      message: `${path} is not valid JSON`,
      cause: expect.any(SyntaxError),
    });
  });

  it('fails naming the bad paths but none of the values', async () => {
    const path = join(dir, 'tokens.json');
    const leaked = 'slw_a-raw-token-pasted-where-its-hash-belongs';
    writeFileSync(path, JSON.stringify({ tokens: [{ name: 'ci', sha256: leaked, roles: ['root'] }] }));

    const failure = await fileTokenSource(path)().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toBe(
      `${path} is not a valid token document (tokens.0.sha256, tokens.0.roles.0)`,
    );
    expect((failure as Error).message).not.toContain(leaked);
  });

  it('fails with ConfigError when the path cannot be read', async () => {
    const failure = fileTokenSource(dir)();

    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toMatchObject({ message: `cannot read ${dir}`, cause: { code: 'EISDIR' } });
  });
});

describe('localFileFirst', () => {
  it('reads the file when it exists and the fallback when it does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-tokens-'));
    try {
      const path = join(dir, 'tokens.json');
      const fromSecret = [entry('from-secret', mintToken(), ['viewer'])];
      const fromFile = [entry('from-file', mintToken(), ['admin'])];
      const source = localFileFirst(path, async () => fromSecret);

      expect(await source()).toEqual(fromSecret);
      writeFileSync(path, JSON.stringify({ tokens: fromFile }));
      expect(await source()).toEqual(fromFile);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('secretsManagerTokenSource', () => {
  const secretId = 'slipway/api-tokens';
  const stored = [entry('ci', mintToken(), ['deployer']), entry('ops', mintToken(), ['admin'])];
  const client = () => new SecretsManagerClient({ region: 'us-east-1' });

  beforeEach(() => {
    secretsMock.reset();
    jest.restoreAllMocks();
  });

  it('reads the secret by its id and returns its entries', async () => {
    // Given the secret holds a token document
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ tokens: stored }) });

    // When the tokens are read
    const tokens = await secretsManagerTokenSource(client(), secretId, 60)();

    // Then they are the document's entries, read with exactly the secret's id
    expect(tokens).toEqual(stored);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secretsMock.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: secretId });
  });

  it('reuses a read within maxAge, and reads again after it', async () => {
    // Given a source that keeps a read for 60 seconds
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ tokens: stored }) });
    const start = Date.now();
    const now = jest.spyOn(Date, 'now').mockReturnValue(start);
    const source = secretsManagerTokenSource(client(), secretId, 60);

    // When it is asked twice within the minute
    await source();
    now.mockReturnValue(start + 59_000);
    expect(await source()).toEqual(stored);

    // Then Secrets Manager was asked once
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);

    // And once the minute is over, it is asked again
    now.mockReturnValue(start + 61_000);
    await source();
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('reads once for 50 requests that ask at once, and answers them all from that read', async () => {
    // Given a secret that takes a moment to answer, as Secrets Manager does
    secretsMock.on(GetSecretValueCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { SecretString: JSON.stringify({ tokens: stored }) };
    });
    const source = secretsManagerTokenSource(client(), secretId, 60);

    // When 50 requests, each with a token that is not one, ask for the tokens at once
    const answers = await Promise.all(Array.from({ length: 50 }, () => source()));

    // Then one read answered them all
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(answers.every((tokens) => tokens.length === stored.length)).toBe(true);
  });

  it('answers a failed read again for a second rather than read again, then reads', async () => {
    // Given Secrets Manager failing
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const start = Date.now();
    const now = jest.spyOn(Date, 'now').mockReturnValue(start);
    const source = secretsManagerTokenSource(client(), secretId, 60);

    // When 20 requests ask within the second after the failure, and one after it
    for (let index = 0; index < 20; index += 1) await source().catch(() => undefined);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    now.mockReturnValue(start + 1_001);
    const later = await source().catch((error: unknown) => error);

    // Then the second read came only once the second was over, and still fails as Slipway's error
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(later).toEqual(new UpstreamFailed('cannot read the API tokens from Secrets Manager'));
  });

  it('fails with ConfigError naming the bad paths, never the values', async () => {
    // Given a secret whose entry holds a raw token instead of its hash
    const leaked = 'slw_a-raw-token-pasted-where-its-hash-belongs';
    secretsMock.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ tokens: [{ name: 'ci', sha256: leaked, roles: ['deployer'] }] }),
    });

    // When the tokens are read
    const failure = await secretsManagerTokenSource(client(), secretId, 60)().catch((error: unknown) => error);

    // Then it is a config error that says where, not what
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toBe(`secret ${secretId} is not a valid token document (tokens.0.sha256)`);
    expect((failure as Error).message).not.toContain(leaked);
  });

  it('fails with ConfigError for a document without tokens', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ password: 'hunter2hunter2' }) });

    const failure = await secretsManagerTokenSource(client(), secretId, 60)().catch((error: unknown) => error);

    expect(failure).toEqual(new ConfigError(`secret ${secretId} is not a valid token document (tokens)`));
    expect((failure as Error).message).not.toContain('hunter2');
  });

  it('fails with UpstreamFailed, carrying the cause, when Secrets Manager fails', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), {
      name: 'AccessDeniedException',
    });
    secretsMock.on(GetSecretValueCommand).rejects(denied);

    const failure = await secretsManagerTokenSource(client(), secretId, 60)().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UpstreamFailed);
    expect((failure as Error).message).toBe('cannot read the API tokens from Secrets Manager');
    expect((failure as Error).cause).toBeDefined();
  });

  it('fails with ConfigError, quoting nothing of it even in a cause, when the secret is not JSON', async () => {
    // Given a secret holding a raw token instead of a document
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'slw_not-json-at-all-0123456789' });

    // When the tokens are read
    const failure = await secretsManagerTokenSource(client(), secretId, 60)().catch((error: unknown) => error);

    // Then nothing that could be logged quotes the secret (JSON.parse's own message would)
    expect(failure).toEqual(new ConfigError(`secret ${secretId} is not valid JSON`));
    expect((failure as Error).cause).toBeUndefined();
  });

  it('fails with UpstreamFailed when the secret holds only binary', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([123, 125]) });

    const failure = await secretsManagerTokenSource(client(), secretId, 60)().catch((error: unknown) => error);

    expect(failure).toEqual(new UpstreamFailed(`secret ${secretId} has no string value`));
  });
});

describe('scoped token entries', () => {
  const ci = mintToken();
  const scoped: TokenEntry = { ...entry('ci', ci, ['deployer']), apps: ['shop'], environments: ['staging'] };

  it('read apps and environments from the document', () => {
    expect(tokenDocumentSchema.parse({ tokens: [scoped] }).tokens[0]).toEqual(scoped);
  });

  it('give the principal a scope, and no scope key when the entry limits nothing', () => {
    expect(findPrincipal(ci, [scoped])).toEqual({
      name: 'ci',
      roles: ['deployer'],
      scope: { apps: ['shop'], environments: ['staging'] },
    });
    expect(findPrincipal(ci, [{ ...scoped, environments: undefined }])).toEqual({
      name: 'ci',
      roles: ['deployer'],
      scope: { apps: ['shop'] },
    });
    expect(Object.keys(findPrincipal(ci, [entry('ci', ci, ['viewer'])]) ?? {})).toEqual(['name', 'roles']);
  });

  it('hand back their own copy of the scope', () => {
    findPrincipal(ci, [scoped])?.scope?.apps?.push('billing');
    expect(scoped.apps).toEqual(['shop']);
  });

  it.each([
    ['an empty app list', { apps: [] }, 'tokens.0.apps'],
    ['an app name the config could not have', { apps: ['Shop'] }, 'tokens.0.apps.0'],
    ['an empty environment list', { environments: [] }, 'tokens.0.environments'],
    ['excludeEnvironments, which only OIDC rules have', { excludeEnvironments: ['production'] }, 'tokens.0'],
    [
      'a name kept for OIDC callers',
      { name: 'oidc:token.actions.githubusercontent.com:repo:org/shop' },
      'tokens.0.name',
    ],
  ])('refuse %s', (_case, change, path) => {
    const result = tokenDocumentSchema.safeParse({ tokens: [{ ...entry('ci', ci, ['viewer']), ...change }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });
});
