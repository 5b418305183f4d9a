import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { interrupt, killLaunchers, type Launched, startLauncher } from '../support/launcher';
import { freePort, isAlive } from '../support/processes';

const adminToken = mintToken();
const viewerToken = mintToken();
let stateDir: string;
let httpPort: number;
let lambdaPort: number;

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|ENDPOINT_URL)/.test(key)) delete env[key];
  }
  return {
    ...env,
    // No credentials on this machine: readiness must report the unreachable services as skipped.
    AWS_SHARED_CREDENTIALS_FILE: join(stateDir, 'no-credentials'),
    AWS_CONFIG_FILE: join(stateDir, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    SLIPWAY_STATE_DIR: stateDir,
    SLIPWAY_HTTP_PORT: String(httpPort),
    SLIPWAY_LAMBDA_PORT: String(lambdaPort),
  };
}

async function launch(): Promise<Launched & { dynamodbEndpoint: string }> {
  const launcher = await startLauncher(['--stage', 'local'], cleanEnv());
  const dynamodbEndpoint = /DynamoDB\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(launcher.output())?.[1] ?? '';
  return { ...launcher, dynamodbEndpoint };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Whether serverless-offline reported an invocation of `functionKey` under `requestId` (its line may trail the answer). */
async function invocationReported(launcher: Launched, functionKey: string, requestId: string | undefined) {
  const line = `(λ: ${functionKey}) RequestId: ${requestId} `;
  for (let attempt = 0; attempt < 50 && !launcher.output().includes(line); attempt++) {
    await new Promise((done) => setTimeout(done, 100));
  }
  return launcher.output().includes(line);
}

/** Live processes among `pids` once they have had a few seconds to exit (stdin-driven helpers end on EOF). */
async function survivors(pids: number[]): Promise<number[]> {
  for (let attempt = 0; attempt < 50 && pids.some(isAlive); attempt++) {
    await new Promise((done) => setTimeout(done, 100));
  }
  return pids.filter(isAlive);
}

async function get(path: string, token?: string) {
  const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const dynamodb = (endpoint: string) =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });

/** `node bin/slipway.mjs …` as a user runs it against this launcher. */
function slipway(args: string[], token: string) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['bin/slipway.mjs', ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: stateDir,
        XDG_CONFIG_HOME: join(stateDir, 'no-profile'),
        SLIPWAY_URL: `http://127.0.0.1:${httpPort}`,
        SLIPWAY_TOKEN: token,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'slipway-launcher-'));
  httpPort = await freePort();
  lambdaPort = await freePort();
  writeFileSync(
    join(stateDir, 'tokens.json'),
    JSON.stringify({
      tokens: [
        { name: 'admin', sha256: hashToken(adminToken), roles: ['admin'] },
        { name: 'viewer', sha256: hashToken(viewerToken), roles: ['viewer'] },
      ],
    }),
  );
});

