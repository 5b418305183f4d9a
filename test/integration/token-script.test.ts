import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileTokenSource } from '../../lib/auth/token-source';
import { findPrincipal, hashToken } from '../../lib/auth/tokens';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let stateDir: string;

// What `npx tsx` resolves to, without npm's own notices on stderr.
const TSX = 'node_modules/.bin/tsx';

/** `tsx scripts/token.ts …` (as `npm run token` runs it) from the project root, with the local state in a temp folder. */
function runTokenScript(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      ['scripts/token.ts', ...args],
      { env: { ...process.env, SLIPWAY_STATE_DIR: stateDir }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const tokensFile = () => join(stateDir, 'tokens.json');
const fileDocument = () => JSON.parse(readFileSync(tokensFile(), 'utf8'));

beforeEach(() => {
  stateDir = join(mkdtempSync(join(tmpdir(), 'slipway-token-script-')), 'local');
});

afterEach(() => {
  rmSync(join(stateDir, '..'), { recursive: true, force: true });
});

describe('npm run token', () => {
  it('--json prints one line {name, token, entry} and stores the entry in the local tokens file', async () => {
    // When a token is minted for the local stage
    const run = await runTokenScript(['--name', 'ci', '--role', 'deployer', '--role', 'approver', '--json']);

    // Then stdout is exactly one JSON line
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    const printed = JSON.parse(lines[0] as string);
    expect(Object.keys(printed)).toEqual(['name', 'token', 'entry']);
    expect(printed).toEqual({
      name: 'ci',
      token: expect.stringMatching(/^slw_[A-Za-z0-9_-]{43}$/),
      entry: { name: 'ci', sha256: expect.any(String), roles: ['deployer', 'approver'], createdAt: expect.any(String) },
    });
    expect(printed.entry.sha256).toBe(hashToken(printed.token));
    expect(printed.entry.createdAt).toMatch(ISO_TIME);

    // And the file holds that entry (its hash, not the token), readable by this user only
    expect(fileDocument()).toEqual({ tokens: [printed.entry] });
    expect(readFileSync(tokensFile(), 'utf8')).not.toContain(printed.token);
    expect(statSync(tokensFile()).mode & 0o777).toBe(0o600);
    expect(readdirSync(stateDir)).toEqual(['tokens.json']);

    // And the running API would accept the token at once
    expect(findPrincipal(printed.token, await fileTokenSource(tokensFile())())).toEqual({
      name: 'ci',
      roles: ['deployer', 'approver'],
    });
  });

  it('replaces an entry by name and appends a new name', async () => {
    // Given ci and ops have tokens
    const first = JSON.parse((await runTokenScript(['--name', 'ci', '--role', 'viewer', '--json'])).stdout);
    const ops = JSON.parse((await runTokenScript(['--name', 'ops', '--role', 'admin', '--json'])).stdout);

    // When ci gets a new token
    const second = JSON.parse((await runTokenScript(['--name', 'ci', '--role', 'deployer', '--json'])).stdout);

    // Then ci's entry is replaced in place, ops's kept, and the old ci token no longer works
    expect(fileDocument()).toEqual({ tokens: [second.entry, ops.entry] });
    const entries = await fileTokenSource(tokensFile())();
    expect(findPrincipal(first.token, entries)).toBeUndefined();
    expect(findPrincipal(second.token, entries)).toEqual({ name: 'ci', roles: ['deployer'] });
    expect(statSync(tokensFile()).mode & 0o777).toBe(0o600);
  });

  it('without --json shows the token once, where it was stored, and the entry for the secret', async () => {
    const run = await runTokenScript(['--name', 'alice', '--role', 'admin']);

    expect(run.code).toBe(0);
    const [entry] = fileDocument().tokens;
    const token = /slw_[A-Za-z0-9_-]{43}/.exec(run.stdout)?.[0] as string;
    expect(hashToken(token)).toBe(entry.sha256);
    expect(run.stdout.split(token)).toHaveLength(2);
    expect(run.stdout).toContain(`Added alice in ${tokensFile()}`);
    expect(run.stdout).toContain('slipway/api-tokens');
    expect(run.stdout).toContain(JSON.stringify(entry));
  });

  it("for another stage names that stage's secret and writes no file", async () => {
    const run = await runTokenScript(['--name', 'ci', '--role', 'deployer', '--stage', 'prod']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Secrets Manager secret slipway/api-tokens (stage prod)');
    expect(run.stdout).toMatch(/"name":"ci","sha256":"[0-9a-f]{64}","roles":\["deployer"\]/);
    expect(existsSync(stateDir)).toBe(false);
  });

  it.each([
    [['--name', 'ci'], 'at least one --role is required'],
    [['--role', 'admin'], '--name is required'],
    [['--name', 'ci', '--role', 'root'], '--role "root"'],
    [['--name', 'ci', '--role', 'admin', '--stage', 'nowhere'], 'there is no config/nowhere.yml'],
  ])('exits 2 with a one-line usage error for %j, minting nothing', async (args, problem) => {
    const run = await runTokenScript(args);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(problem);
    expect(run.stderr).toMatch(/^token: [^\n]*; usage: npm run token -- --name <name> --role [^\n]*\n$/);
    expect(existsSync(stateDir)).toBe(false);
  });
});
