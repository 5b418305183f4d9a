import { type Io, main } from '../../../packages/cli/src/main';
import type { Clock } from '../../../packages/cli/src/wait';
import { controlPlane, deploymentRecord } from '../../support/control-plane-fake';

const TOKEN = 'slw_unit-test-token-0001';
const ENV = { SLIPWAY_URL: 'http://127.0.0.1:3000', SLIPWAY_TOKEN: TOKEN };

const noWaitClock: Clock = { now: () => 0, sleep: async () => undefined };

async function run(argv: string[], io: Partial<Io> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: ENV,
    isTTY: false,
    version: '0.1.0',
    clock: noWaitClock,
    readProfile: () => undefined,
    ...io,
  });
  expect(`${stdout}${stderr}`).not.toContain(TOKEN);
  return { code, stdout, stderr };
}

const requested = { state: 'REQUESTED' as const, at: '2026-11-23T10:00:00.000Z', by: 'ci' };
const started = { state: 'IN_PROGRESS' as const, at: '2026-11-23T10:00:01.000Z', note: 'ECS deployment ecs-svc/1' };
const failed = {
  state: 'FAILED' as const,
  at: '2026-11-23T10:00:40.000Z',
  note: 'ECS deployment circuit breaker: tasks failed to start.',
};

describe('main', () => {
  it('follows a deployment to its failure: steps, verdict with the reason, exit 1', async () => {
    // Given a deployment that fails on its second read
    const reads = [
      deploymentRecord('IN_PROGRESS', [requested, started]),
      deploymentRecord('FAILED', [requested, started, failed]),
    ];
    const { fake, requests } = controlPlane({
      'POST /v1/deployments': () => ({
        status: 202,
        body: { deployment: deploymentRecord('IN_PROGRESS', [requested, started]) },
      }),
      'GET /v1/deployments/dep-1': () => ({ status: 200, body: { deployment: reads.shift() } }),
    });

    // When it is deployed with --wait
    const result = await run(['deploy', 'shop', 'staging', '--tag', '1.5.0', '--wait'], { fetch: fake });

    // Then each step is printed once and the verdict carries the reason
    expect(result).toEqual({
      code: 1,
      stderr: '',
      stdout: [
        'Deployment dep-1: deploy shop/staging → 1.5.0 (sha256:bbbbbbbbbbbb), IN_PROGRESS',
        '2026-11-23T10:00:00Z REQUESTED (by ci)',
        '2026-11-23T10:00:01Z IN_PROGRESS ECS deployment ecs-svc/1',
        '2026-11-23T10:00:40Z FAILED ECS deployment circuit breaker: tasks failed to start.',
        'Deployment dep-1 FAILED after 40s: ECS deployment circuit breaker: tasks failed to start.',
        '',
      ].join('\n'),
    });
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/deployments',
      'GET /v1/deployments/dep-1',
      'GET /v1/deployments/dep-1',
    ]);
    expect(requests[0]?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('with --json, prints one document: the final record', async () => {
    const { fake } = controlPlane({
      'POST /v1/deployments': () => ({
        status: 202,
        body: { deployment: deploymentRecord('IN_PROGRESS', [requested, started]) },
      }),
      'GET /v1/deployments/dep-1': () => ({
        status: 200,
        body: { deployment: deploymentRecord('FAILED', [requested, started, failed]) },
      }),
    });
    const result = await run(['deploy', 'shop', 'staging', '--tag', '1.5.0', '--wait', '--json'], { fetch: fake });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ deployment: deploymentRecord('FAILED', [requested, started, failed]) });
  });

  it('on Ctrl-C stops following, says the deployment keeps running, exit 130', async () => {
    // Given Ctrl-C pressed during the first wait
    let interrupt: () => void = () => undefined;
    const clock: Clock = { now: () => 0, sleep: async () => interrupt() };
    const { fake } = controlPlane({
      'POST /v1/deployments': () => ({
        status: 202,
        body: { deployment: deploymentRecord('IN_PROGRESS', [requested, started]) },
      }),
    });

    // When a deploy is followed
    const result = await run(['deploy', 'shop', 'staging', '--tag', '1.5.0', '--wait'], {
      fetch: fake,
      clock,
      onInterrupt: (handler) => {
        interrupt = handler;
        return () => {
          interrupt = () => undefined;
        };
      },
    });

    // Then it stops following with a line saying what still runs
    expect(result.code).toBe(130);
    expect(result.stderr).toBe(
      'slipway: stopped following dep-1; the deployment keeps running on the control plane (slipway status shop staging)\n',
    );
  });

  it('gives up after --timeout minutes with exit 1, saying it still runs', async () => {
    let now = 0;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const { fake } = controlPlane({
      'POST /v1/deployments': () => ({
        status: 202,
        body: { deployment: deploymentRecord('IN_PROGRESS', [requested, started]) },
      }),
      'GET /v1/deployments/dep-1': () => ({
        status: 200,
        body: { deployment: deploymentRecord('IN_PROGRESS', [requested, started]) },
      }),
    });
    const result = await run(['deploy', 'shop', 'staging', '--tag', '1.5.0', '--wait', '--timeout', '1'], {
      fetch: fake,
      clock,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'slipway: gave up following dep-1 after 1 min; it is still IN_PROGRESS on the control plane (slipway status shop staging)\n',
    );
  });

  it('follows history cursors up to the limit asked for', async () => {
    // Given pages of 100 with a cursor each time
    const page = (from: number, count: number, cursor?: string) => ({
      deployments: Array.from({ length: count }, (_, index) => ({
        ...deploymentRecord('SUCCEEDED', [requested]),
        id: `dep-${from + index}`,
      })),
      ...(cursor ? { cursor } : {}),
    });
    const { fake, requests } = controlPlane({
      'GET /v1/apps/shop/environments/staging/deployments': ({ url }) => {
        const cursor = url.searchParams.get('cursor');
        const limit = Number(url.searchParams.get('limit'));
        return { status: 200, body: cursor ? page(100, limit, 'c2') : page(0, limit, 'c1') };
      },
    });

    // When 150 are asked for
    const result = await run(['history', 'shop', 'staging', '--limit', '150', '--json'], { fetch: fake });

    // Then two pages were read, the second only for what was missing, and the cursor to go on is kept
    expect(requests.map((request) => request.query)).toEqual(['?limit=100', '?limit=50&cursor=c1']);
    const body = JSON.parse(result.stdout);
    expect(body.deployments).toHaveLength(150);
    expect(body.cursor).toBe('c2');
  });

  it('reads the audit trail page by page up to --limit, keeping since and until on every page', async () => {
    // Given pages of 500 with a cursor each time
    const entry = (index: number) => ({
      id: `a-${index}`,
      at: '2026-12-05T09:00:00.000Z',
      source: 'http',
      actor: 'ci',
      action: 'createDeployment',
      decision: 'allowed',
      target: { app: 'shop' },
      outcome: { result: 'succeeded', status: 202 },
    });
    const { fake, requests } = controlPlane({
      'GET /v1/audit': ({ url }) => {
        const limit = Number(url.searchParams.get('limit'));
        const from = url.searchParams.get('cursor') ? 500 : 0;
        return {
          status: 200,
          body: { entries: Array.from({ length: limit }, (_, index) => entry(from + index)), cursor: `c${from}` },
        };
      },
    });

    // When 700 entries since a day are asked for
    const result = await run(['audit', '--since', '2026-12-05', '--limit', '700', '--json'], { fetch: fake });

    // Then two pages, the second only for what was missing
    expect(requests.map((request) => request.query)).toEqual([
      '?since=2026-12-05&limit=500',
      '?since=2026-12-05&limit=200&cursor=c0',
    ]);
    const body = JSON.parse(result.stdout);
    expect(body.entries).toHaveLength(700);
    expect(body.entries.at(-1).id).toBe('a-699');
    expect(body.cursor).toBe('c500');
  });

  it('shows an app’s environments from one request per environment', async () => {
    const view = (environment: string) => ({
      app: 'shop',
      environment,
      cluster: `shop-${environment}`,
      service: 'backend',
      approvals: 0,
      running: { images: {}, desiredCount: 2, runningCount: 2, pendingCount: 0 },
    });
    const { fake } = controlPlane({
      'GET /v1/apps': () => ({
        status: 200,
        body: {
          apps: [
            {
              name: 'shop',
              environments: [
                { name: 'staging', cluster: 'shop-staging', service: 'backend', approvals: 0 },
                { name: 'production', cluster: 'shop-production', service: 'backend', approvals: 1 },
              ],
            },
          ],
        },
      }),
      'GET /v1/apps/shop/environments/staging': () => ({ status: 200, body: { environment: view('staging') } }),
      'GET /v1/apps/shop/environments/production': () => ({ status: 200, body: { environment: view('production') } }),
    });
    const result = await run(['status', 'shop', '--json'], { fetch: fake });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ app: 'shop', environments: [view('staging'), view('production')] });

    const unknown = await run(['status', 'nope'], { fetch: fake });
    expect(unknown).toEqual({ code: 3, stdout: '', stderr: 'slipway: no app named nope (apps: shop)\n' });
  });

  it('follows a restore until it is available', async () => {
    const restore = (status: string) => ({
      id: 'rst-1',
      kind: 'postgres-dump',
      database: 'shop-db',
      backupId: 'bkp-1',
      target: { database: 'shop_restored' },
      force: false,
      runner: 'ecs',
      status,
      requestedBy: 'alice',
      drill: false,
      createdAt: '2026-11-23T10:00:00.000Z',
      updatedAt: status === 'AVAILABLE' ? '2026-11-23T10:03:00.000Z' : '2026-11-23T10:00:10.000Z',
      ...(status === 'AVAILABLE' ? { durationSeconds: 180 } : {}),
    });
    const reads = [restore('RESTORING'), restore('AVAILABLE')];
    const { fake, requests } = controlPlane({
      'POST /v1/restores': () => ({ status: 202, body: { restore: restore('QUEUED') } }),
      'GET /v1/restores/rst-1': () => ({ status: 200, body: { restore: reads.shift() } }),
    });
    const result = await run(
      ['restore', '--database', 'shop-db', '--dump', '--target-database', 'shop_restored', '--wait'],
      { fetch: fake },
    );
    expect(requests[0]?.body).toEqual({ kind: 'postgres-dump', database: 'shop-db', targetDatabase: 'shop_restored' });
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'Restore rst-1: dump of shop-db into database shop_restored, QUEUED',
        '2026-11-23T10:00:10Z RESTORING',
        '2026-11-23T10:03:00Z AVAILABLE',
        'Restore rst-1 AVAILABLE after 3m00s: dump of shop-db into database shop_restored',
        '',
      ].join('\n'),
    });
  });

  it('sends token minting to a checkout, beside the control plane, without a request', async () => {
    // Given a control plane that would answer anything
    const { fake, requests } = controlPlane({});

    // When a token is asked for
    const result = await run(['token', 'mint', '--name', 'ci', '--role', 'deployer'], { fetch: fake });

    // Then the usage exit says where tokens are minted, and nothing was sent
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'slipway: tokens are minted in a Slipway checkout, beside the control plane: npm run token -- --name <name> --role <role>\n',
    });
    expect(requests).toEqual([]);
  });

  it.each([
    ['SLIPWAY_URL', ['status'], { SLIPWAY_URL: 'http://slipway.example.com', SLIPWAY_TOKEN: TOKEN }, 'SLIPWAY_URL'],
    ['--url', ['--url', 'http://10.0.0.7:3000', 'status'], { SLIPWAY_TOKEN: TOKEN }, '--url'],
    [
      'a profile',
      ['status'],
      { SLIPWAY_TOKEN: TOKEN },
      'profile default in /home/alice/.config/slipway/config.json',
      { text: JSON.stringify({ profiles: { default: { url: 'http://slipway.internal' } } }), mode: 0o600 },
    ],
  ])('never sends the token over http:// to another host (URL from %s) without --insecure', async (...example) => {
    const [, argv, env, source, profile] = example as [string, string[], NodeJS.ProcessEnv, string, unknown];
    // Given a control plane reached over plain http on a host that is not this machine
    const { fake, requests } = controlPlane({ 'GET /v1/apps': () => ({ status: 200, body: { apps: [] } }) });
    const io = {
      env,
      fetch: fake,
      home: '/home/alice',
      ...(profile ? { readProfile: () => profile as { text: string; mode: number } } : {}),
    };

    // When a command runs without --insecure, it is refused before any request
    const refused = await run(argv, io);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      new RegExp(`^slipway: ${source.replace(/[.]/g, '\\.')} "http://[^"]+": would send the API token in clear text`),
    );
    expect(requests).toEqual([]);

    // And with --insecure it goes, over http, as asked
    const allowed = await run([...argv, '--insecure'], io);
    expect(allowed.code).toBe(0);
    expect(requests.map((request) => request.authorization)).toEqual([`Bearer ${TOKEN}`]);
  });

  it.each(['http://127.0.0.1:3000', 'http://127.8.9.10', 'http://localhost:3000', 'http://[::1]:3000'])(
    'sends the token over http:// to %s, a loopback address, with no flag',
    async (url) => {
      const { fake, requests } = controlPlane({ 'GET /v1/apps': () => ({ status: 200, body: { apps: [] } }) });
      const { code } = await run(['status'], { env: { SLIPWAY_URL: url, SLIPWAY_TOKEN: TOKEN }, fetch: fake });
      expect(code).toBe(0);
      expect(requests).toHaveLength(1);
    },
  );

  it('prints help and the version on stdout with exit 0, and usage errors on stderr with exit 2', async () => {
    expect((await run(['--version'])).stdout).toBe('slipway 0.1.0\n');
    const help = await run(['restore', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('slipway restore --volume V [--backup B] [--target-path P] [--force] [--wait]');
    expect(help.stdout).toContain('3    the control plane refused the request (4xx)');
    expect(await run(['deploy', 'shop'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'slipway: missing <env>; see slipway deploy --help\n',
    });
  });
});

describe('slipway sandbox', () => {
  const SANDBOX = 'http://127.0.0.1:45999';
  const health = (sandbox?: { endpoint: string }) => () => ({
    status: 200,
    body: { status: 'ok', version: '0.1.0', stage: sandbox ? 'sandbox' : 'local', uptime_seconds: 3, ...{ sandbox } },
  });

  it('push: adds the image through the endpoint /health names, without sending the token there', async () => {
    // Given a control plane started with --sandbox
    const { fake, requests } = controlPlane({
      'GET /health': health({ endpoint: SANDBOX }),
      'POST /_sandbox/push': ({ body }) => ({
        status: 200,
        body: { repository: 'shop-backend', tag: (body as { tag: string }).tag, digest: `sha256:${'c'.repeat(64)}` },
      }),
    });

    // When a push is asked for
    const { code, stdout } = await run(['sandbox', 'push', 'shop', 'develop-43'], { fetch: fake });

    // Then it went to the sandbox, with the app and tag, and the token stayed with the control plane
    expect(code).toBe(0);
    expect(stdout).toContain('Pushed shop-backend:develop-43');
    expect(requests.map(({ method, path, body, authorization }) => ({ method, path, body, authorization }))).toEqual([
      { method: 'GET', path: '/health', body: undefined, authorization: `Bearer ${TOKEN}` },
      { method: 'POST', path: '/_sandbox/push', body: { app: 'shop', tag: 'develop-43' }, authorization: '' },
    ]);
  });

  it('alarm: moves the health alarm to ALARM, or back to OK with --ok', async () => {
    const { fake, requests } = controlPlane({
      'GET /health': health({ endpoint: SANDBOX }),
      'POST /_sandbox/alarm': () => ({
        status: 200,
        body: { alarmName: 'slipway-sandbox-shop-production-availability', changed: true },
      }),
    });

    const fired = await run(['sandbox', 'alarm', 'shop', 'production'], { fetch: fake });
    const cleared = await run(['sandbox', 'alarm', 'shop', 'production', '--ok'], { fetch: fake });

    expect([fired.code, cleared.code]).toEqual([0, 0]);
    expect(fired.stdout).toContain('is ALARM; the state change was delivered');
    expect(requests.filter((each) => each.path === '/_sandbox/alarm').map((each) => each.body)).toEqual([
      { app: 'shop', environment: 'production', state: 'ALARM' },
      { app: 'shop', environment: 'production', state: 'OK' },
    ]);
  });

  it('refuses, exit 2, a control plane that is not a sandbox, and sends nothing else', async () => {
    const { fake, requests } = controlPlane({ 'GET /health': health() });

    const { code, stderr } = await run(['sandbox', 'push', 'shop', 'develop-43'], { fetch: fake });

    expect(code).toBe(2);
    expect(stderr).toContain(
      'http://127.0.0.1:3000 is not a sandbox (stage local, and its GET /health names no sandbox): slipway sandbox works only against a control plane started with npm start -- --sandbox',
    );
    expect(requests.map((each) => each.path)).toEqual(['/health']);
  });

  it('refuses a sandbox endpoint that is not on this machine', async () => {
    const { fake, requests } = controlPlane({ 'GET /health': health({ endpoint: 'http://203.0.113.7:4566' }) });

    const { code, stderr } = await run(['sandbox', 'alarm', 'shop', 'production'], { fetch: fake });

    expect(code).toBe(2);
    expect(stderr).toContain('names http://203.0.113.7:4566 as its sandbox, which is not on this machine');
    expect(requests).toHaveLength(1);
  });

  it('names what is missing: the subcommand, its arguments', async () => {
    expect((await run(['sandbox'])).stderr).toContain('missing <subcommand>: push or alarm');
    expect((await run(['sandbox', 'push', 'shop'])).stderr).toContain('missing <tag>');
    expect((await run(['sandbox', 'alarm', 'shop'])).code).toBe(2);
  });
});