afterAll(() => {
  killLaunchers();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start launcher', () => {
  it('serves the API over a real socket, keeps state across restarts and leaves no process behind', async () => {
    // Given a first start on an empty state folder
    const first = await launch();
    try {
      // Then it reports where everything listens and how to get a token
      expect(first.output()).toContain(`HTTP API        http://127.0.0.1:${httpPort}`);
      expect(first.output()).toContain('table slipway-local-state: created');
      expect(first.output()).toContain('bucket slipway-local-backups: created');
      expect(first.output()).toContain('npm run token -- --stage local');
      // And, with no AWS endpoint set, says volume archives run in serverless-offline, not in AWS
      expect(first.output()).toContain(
        `Lambda invoke   http://127.0.0.1:${lambdaPort}   (serverless-offline: every function, volume archives and restores among them)`,
      );

      // And the public health routes answer without a token
      const health = await get('/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'ok', stage: 'local', version: expect.any(String) });
      expect(await get('/health/live')).toEqual({ status: 200, body: { status: 'alive' } });

      // And readiness is protected, and healthy against the embedded servers
      expect((await get('/health/ready')).status).toBe(401);
      const ready = await get('/health/ready', viewerToken);
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        status: 'healthy',
        checks: {
          stateTable: { status: 'healthy', latency_ms: expect.any(Number) },
          backupBucket: { status: 'healthy', latency_ms: expect.any(Number) },
          secretsManager: { status: 'skipped', latency_ms: expect.any(Number) },
          ecs: { status: 'skipped', latency_ms: expect.any(Number) },
        },
      });

      // And an unknown route is a JSON 404
      expect(await get('/v1/no-such-thing', adminToken)).toEqual({
        status: 404,
        body: {
          error: {
            code: 'NOT_FOUND',
            message: 'no route for GET /v1/no-such-thing',
            details: { method: 'GET', path: '/v1/no-such-thing' },
          },
        },
      });

      // And the deployment routes are served: reads from the embedded table, refusals with the field and reason
      const apps = await get('/v1/apps', viewerToken);
      expect(apps.status).toBe(200);
      expect(apps.body).toMatchObject({
        apps: [{ name: 'shop', environments: [{ name: 'staging' }, { name: 'production', approvals: 1 }] }],
      });
      const history = await get('/v1/apps/shop/environments/staging/deployments?limit=5', viewerToken);
      expect(history).toEqual({ status: 200, body: { deployments: [] } });
      const post = async (path: string, token: string, body: unknown) => {
        const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return {
          status: response.status,
          body: (await response.json()) as { error?: { message?: string; details?: { requestId?: string } } },
        };
      };
      expect(
        (await post('/v1/deployments', viewerToken, { app: 'shop', environment: 'staging', tag: '1.0.0' })).status,
      ).toBe(403);
      const neither = await post('/v1/deployments', adminToken, { app: 'shop', environment: 'staging' });
      expect(neither).toMatchObject({
        status: 400,
        body: { error: { message: 'body.tag: is required: give exactly one of tag or digest' } },
      });
      const unknown = await post('/v1/deployments', adminToken, { app: 'nope', environment: 'staging', tag: '1.0.0' });
      expect(unknown).toMatchObject({ status: 404, body: { error: { message: 'no app named nope' } } });

      // And a deploy, with neither AWS credentials nor an endpoint nor --sandbox, says what to set
      const unreachable = await post('/v1/deployments', adminToken, {
        app: 'shop',
        environment: 'staging',
        tag: '1.0.0',
      });
      expect(unreachable).toEqual({
        status: 503,
        body: {
          error: {
            code: 'UNAVAILABLE',
            message:
              'ECS and ECR are not reachable from this machine: set AWS credentials, AWS_ENDPOINT_URL, or start with --sandbox',
            details: { requestId: expect.stringMatching(UUID) },
          },
        },
      });
      // And the id it quotes is the invocation's own: the one serverless-offline gave the Lambda context and
      // reports once the invocation ends
      const quoted = unreachable.body.error?.details?.requestId;
      expect(await invocationReported(first, 'createDeployment', quoted)).toBe(true);

      // And it is no sandbox: no mark on its answers, and `slipway sandbox` refuses it
      const plain = await fetch(`http://127.0.0.1:${httpPort}/health`);
      expect(plain.headers.get('x-slipway-sandbox')).toBeNull();
      expect(await plain.json()).not.toHaveProperty('sandbox');
      const refused = await slipway(['sandbox', 'push', 'shop', 'develop-43'], adminToken);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        `http://127.0.0.1:${httpPort} is not a sandbox (stage local, and its GET /health names no sandbox): slipway sandbox works only against a control plane started with npm start -- --sandbox`,
      );

      // When something is written to the embedded state table
      await dynamodb(first.dynamodbEndpoint).send(
        new PutItemCommand({
          TableName: 'slipway-local-state',
          Item: { pk: { S: 'TEST#restart' }, sk: { S: 'ITEM' }, value: { S: 'kept' } },
        }),
      );
    } finally {
      // And the launcher is stopped with Ctrl-C
      expect(await interrupt(first)).toBe(0);
    }

    // Then every process it started is gone and the port is closed
    expect(first.pids.length).toBeGreaterThan(0);
    expect(await survivors(first.pids)).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${httpPort}/health`)).rejects.toThrow();

    // When it starts again on the same state folder
    const second = await launch();
    try {
      // Then the table and bucket are reused and the data survived
      expect(second.output()).toContain('table slipway-local-state: exists');
      expect(second.output()).toContain('bucket slipway-local-backups: exists');
      const { Item } = await dynamodb(second.dynamodbEndpoint).send(
        new GetItemCommand({ TableName: 'slipway-local-state', Key: { pk: { S: 'TEST#restart' }, sk: { S: 'ITEM' } } }),
      );
      expect(Item?.value).toEqual({ S: 'kept' });
    } finally {
      expect(await interrupt(second)).toBe(0);
    }
    expect(await survivors(second.pids)).toEqual([]);
  });

  it('starts the sandbox with SLIPWAY_SANDBOX=1 and no flag: stage sandbox, its ECS reached, every answer marked', async () => {
    // Given SLIPWAY_SANDBOX=1, no --sandbox and no --stage, on a machine without AWS, and a token for it
    const sandboxState = join(stateDir, 'sandbox-by-env');
    mkdirSync(sandboxState);
    copyFileSync(join(stateDir, 'tokens.json'), join(sandboxState, 'tokens.json'));

    // When npm start runs
    const launcher = await startLauncher([], { ...cleanEnv(), SLIPWAY_SANDBOX: '1', SLIPWAY_STATE_DIR: sandboxState });
    try {
      // Then it runs stage sandbox against the simulated AWS, kept in its state folder
      expect(launcher.output()).toContain('Slipway is running (stage sandbox, SANDBOX: simulated AWS)');
      expect(launcher.output()).toContain(`Sandbox state   ${join(sandboxState, 'aws')}`);
      const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
      expect(health.headers.get('x-slipway-sandbox')).toBe('true');
      expect(await health.json()).toMatchObject({
        stage: 'sandbox',
        sandbox: { endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) },
      });

      // And the functions reach ECS there, where the local stage has none to reach
      const ready = await get('/health/ready', viewerToken);
      expect(ready.body).toMatchObject({ checks: { ecs: { status: 'healthy' } } });
    } finally {
      expect(await interrupt(launcher)).toBe(0);
    }
    expect(await survivors(launcher.pids)).toEqual([]);
  });

  it('refuses an invalid stage config before starting anything', async () => {
    // Given a stage with no config file
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--stage', 'no-such-stage'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    // When it runs / Then it fails naming the file
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('slipway: config/no-such-stage.yml: cannot be read (ENOENT)');
  });
});
