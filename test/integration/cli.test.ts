import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { ACCOUNT, REGION } from '../support/aws-endpoint';
import { type EcsDeploymentEventName, ecsDeploymentStateChange } from '../support/aws-events';
import { type LocalStack, startLocalStack } from '../support/local-stack';
import { freePort } from '../support/processes';
import { type Run, type Running, spawned, until } from '../support/spawned';

/**
 * `slipway` as a user runs it, as a child process without a terminal, against `npm start`
 * (stage local: app shop, staging without approvals) whose ECS and ECR are the fake AWS endpoint.
 * Deployments end the way they do in AWS: an ECS deployment event, delivered here to the
 * ecsDeploymentState function through serverless-offline's Lambda invoke endpoint.
 */

const adminToken = mintToken();
const viewerToken = mintToken();
const digest = (char: string) => `sha256:${char.repeat(64)}`;
const RUNNING_DIGEST = digest('1');

let stateDir: string;
let stack: LocalStack;

/** `node bin/slipway.mjs …` with the URL and token in the environment, and no profile file. */
function start(args: string[], env: Record<string, string> = {}): Running {
  return spawned(process.execPath, ['bin/slipway.mjs', ...args], {
    PATH: process.env.PATH ?? '',
    HOME: stateDir,
    XDG_CONFIG_HOME: join(stateDir, 'no-config'),
    SLIPWAY_URL: stack.apiUrl,
    SLIPWAY_TOKEN: adminToken,
    ...env,
  });
}

async function slipway(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const run = await start(args, env).exited;
  // Whatever happened, the token never shows.
  expect(`${run.stdout}${run.stderr}`).not.toContain(adminToken);
  return run;
}

/** An `ECS Deployment State Change` for staging, as EventBridge delivers it (events/ecs.deployment-*.json). */
const ecsEvent = (eventName: EcsDeploymentEventName, deploymentId: string, reason: string) =>
  ecsDeploymentStateChange({
    serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/shop-staging/backend`,
    eventName,
    deploymentId,
    reason,
  });

/** What EventBridge would do: invoke the function with the event. */
async function deliver(event: ReturnType<typeof ecsEvent>): Promise<unknown> {
  const response = await fetch(
    `http://127.0.0.1:${stack.lambdaPort}/2015-03-31/functions/slipway-local-ecsDeploymentState/invocations`,
    { method: 'POST', body: JSON.stringify(event) },
  );
  expect(response.status).toBe(200);
  return response.json();
}

const updateServiceCalls = () => stack.aws.calls.filter((call) => call.target.endsWith('.UpdateService')).length;

/** The CLI's deployment id (from its first line) and the ECS deployment its UpdateService started. */
async function startedDeployment(running: Running, updatesBefore: number): Promise<{ id: string; ecs: string }> {
  const id = await until('the deployment to be printed', () => /^Deployment (dep-\S+):/m.exec(running.stdout())?.[1]);
  const ecs = await until('UpdateService', () =>
    updateServiceCalls() > updatesBefore ? stack.aws.primaryDeploymentId('shop-staging') : undefined,
  );
  return { id, ecs };
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'slipway-cli-'));
  mkdirSync(join(stateDir, 'no-config'));
  writeFileSync(
    join(stateDir, 'tokens.json'),
    JSON.stringify({
      tokens: [
        { name: 'admin', sha256: hashToken(adminToken), roles: ['admin'] },
        { name: 'viewer', sha256: hashToken(viewerToken), roles: ['viewer'] },
      ],
    }),
  );
  stack = await startLocalStack(stateDir);
  stack.aws.images.set('1.4.2', digest('a'));
  stack.aws.images.set('1.5.0', digest('b'));
});

