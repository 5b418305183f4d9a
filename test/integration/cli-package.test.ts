import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { type CliInstall, packAndInstall } from '../../lib/bench/cli-install';
import { ACCOUNT, REGION } from '../support/aws-endpoint';
import { type EcsDeploymentEventName, ecsDeploymentStateChange } from '../support/aws-events';
import { type LocalStack, startLocalStack } from '../support/local-stack';
import { type OidcIssuerStandIn, startOidcIssuer } from '../support/oidc-issuer';
import { type Run, spawned, until } from '../support/spawned';

/**
 * The command line as its users get it, against `npm start` (its ECS and ECR the fake AWS endpoint):
 * - the package: `npm pack` in packages/cli, installed into an empty directory, run from there;
 * - the GitHub Action: its committed entry point (actions/deploy/dist/index.js) run as the runner runs
 *   it (inputs in INPUT_*, outputs and job summary in the files GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
 *   name), its OIDC token from a stand-in of GitHub's token service on 127.0.0.1, which the stage's
 *   auth.oidc names as its issuer.
 * The stage's config is written as config/<stage>.yml for this run (the issuer's port is known only
 * now) and removed after it.
 */

const STAGE = `cli-package-${process.pid}`;
const CONFIG = join('config', `${STAGE}.yml`);
const adminToken = mintToken();
const digest = (char: string) => `sha256:${char.repeat(64)}`;
const SHOP_MAIN = {
  sub: 'repo:example-org/shop:ref:refs/heads/main',
  repository: 'example-org/shop',
  repository_owner: 'example-org',
  ref: 'refs/heads/main',
  workflow: 'deploy',
  actor_id: '1001',
};

let dir: string;
let stack: LocalStack;
let issuer: OidcIssuerStandIn;

/** What EventBridge would do with ECS's event: invoke the function with it. */
async function deliver(eventName: EcsDeploymentEventName, deploymentId: string, reason: string): Promise<void> {
  const event = ecsDeploymentStateChange({
    serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/shop-staging/backend`,
    eventName,
    deploymentId,
    reason,
  });
  const response = await fetch(
    `http://127.0.0.1:${stack.lambdaPort}/2015-03-31/functions/slipway-${STAGE}-ecsDeploymentState/invocations`,
    { method: 'POST', body: JSON.stringify(event) },
  );
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ handled: true, result: { applied: true } });
}

const updateServiceCalls = () => stack.aws.calls.filter((call) => call.target.endsWith('.UpdateService')).length;

interface ActionRun extends Run {
  outputs: Record<string, string>;
  summary: string;
}

