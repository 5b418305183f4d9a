import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interrupt, killLaunchers, type Launched, startLauncher } from '../support/launcher';
import { freePort } from '../support/processes';

/**
 * README's sandbox tour, run as written: the commands of its code block, in one shell, against a fresh
 * `npm start -- --sandbox` with no AWS credentials and no endpoint on this machine. docs/getting-started.md
 * opens with the same block. Nothing is stubbed: the launcher, serverless-offline, the functions, dynalite,
 * s3rver, the sandbox and the CLI are the ones a new user runs.
 */

const readme = readFileSync('README.md', 'utf8');
const gettingStarted = readFileSync('docs/getting-started.md', 'utf8');

/** The first ```sh block after `heading`. */
function blockAfter(text: string, heading: string): string {
  const at = text.indexOf(heading);
  if (at === -1) throw new Error(`no ${heading}`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at))?.[1];
  if (!block) throw new Error(`no sh block after ${heading}`);
  return block;
}

const tour = blockAfter(readme, '### The sandbox tour');

let work: string;
let stateDir: string;
let httpPort: number;
let launcher: Launched | undefined;

function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|ENDPOINT_URL)|SLIPWAY_)/.test(key))
      delete env[key];
  }
  return {
    ...env,
    // A new user's machine: no AWS credentials anywhere, no endpoint, no CLI profile
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
    AWS_CONFIG_FILE: join(work, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    XDG_CONFIG_HOME: join(work, 'no-profile'),
    SLIPWAY_STATE_DIR: stateDir,
    SLIPWAY_HTTP_PORT: String(httpPort),
  };
}

function shell(script: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', ['-e', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-sandbox-tour-'));
  stateDir = join(work, 'sandbox');
  httpPort = await freePort();
});

afterAll(() => {
  killLaunchers();
  rmSync(work, { recursive: true, force: true });
});