afterAll(async () => {
  await stack?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('slipway CLI against a local control plane', () => {
  it('exits 2 on a usage error, with one line and no request', async () => {
    // Given a deploy without --tag or --digest
    const callsBefore = stack.aws.calls.length;

    // When it runs
    const run = await slipway(['deploy', 'shop', 'staging']);

    // Then it is refused before anything is sent
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'slipway: give --tag or --digest; see slipway deploy --help\n',
    });
    expect(stack.aws.calls.length).toBe(callsBefore);

    // And an unknown flag is a usage error too
    const unknown = await slipway(['status', '--colour']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("slipway: Unknown option '--colour'; see slipway status --help\n");
  });

  it('exits 1 with the network failure explained when no control plane listens', async () => {
    // Given a URL where nothing listens
    const nowhere = `http://127.0.0.1:${await freePort()}`;

    // When status is asked for
    const run = await slipway(['status'], { SLIPWAY_URL: nowhere });

    // Then one line says what happened and what to check
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `slipway: cannot reach ${nowhere}: connection refused (is the control plane running? the URL comes from SLIPWAY_URL)\n`,
    );
  });

  it('shows what runs where as tables for people and as JSON for scripts', async () => {
    // When every app is listed
    const all = await slipway(['status']);

    // Then a table has a row per environment, without colour since stdout is not a terminal
    expect(all.code).toBe(0);
    expect(all.stderr).toBe('');
    const [head, ...rows] = all.stdout.trimEnd().split('\n');
    expect(head?.split(/\s{2,}/)).toEqual([
      'APP',
      'ENV',
      'SERVICE',
      'APPROVALS',
      'LAST DEPLOYMENT',
      'DIGEST',
      'UPDATED',
      'BY',
    ]);
    expect(rows.map((row) => row.split(/\s{2,}/).slice(0, 4))).toEqual([
      ['shop', 'staging', 'shop-staging/backend', '0'],
      ['shop', 'production', 'shop-prod/backend', '1'],
    ]);
    expect(all.stdout).not.toContain('\x1b[');

    // When one environment is asked for, for people and for scripts
    const one = await slipway(['status', 'shop', 'staging']);
    const json = await slipway(['status', 'shop', 'staging', '--json']);

    // Then people see the running revision and digest read from ECS
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^Task definition\s+shop-backend:41$/m);
    expect(one.stdout).toMatch(new RegExp(`^Digest\\s+${RUNNING_DIGEST}$`, 'm'));
    expect(one.stdout).toMatch(/^Tasks\s+2\/2 \(running\/desired\)$/m);

    // And scripts get one JSON document with the same facts
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      environment: {
        app: 'shop',
        environment: 'staging',
        running: { digest: RUNNING_DIGEST, desiredCount: 2, runningCount: 2 },
      },
    });
  });

  it('exits 3 with the server’s message when the control plane refuses the request', async () => {
    // When an unknown app is deployed to
    const unknownApp = await slipway(['deploy', 'nope', 'staging', '--tag', '1.5.0']);

    // Then the 404 is one line with the server's message
    expect(unknownApp).toEqual({ code: 3, stdout: '', stderr: 'slipway: 404 Not Found: no app named nope\n' });

    // When a tag the repository does not have is deployed
    const missingTag = await slipway(['deploy', 'shop', 'staging', '--tag', '9.9.9']);

    // Then the 422 names repository and tag, from ECR's answer
    expect(missingTag.code).toBe(3);
    expect(missingTag.stderr).toBe(
      'slipway: 422 Unprocessable Entity: repository shop-backend has no image with tag 9.9.9\n',
    );

    // When a viewer token asks for a deployment
    const viewer = await slipway(['deploy', 'shop', 'staging', '--tag', '1.5.0'], { SLIPWAY_TOKEN: viewerToken });

    // Then the 403 names the permission it lacks
    expect(viewer.code).toBe(3);
    expect(viewer.stderr).toBe(
      'slipway: 403 Forbidden: this route needs the deploy permission, which roles viewer do not grant\n',
    );
  });

  it('shows a dry run as a plan, and as JSON, without touching ECS', async () => {
    // When a deploy is only planned
    const plan = await slipway(['deploy', 'shop', 'staging', '--tag', '1.5.0', '--dry-run']);
    const json = await slipway(['deploy', 'shop', 'staging', '--tag', '1.5.0', '--dry-run', '--json']);

    // Then people read what would change, and scripts get the plan
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('Dry run, nothing was changed: deploy shop/staging (shop-staging/backend)');
    expect(plan.stdout).toMatch(/^backend\s+\S+@sha256:1{64}\s+\S+@sha256:b{64}$/m);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dryRun: true,
      plan: { app: 'shop', environment: 'staging', to: { digest: digest('b'), tag: '1.5.0' } },
    });
    expect(updateServiceCalls()).toBe(0);
  });

  it('follows a deployment that succeeds: each step as it appears, a verdict, exit 0', async () => {
    // Given a deploy that waits
    const updatesBefore = updateServiceCalls();
    const running = start(['deploy', 'shop', 'staging', '--tag', '1.5.0', '--reason', 'cli test', '--wait']);

    // When ECS reports the deployment UpdateService started as completed
    const started = await startedDeployment(running, updatesBefore);
    await until('the IN_PROGRESS step to be printed', () =>
      running.stdout().includes(`IN_PROGRESS ECS deployment ${started.ecs}`) ? true : undefined,
    );
    const handled = await deliver(
      ecsEvent('SERVICE_DEPLOYMENT_COMPLETED', started.ecs, `ECS deployment ${started.ecs} completed.`),
    );
    const run = await running.exited;

    // Then the event was applied, and the CLI printed every step and the verdict, then exited 0
    expect(handled).toMatchObject({ handled: true, result: { applied: true, deploymentId: started.id } });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    const stamp = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ';
    expect(lines[0]).toBe(`Deployment ${started.id}: deploy shop/staging → 1.5.0 (sha256:bbbbbbbbbbbb), IN_PROGRESS`);
    expect(lines.slice(1, -1)).toEqual([
      expect.stringMatching(new RegExp(`^${stamp} REQUESTED \\(by admin\\)$`)),
      expect.stringMatching(new RegExp(`^${stamp} IN_PROGRESS ECS deployment ${started.ecs}$`)),
      expect.stringMatching(new RegExp(`^${stamp} SUCCEEDED ECS deployment ${started.ecs} completed\\.$`)),
    ]);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^Deployment ${started.id} SUCCEEDED after \\d+s: shop/staging runs 1\\.5\\.0 \\(sha256:bbbbbbbbbbbb\\)$`,
      ),
    );

    // And the history shows it, for people and for scripts
    const history = await slipway(['history', 'shop', 'staging']);
    expect(history.code).toBe(0);
    expect(history.stdout.split('\n')[1]?.split(/\s{2,}/)).toEqual([
      started.id,
      'deploy',
      'SUCCEEDED',
      '1.5.0 (sha256:bbbbbbbbbbbb)',
      'admin',
      expect.stringMatching(new RegExp(`^${stamp}$`)),
      'cli test',
    ]);
    const json = await slipway(['history', 'shop', 'staging', '--limit', '1', '--json']);
    expect(json.code).toBe(0);
    const page = JSON.parse(json.stdout);
    expect(page.deployments).toEqual([
      expect.objectContaining({ id: started.id, state: 'SUCCEEDED', reason: 'cli test' }),
    ]);
  });

  it('follows a deployment that fails: the reason from the record, exit 1', async () => {
    // Given a deploy that waits, and a task of the new revision that crashes
    const updatesBefore = updateServiceCalls();
    const running = start(['deploy', 'shop', 'staging', '--tag', '1.4.2', '--wait']);
    const started = await startedDeployment(running, updatesBefore);
    stack.aws.stopTask('shop-staging', 'Essential container in task exited', 137);

    // When ECS reports the deployment failed
    await deliver(
      ecsEvent('SERVICE_DEPLOYMENT_FAILED', started.ecs, 'ECS deployment circuit breaker: tasks failed to start.'),
    );
    const run = await running.exited;

    // Then the CLI prints the failed step and a verdict with the reason, and exits 1
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/Z FAILED ECS deployment circuit breaker: tasks failed to start\.\n/);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(
        `^Deployment ${started.id} FAILED after \\d+s: ECS deployment circuit breaker: tasks failed to start\\.$`,
      ),
    );

    // And the record kept what ECS said about the stopped task
    const json = await slipway(['history', 'shop', 'staging', '--limit', '1', '--json']);
    expect(JSON.parse(json.stdout).deployments[0]).toMatchObject({
      id: started.id,
      state: 'FAILED',
      failure: {
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
        stoppedTasks: [expect.objectContaining({ stoppedReason: 'Essential container in task exited' })],
      },
    });
  });

  it('with --json, --wait prints only the final record', async () => {
    // Given a deploy that waits, for a script
    const running = start(['deploy', 'shop', 'staging', '--tag', '1.5.0', '--wait', '--json']);

    // When its deployment is in flight and ECS reports it completed
    const inFlight = await until('a deployment in flight', async () => {
      const response = await fetch(`${stack.apiUrl}/v1/apps/shop/environments/staging`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      const body = (await response.json()) as { environment: { inFlight?: { id: string; ecsDeploymentId?: string } } };
      return body.environment.inFlight?.ecsDeploymentId ? body.environment.inFlight : undefined;
    });
    await deliver(
      ecsEvent(
        'SERVICE_DEPLOYMENT_COMPLETED',
        inFlight.ecsDeploymentId as string,
        `ECS deployment ${inFlight.ecsDeploymentId} completed.`,
      ),
    );
    const run = await running.exited;

    // Then stdout is one JSON document: the final record, nothing else
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const body = JSON.parse(run.stdout);
    expect(Object.keys(body)).toEqual(['deployment']);
    expect(body.deployment).toMatchObject({ id: inFlight.id, state: 'SUCCEEDED' });
    expect(body.deployment.timeline.map((entry: { state: string }) => entry.state)).toEqual([
      'REQUESTED',
      'IN_PROGRESS',
      'SUCCEEDED',
    ]);
  });
});