/** The action's step: `node actions/deploy/dist/index.js` with the environment GitHub's runner gives it. */
function startAction(inputs: Record<string, string>) {
  const files = mkdtempSync(join(dir, 'step-'));
  const outputFile = join(files, 'output');
  const summaryFile = join(files, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    NODE_EXTRA_CA_CERTS: issuer.certificatePath,
    ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    // What action.yml's defaults give every step, then this step's `with:`.
    INPUT_WAIT: 'true',
    INPUT_TIMEOUT: '5',
    INPUT_AUDIENCE: 'slipway',
    INPUT_URL: stack.apiUrl,
    ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])),
  };
  const running = spawned(process.execPath, ['actions/deploy/dist/index.js'], env);
  const finished = running.exited.then((run): ActionRun => {
    const outputs: Record<string, string> = {};
    // name<<delimiter, the value's lines, the delimiter (GitHub's multiline output syntax).
    for (const match of readFileSync(outputFile, 'utf8').matchAll(/^(.+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) {
      outputs[match[1] as string] = match[3] as string;
    }
    return { ...run, outputs, summary: readFileSync(summaryFile, 'utf8') };
  });
  return { stdout: running.stdout, finished };
}

/** The deployment the action printed, and the ECS deployment its UpdateService started. */
async function startedDeployment(stdout: () => string, updatesBefore: number): Promise<{ id: string; ecs: string }> {
  const id = await until('the deployment to be printed', () => /^Deployment (dep-\S+):/m.exec(stdout())?.[1]);
  const ecs = await until('UpdateService', () =>
    updateServiceCalls() > updatesBefore ? stack.aws.primaryDeploymentId('shop-staging') : undefined,
  );
  return { id, ecs };
}

/** The token the action was given shows once, in its mask command, and nowhere else. */
function expectMaskedOnce(run: ActionRun): void {
  const jwt = issuer.issued.at(-1)?.jwt as string;
  expect(run.stdout.split(jwt).length - 1).toBe(1);
  expect(run.stdout).toContain(`::add-mask::${jwt}\n`);
  expect(`${run.stderr}${run.summary}${Object.values(run.outputs).join('')}`).not.toContain(jwt);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-cli-package-'));
  issuer = await startOidcIssuer(dir);
  const config = parseDocument(readFileSync(join('config', 'local.yml'), 'utf8'));
  config.setIn(
    ['auth', 'oidc'],
    config.createNode([
      {
        issuer: issuer.issuer,
        audience: 'slipway',
        rules: [
          {
            claims: { repository: 'example-org/shop', ref: 'refs/heads/main' },
            roles: ['deployer'],
            apps: ['shop'],
            excludeEnvironments: ['production'],
          },
        ],
      },
    ]),
  );
  writeFileSync(CONFIG, String(config));

  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  writeFileSync(
    join(stateDir, 'tokens.json'),
    JSON.stringify({ tokens: [{ name: 'admin', sha256: hashToken(adminToken), roles: ['admin'] }] }),
  );
  stack = await startLocalStack(stateDir, {
    stage: STAGE,
    // The control plane reads the issuer's keys over HTTPS, trusting its certificate as a public CA's.
    env: { NODE_EXTRA_CA_CERTS: issuer.certificatePath },
  });
  stack.aws.images.set('1.4.2', digest('a'));
  stack.aws.images.set('1.5.0', digest('b'));
});