describe("README's sandbox tour", () => {
  it('is the line under the run command, and getting started opens with it', () => {
    const lines = blockAfter(readme, '## Two commands').split('\n');
    expect(lines[0]).toMatch(/^npm ci && npm start\s/);
    expect(lines[1]).toMatch(/^npm start -- --sandbox\s/);
    const there = gettingStarted.indexOf(`\`\`\`sh\n${tour}\`\`\``);
    expect(there).toBeGreaterThan(gettingStarted.indexOf('## 0. Try it without AWS: the sandbox'));
    expect(there).toBeLessThan(gettingStarted.indexOf('## 1. '));
  });

  it('runs as written against a fresh npm start -- --sandbox, and each step does what its comment says', async () => {
    // Given a fresh `npm start -- --sandbox` on a machine without AWS
    const began = Date.now();
    launcher = await startLauncher(['--sandbox'], { ...environment(), SLIPWAY_LAMBDA_PORT: String(await freePort()) });
    const api = `http://127.0.0.1:${httpPort}`;
    try {
      // Then it says it is a sandbox: the banner, /health, the header
      expect(launcher.output()).toContain('Slipway is running (stage sandbox, SANDBOX: simulated AWS)');
      // And says what is simulated, what runs on this machine, and where the rest would go
      const banner = launcher.output();
      expect(banner).toMatch(
        /SANDBOX +ECS, ECR, RDS, CloudWatch alarm states and EventBridge delivery are simulated at http:\/\/127\.0\.0\.1:\d+ \(account 123456789012, us-east-1\); none of them reaches AWS/,
      );
      expect(banner).toMatch(/DynamoDB +http:\/\/127\.0\.0\.1:\d+ +\(dynalite, on this machine\)/);
      expect(banner).toMatch(
        /S3 +http:\/\/127\.0\.0\.1:\d+ +bucket slipway-sandbox-backups +\(s3rver, on this machine\)/,
      );
      expect(banner).toContain(
        'Other services  Secrets Manager (API tokens until one is minted here): AWS (usual credential chain); SNS, SQS: none (no topic or queue under npm start)',
      );
      // And that volume archives run in serverless-offline's Lambda, on the volume's directory here
      expect(banner).toMatch(
        /Lambda invoke +http:\/\/127\.0\.0\.1:\d+ +\(serverless-offline: every function, volume archives and restores among them\)/,
      );
      expect(banner).toContain(`Volumes         ${join(stateDir, 'volumes', 'shop-uploads')}`);
      expect(banner).not.toContain('Other services  AWS');
      const health = await fetch(`${api}/health`);
      expect(health.headers.get('x-slipway-sandbox')).toBe('true');
      expect(await health.json()).toMatchObject({
        stage: 'sandbox',
        sandbox: { endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) },
      });

      // When README's tour runs, as written, in one shell
      const toured = Date.now();
      const ran = await shell(tour, environment());
      const seconds = (since: number) => Math.round((Date.now() - since) / 1000);
      process.stdout.write(`sandbox tour: ${seconds(toured)} s for the tour, ${seconds(began)} s from npm start\n`);

      // Then every command succeeded
      if (ran.code !== 0) process.stderr.write(`the tour's shell said:\n${ran.stderr}\n${ran.stdout}\n`);
      expect({ code: ran.code, stderr: ran.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      const out = ran.stdout;
      // status: what the sandbox was seeded with
      expect(out.slice(0, out.indexOf('Pushed'))).toMatch(
        /Service +shop-staging\/backend \(ACTIVE\)[\s\S]*Tasks +2\/2/,
      );
      // push: the image is in ECR
      expect(out).toMatch(/Pushed shop-backend:release-43 \(sha256:[0-9a-f]{64}\)/);
      // deploy --wait: followed to its end
      expect(out).toMatch(/SUCCEEDED/);
      // alarm: the state change was delivered
      expect(out).toMatch(/Alarm \S+-availability of shop staging is ALARM; the state change was delivered\./);
      // history: the rollback the alarm asked for
      expect(out).toMatch(/rollback/);
      expect(out).toMatch(/alarm:\S+-availability/);
      // backup and restore: a snapshot taken, an instance restored
      expect(out).toMatch(/rds-snapshot/);
      expect(out).toMatch(/shop-db-restore-1[\s\S]*AVAILABLE/);
      // volume backup and restore: archived by the volume's function, restored beside the live files
      expect(out).toMatch(/Backup bkp-\S+: volume-archive of volume shop-uploads/);
      expect(out).toMatch(/Restore rst-\S+ AVAILABLE after [^:]+: volume shop-uploads into restored-1/);
      expect(out).toMatch(/^identical$/m);

      // And the rollback the alarm started ends SUCCEEDED, asked for by the alarm
      const minted = await shell(
        'npm run -s token -- --stage sandbox --name checker --role viewer --json',
        environment(),
      );
      const { token } = JSON.parse(minted.stdout) as { token: string };
      // And readiness reaches ECS in the sandbox, where without it there is nothing to reach
      const ready = await fetch(`${api}/health/ready`, { headers: { authorization: `Bearer ${token}` } });
      expect(await ready.json()).toMatchObject({ checks: { ecs: { status: 'healthy' } } });

      let latest: Record<string, unknown> | undefined;
      for (let attempt = 0; attempt < 60; attempt += 1) {
        const answer = await fetch(`${api}/v1/apps/shop/environments/staging/deployments?limit=1`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(answer.headers.get('x-slipway-sandbox')).toBe('true');
        latest = ((await answer.json()) as { deployments: Array<Record<string, unknown>> }).deployments[0];
        if (latest?.state !== 'IN_PROGRESS') break;
        await new Promise((done) => setTimeout(done, 500));
      }
      expect(latest).toMatchObject({
        kind: 'rollback',
        state: 'SUCCEEDED',
        requestedBy: { name: expect.stringMatching(/^alarm:.+-availability$/) },
      });

      // And the simulated AWS is kept under the state directory
      expect(existsSync(join(stateDir, 'aws'))).toBe(true);

      // And every file of the volume came back byte for byte, the live files untouched beside them
      const volume = join(stateDir, 'volumes', 'shop-uploads');
      const files = readdirSync(volume, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name).slice(volume.length + 1))
        .filter((path) => !path.startsWith('restored-1/'))
        .sort();
      expect(files).toEqual([
        'README.txt',
        'uploads/2026/invoice-1.txt',
        'uploads/2026/invoice-2.txt',
        'uploads/2026/invoice-3.txt',
      ]);
      for (const file of files) {
        expect(readFileSync(join(volume, 'restored-1', file)).equals(readFileSync(join(volume, file)))).toBe(true);
      }
    } finally {
      expect(await interrupt(launcher)).toBe(0);
    }
  });
});
