import { runDeployAction } from '../../../packages/cli/src/action/deploy';
import { expiryOf, idTokenSource, requestIdToken } from '../../../packages/cli/src/action/id-token';
import { readInputs } from '../../../packages/cli/src/action/inputs';
import { escapeData, markdownCell, outputEntry } from '../../../packages/cli/src/action/workflow-commands';
import type { Clock } from '../../../packages/cli/src/wait';
import { controlPlane, deploymentRecord, type Route } from '../../support/control-plane-fake';

/** A JWT as far as the action reads one: three parts, the payload's exp. The control plane verifies it, not the action. */
const jwt = (name: string, expSeconds: number) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: name, exp: expSeconds })).toString('base64url')}.c2ln`;

const OIDC_ENV = {
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.example/token?api-version=2.0',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runtime-token',
};
const INPUTS = { INPUT_URL: 'https://slipway.example.com', INPUT_APP: 'shop', INPUT_ENVIRONMENT: 'staging' };

describe('the action inputs', () => {
  it('takes the defaults of action.yml when the runner passes empty values', () => {
    expect(readInputs({ ...INPUTS, INPUT_TAG: '1.5.0', INPUT_DIGEST: '', INPUT_REASON: ' ' })).toEqual({
      url: 'https://slipway.example.com',
      app: 'shop',
      environment: 'staging',
      tag: '1.5.0',
      wait: true,
      timeoutMinutes: 60,
      audience: 'slipway',
    });
    expect(
      readInputs({ ...INPUTS, INPUT_DIGEST: 'sha256:abc', INPUT_WAIT: 'False', INPUT_TIMEOUT: '2.5' }),
    ).toMatchObject({ digest: 'sha256:abc', wait: false, timeoutMinutes: 2.5 });
  });

  it.each<[Record<string, string>, string]>([
    [{ ...INPUTS }, 'input tag: give tag or digest'],
    [{ ...INPUTS, INPUT_TAG: 'a', INPUT_DIGEST: 'sha256:b' }, 'input tag: give tag or digest, not both'],
    [{ ...INPUTS, INPUT_TAG: 'a', INPUT_WAIT: 'yes' }, 'input wait: "yes": expected true or false'],
    [{ ...INPUTS, INPUT_TAG: 'a', INPUT_TIMEOUT: '0' }, 'input timeout: "0": expected minutes, a number above 0'],
    [{ ...INPUTS, INPUT_TAG: 'a', INPUT_APP: '' }, 'input app: required'],
  ])('refuses %j: %s', (env, message) => {
    expect(() => readInputs(env)).toThrow(message);
  });
});

describe('the workflow commands', () => {
  it('writes an output in the multiline form, and refuses a value holding its delimiter', () => {
    expect(outputEntry('state', 'SUCCEEDED', 'ghadelimiter_1')).toBe(
      'state<<ghadelimiter_1\nSUCCEEDED\nghadelimiter_1\n',
    );
    expect(() => outputEntry('state', 'x ghadelimiter_1', 'ghadelimiter_1')).toThrow('contains its delimiter');
    expect(outputEntry('digest', 'sha256:a')).toMatch(/^digest<<(ghadelimiter_[0-9a-f-]{36})\nsha256:a\n\1\n$/);
  });

  it('escapes what would end or change a command, and keeps a table cell to one cell', () => {
    expect(escapeData('100% done\r\nnext')).toBe('100%25 done%0D%0Anext');
    expect(markdownCell('a | b\nc')).toBe('a \\| b c');
    expect(markdownCell(undefined)).toBe('');
  });
});

describe('the OIDC token', () => {
  it('is asked for as GitHub’s toolkit asks: the audience appended, the request token as bearer', async () => {
    const { fake, requests } = controlPlane({ 'GET /token': () => ({ status: 200, body: { value: 'a.b.c' } }) });

    expect(await requestIdToken(OIDC_ENV, 'slipway prod', fake)).toBe('a.b.c');
    expect(requests).toEqual([
      expect.objectContaining({
        path: '/token',
        query: '?api-version=2.0&audience=slipway%20prod',
        authorization: 'Bearer runtime-token',
      }),
    ]);
  });

  it.each<[string, NodeJS.ProcessEnv, Route, string]>([
    [
      'the job lacks id-token: write',
      {},
      () => ({ status: 200, body: {} }),
      'give the job permissions: id-token: write',
    ],
    [
      'the service refuses',
      OIDC_ENV,
      () => ({ status: 403, body: { message: 'nope' } }),
      'answered 403: {"message":"nope"}',
    ],
    [
      'the answer has no value',
      OIDC_ENV,
      () => ({ status: 200, body: { count: 0 } }),
      'the OIDC token answer has no value',
    ],
  ])('fails with a reason when %s', async (_case, env, route, message) => {
    const { fake } = controlPlane({ 'GET /token': route });
    await expect(requestIdToken(env, 'slipway', fake)).rejects.toThrow(message);
  });

  it('is asked for again a minute before it expires, and reused until then', async () => {
    // Given tokens that live five minutes, as GitHub's do
    let now = 1_000_000_000_000;
    let issued = 0;
    const { fake } = controlPlane({
      'GET /token': () => {
        issued += 1;
        return { status: 200, body: { value: jwt(`t${issued}`, now / 1000 + 300) } };
      },
    });
    const seen: string[] = [];
    const token = idTokenSource({
      env: OIDC_ENV,
      audience: 'slipway',
      fetch: fake,
      now: () => now,
      onToken: (t) => seen.push(t),
    });

    // When it is used now, after 3 minutes, and after 4 min 30 s
    const first = await token();
    now += 180_000;
    const second = await token();
    now += 90_000;
    const third = await token();

    // Then the first serves until it has less than a minute left, and each new one is announced once
    expect(second).toBe(first);
    expect(third).not.toBe(first);
    expect(seen).toEqual([first, third]);
    expect(expiryOf(third)).toBe(now + 300_000);
  });
});

async function runAction(env: NodeJS.ProcessEnv, routes: Record<string, Route>, clock?: Clock & { epoch: number }) {
  const { fake, requests } = controlPlane(routes);
  let stdout = '';
  const files: Record<string, string> = {};
  const code = await runDeployAction({
    env: { GITHUB_OUTPUT: '/out', GITHUB_STEP_SUMMARY: '/summary', ...env },
    stdout: (text) => {
      stdout += text;
    },
    appendFile: (path, text) => {
      files[path] = `${files[path] ?? ''}${text}`;
    },
    version: '0.1.0',
    fetch: fake,
    ...(clock ? { clock, now: () => clock.epoch + clock.now() } : {}),
  });
  return { code, stdout, requests, output: files['/out'] ?? '', summary: files['/summary'] ?? '' };
}

describe('the deploy action', () => {
  it('fails before any request to Slipway when the job may not have an OIDC token', async () => {
    const run = await runAction({ ...INPUTS, INPUT_TAG: '1.5.0' }, {});

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::no OIDC token can be requested .*give the job permissions: id-token: write\n$/,
    );
    expect(run.requests).toEqual([]);
    expect(run.summary).toContain('### Slipway: deploy shop/staging was not started');
  });

  it('with wait false, starts the deployment, gives its outputs, and succeeds', async () => {
    const started = deploymentRecord('IN_PROGRESS', [{ state: 'REQUESTED', at: '2026-11-23T10:00:00.000Z', by: 'ci' }]);
    const run = await runAction(
      { ...OIDC_ENV, ...INPUTS, INPUT_DIGEST: `sha256:${'b'.repeat(64)}`, INPUT_WAIT: 'false', INPUT_REASON: 'r' },
      {
        'GET /token': () => ({ status: 200, body: { value: jwt('t', 4_000_000_000) } }),
        'POST /v1/deployments': () => ({ status: 201, body: { deployment: started } }),
      },
    );

    expect(run.code).toBe(0);
    expect(run.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /token',
      'POST /v1/deployments',
    ]);
    expect(run.requests[1]?.body).toEqual({
      app: 'shop',
      environment: 'staging',
      digest: `sha256:${'b'.repeat(64)}`,
      reason: 'r',
    });
    expect(run.requests[1]?.authorization).toBe(`Bearer ${jwt('t', 4_000_000_000)}`);
    expect(run.output).toMatch(
      /^deployment-id<<(\S+)\ndep-1\n\1\nstate<<(\S+)\nIN_PROGRESS\n\2\ndigest<<(\S+)\nsha256:b{64}\n\3\n$/,
    );
    expect(run.summary).toContain('Deployment dep-1 is IN_PROGRESS; not followed (wait: false)');
  });

  it('follows past the first token’s expiry with a new token, and fails the step when the deployment fails', async () => {
    // Given a deployment that fails after ten minutes of polls, and tokens that live five
    let clockMs = 0;
    const clock = {
      epoch: 1_800_000_000_000,
      now: () => clockMs,
      sleep: async (ms: number) => {
        clockMs += ms;
      },
    };
    let polls = 0;
    const inFlight = deploymentRecord('IN_PROGRESS', [
      { state: 'REQUESTED', at: '2026-11-23T10:00:00.000Z', by: 'ci' },
    ]);
    const failed = deploymentRecord('FAILED', [
      ...inFlight.timeline,
      { state: 'FAILED', at: '2026-11-23T10:10:00.000Z', note: 'tasks | crashed' },
    ]);
    const run = await runAction(
      { ...OIDC_ENV, ...INPUTS, INPUT_TAG: '1.5.0' },
      {
        'GET /token': () => ({
          status: 200,
          body: { value: jwt(`t${clockMs}`, (clock.epoch + clockMs) / 1000 + 300) },
        }),
        'POST /v1/deployments': () => ({ status: 201, body: { deployment: inFlight } }),
        'GET /v1/deployments/dep-1': () => {
          polls += 1;
          return { status: 200, body: { deployment: clockMs >= 600_000 ? failed : inFlight } };
        },
      },
      clock,
    );

    // Then later polls carry a newer token than the first, each token masked as it came
    const bearers = new Set(run.requests.filter((r) => r.path !== '/token').map((r) => r.authorization));
    expect(bearers.size).toBeGreaterThan(1);
    const tokens = run.requests.filter((r) => r.path === '/token').length;
    expect(run.stdout.match(/^::add-mask::/gm)).toHaveLength(tokens);
    expect(polls).toBeGreaterThan(1);

    // And the step fails with the reason, the outputs say FAILED, the summary keeps the timeline's pipes in their cell
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::Deployment dep-1 FAILED after 10m00s: ECS deployment circuit breaker: tasks failed to start\.$/m,
    );
    expect(run.output).toContain('\nFAILED\n');
    expect(run.summary).toContain('| 2026-11-23T10:10:00Z | FAILED | tasks \\| crashed |  |');
  });

  it('fails the step with the 403 Slipway answers, never printing the token', async () => {
    const token = jwt('t', 4_000_000_000);
    const run = await runAction(
      { ...OIDC_ENV, ...INPUTS, INPUT_TAG: '1.5.0' },
      {
        'GET /token': () => ({ status: 200, body: { value: token } }),
        'POST /v1/deployments': () => ({
          status: 403,
          body: { error: { code: 'FORBIDDEN', message: `no rule matches this token's claims (${token})` } },
        }),
      },
    );

    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      `::add-mask::${token}\n::error::403 Forbidden: no rule matches this token's claims (***)\n`,
    );
    expect(run.summary).not.toContain(token);
    expect(run.output).toBe('');
  });
});