afterAll(async () => {
  await stack?.stop();
  await issuer?.close();
  rmSync(CONFIG, { force: true });
  rmSync(join('config', `${STAGE}.resolved.json`), { force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('the CLI package, packed and installed into an empty directory', () => {
  let installed: CliInstall;

  beforeAll(async () => {
    installed = await packAndInstall('packages/cli', mkdtempSync(join(dir, 'pack-')));
  });

  it('holds the bundle, README and LICENSE only, and installs small', () => {
    // Then the tarball has what the package's files field and npm's own rules let in
    expect(installed.files).toEqual(['LICENSE', 'README.md', 'dist/slipway.js', 'package.json']);

    // And the install is within the goals of docs/benchmarks.md: 5 MB, 10 packages
    expect(installed.installedBytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(installed.packages.length).toBeLessThanOrEqual(10);
    expect(installed.packages).toContain('@slipway/cli');
    expect(installed.packages.filter((name) => /aws-sdk|powertools|^zod$|^jose$/.test(name))).toEqual([]);
  });

  it('answers --help, and a real status from the control plane', async () => {
    const slipway = (args: string[]) =>
      spawned(join(installed.dir, 'node_modules', '.bin', 'slipway'), args, {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, 'no-config'),
        SLIPWAY_URL: stack.apiUrl,
        SLIPWAY_TOKEN: adminToken,
      }).exited;

    // When the installed command is asked for help
    const help = await slipway(['--help']);

    // Then it answers with its usage, without a server
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: slipway <command>/);

    // When it asks the control plane what runs where
    const status = await slipway(['status', 'shop', 'staging', '--json']);

    // Then the answer is the environment as ECS runs it
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(status.stdout)).toMatchObject({
      environment: { app: 'shop', environment: 'staging', cluster: 'shop-staging', service: 'backend' },
    });
  });
});

describe('the deploy action, with the workflow’s OIDC token', () => {
  it('deploys, follows to SUCCEEDED, and gives the outputs and the timeline', async () => {
    // Given a workflow of example-org/shop on main, which the stage's rule lets deploy shop outside production
    issuer.claims = SHOP_MAIN;
    const updatesBefore = updateServiceCalls();
    const step = startAction({ app: 'shop', environment: 'staging', tag: '1.5.0', reason: 'action test' });

    // When ECS reports the deployment it started as completed
    const started = await startedDeployment(step.stdout, updatesBefore);
    await deliver('SERVICE_DEPLOYMENT_COMPLETED', started.ecs, `ECS deployment ${started.ecs} completed.`);
    const run = await step.finished;

    // Then the step succeeds with the deployment's id, state and digest as outputs
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.outputs).toEqual({ 'deployment-id': started.id, state: 'SUCCEEDED', digest: digest('b') });
    expect(run.stdout).not.toContain('::error::');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(
        `^Deployment ${started.id} SUCCEEDED after \\d+s: shop/staging runs 1\\.5\\.0 \\(sha256:bbbbbbbbbbbb\\)$`,
      ),
    );

    // And the token asked for carried the audience input, and the deployment names the workflow as its requester
    expect(issuer.issued.at(-1)?.audience).toBe('slipway');
    expect(run.summary).toContain(`| REQUESTED |  | oidc:${new URL(issuer.issuer).host}:${SHOP_MAIN.sub} |`);

    // And the job summary shows the verdict and every step of the timeline
    expect(run.summary).toContain('### Slipway: deploy shop/staging');
    expect(run.summary).toMatch(/\| IN_PROGRESS \| ECS deployment \S+ \|/);
    expect(run.summary).toContain(`| SUCCEEDED | ECS deployment ${started.ecs} completed. |`);
    expectMaskedOnce(run);
  });

  it('fails the step with the reason when the deployment fails', async () => {
    // Given the same workflow deploying an image whose tasks crash
    issuer.claims = SHOP_MAIN;
    const updatesBefore = updateServiceCalls();
    const step = startAction({ app: 'shop', environment: 'staging', tag: '1.4.2' });
    const started = await startedDeployment(step.stdout, updatesBefore);
    stack.aws.stopTask('shop-staging', 'Essential container in task exited', 137);

    // When ECS reports the deployment failed
    await deliver('SERVICE_DEPLOYMENT_FAILED', started.ecs, 'ECS deployment circuit breaker: tasks failed to start.');
    const run = await step.finished;

    // Then the step fails, its error annotation giving the reason, and the outputs say how it ended
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        `^::error::Deployment ${started.id} FAILED after \\d+s: ECS deployment circuit breaker: tasks failed to start\\.$`,
        'm',
      ),
    );
    expect(run.outputs).toEqual({ 'deployment-id': started.id, state: 'FAILED', digest: digest('a') });
    expect(run.summary).toContain('| FAILED | ECS deployment circuit breaker: tasks failed to start. |');
    expectMaskedOnce(run);
  });

  it('fails the step with the control plane’s 403 when no rule lets the workflow deploy there', async () => {
    const updatesBefore = updateServiceCalls();

    // Given a workflow of another repository of the organisation
    issuer.claims = {
      ...SHOP_MAIN,
      sub: 'repo:example-org/other:ref:refs/heads/main',
      repository: 'example-org/other',
    };

    // When it runs the action
    const stranger = await startAction({ app: 'shop', environment: 'staging', tag: '1.5.0' }).finished;

    // Then the step fails with the 403 of the issuer's rules, naming the claims they saw, and nothing is deployed
    expect(stranger.code).toBe(1);
    expect(stranger.stdout).toMatch(
      new RegExp(
        `^::error::403 Forbidden: no rule of issuer ${issuer.issuer} matches this token's claims \\(.*repository=example-org/other.*\\)$`,
        'm',
      ),
    );
    expect(stranger.outputs).toEqual({});
    expect(stranger.summary).toContain('### Slipway: deploy shop/staging was not started');
    expectMaskedOnce(stranger);

    // When the rule's own workflow deploys to the environment the rule excludes
    issuer.claims = SHOP_MAIN;
    const production = await startAction({ app: 'shop', environment: 'production', tag: '1.5.0' }).finished;

    // Then that is a 403 too, naming the scope
    expect(production.code).toBe(1);
    expect(production.stdout).toMatch(/^::error::403 Forbidden: .*production.*$/m);
    expect(updateServiceCalls()).toBe(updatesBefore);
  });
});
