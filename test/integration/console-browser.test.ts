import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parseDocument } from 'yaml';
import type { AuditEntry } from '../../lib/audit/records';
import type { DeploymentRecord } from '../../lib/deploy/records';
import {
  accessibilityProblems,
  launchBrowser,
  pageWidth,
  screenshot,
  tabTo,
  type WatchedPage,
  watchedPage,
} from '../support/browser';
import { interrupt, killLaunchers, type Launched, startLauncher } from '../support/launcher';
import { type OidcProviderStandIn, startOidcProvider } from '../support/oidc-provider';
import { freePort } from '../support/processes';
import { until } from '../support/spawned';

/**
 * The web console in a real Chromium against `npm start -- --sandbox`, its people signing in with an
 * OpenID Connect provider on this machine (test/support/oidc-provider.ts) through the authorization code
 * flow with PKCE, as they would with their company's. Nothing between the browser and the sandbox is
 * stubbed: the console's files and the API come from serverless-offline, the API verifies the provider's
 * ID tokens against its JWKS over HTTPS (the functions trust its certificate through NODE_EXTRA_CA_CERTS),
 * and the sandbox rolls the approved deployment out on its simulated ECS.
 *
 * The stage is config/sandbox.yml with the provider as its console's issuer, written as
 * config/console-e2e.yml for this run (the provider's port is known only now) and removed after it.
 * Screenshots go to test-results/console/ for a person to look at.
 */

const STAGE = 'console-e2e';
const CONFIG = join('config', `${STAGE}.yml`);
const CLIENT_ID = 'slipway-console';
/** config/sandbox.yml's header: the sandbox's ECR holds develop-41 (running everywhere) and develop-42. */
const IMAGE = 'develop-42';
/** Generous for a loaded 2-core machine: a page's API call may meet a function's cold start. */
const UI_TIMEOUT_MS = 60_000;

/**
 * People, not CI: each rule pins one person by sub, as config requires of rules granting approver or admin
 * (approvals count once per person), and everyone else at example.com may look. alice may approve too, so
 * that her missing Approve button is the requester rule's doing, not her roles'. The groups are what such
 * providers send; auth.oidc's rules match string claims only, so they are not what decides here.
 */
const USERS = {
  alice: { sub: 'alice', email: 'alice@example.com', name: 'Alice', groups: ['deployers', 'approvers'] },
  bob: { sub: 'bob', email: 'bob@example.com', name: 'Bob', groups: ['approvers'] },
  carol: { sub: 'carol', email: 'carol@example.com', name: 'Carol', groups: ['viewers'] },
  dora: { sub: 'dora', email: 'dora@example.com', name: 'Dora', groups: ['admins'] },
  erin: { sub: 'erin', email: 'erin@example.com', name: 'Erin', groups: ['viewers'] },
};
const RULES = [
  { claims: { sub: 'alice' }, roles: ['deployer', 'approver'] },
  { claims: { sub: 'bob' }, roles: ['approver'] },
  { claims: { sub: 'dora' }, roles: ['admin'] },
  { claims: { email: '*@example.com' }, roles: ['viewer'] },
];

let work: string;
let api: string;
let lambdaPort: number;
let provider: OidcProviderStandIn;
let launcher: Launched | undefined;
let browser: Browser | undefined;
const pages: WatchedPage[] = [];
/** alice's deployment to shop/production, waiting for one approval. */
let deploymentId: string;
/** carol's browser, kept to look at the deployment again once it has succeeded. */
let carol: WatchedPage;

/** config/sandbox.yml, its health checks on a free port, with the provider as the console's issuer. */
function writeStageConfig(healthPort: number): void {
  const sandbox = readFileSync(join('config', 'sandbox.yml'), 'utf8');
  // The sandbox answers the health checks on the port their URLs name: a fixed one could be taken.
  if (!sandbox.includes('127.0.0.1:4599/')) throw new Error('config/sandbox.yml no longer names port 4599');
  const config = parseDocument(sandbox.replaceAll('127.0.0.1:4599/', `127.0.0.1:${healthPort}/`));
  config.setIn(
    ['auth', 'oidc'],
    config.createNode([{ issuer: provider.issuer, audience: CLIENT_ID, console: true, rules: RULES }]),
  );
  writeFileSync(CONFIG, String(config));
}

/** The launcher as on a machine without AWS: the sandbox is all the AWS there is. */
function launcherEnv(stateDir: string, httpPort: number, lambdaPort: number): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(AWS_|SLIPWAY_)/.test(key)));
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
    AWS_CONFIG_FILE: join(work, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    SLIPWAY_STATE_DIR: stateDir,
    SLIPWAY_HTTP_PORT: String(httpPort),
    SLIPWAY_LAMBDA_PORT: String(lambdaPort),
    // The functions read the provider's discovery document and keys over HTTPS, trusting it as a public CA.
    NODE_EXTRA_CA_CERTS: provider.certificatePath,
  };
}

/** An API call with a person's ID token, got through the provider's code flow as the console gets it. */
async function callApi<T>(user: keyof typeof USERS, path: string, body?: unknown) {
  const { id_token: idToken } = await provider.signInOverHttp(user);
  const response = await fetch(`${api}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${idToken}`,
      ...(body === undefined
        ? {}
        : { 'content-type': 'application/json', 'idempotency-key': `console-e2e-${crypto.randomUUID()}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function newPage(options: { timezoneId?: string } = {}): Promise<WatchedPage> {
  const watched = await watchedPage(browser as Browser, options);
  watched.context.setDefaultTimeout(UI_TIMEOUT_MS);
  pages.push(watched);
  return watched;
}

/** The console's Sign in, the provider's page, and back on the board signed in as `user`. */
async function signIn(page: Page, user: keyof typeof USERS): Promise<void> {
  await page.goto(`${api}/console/`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.origin === provider.issuer && url.pathname === '/authorize');
  await page.getByRole('button', { name: `Sign in as ${user}`, exact: true }).click();
  await page.waitForURL((url) => url.origin === api && url.pathname === '/console/');
  await page.getByRole('heading', { level: 1, name: 'Board', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
  await page.getByText(user, { exact: true }).first().waitFor();
}

/** The board's row of shop / production. */
function productionRow(page: Page) {
  return page
    .getByRole('table', { name: 'shop', exact: true })
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: 'shop / production', exact: true }) });
}

/** From the board, the deployment's own page, once it shows `state`. */
async function openDeployment(page: Page, state: string): Promise<void> {
  await productionRow(page).getByRole('link', { name: deploymentId, exact: true }).first().click();
  await page.getByRole('heading', { level: 1, name: `Deployment ${deploymentId}`, exact: true }).waitFor();
  await statusShowing(page, state).waitFor();
}

const statusShowing = (page: Page, state: string) => page.getByRole('status').filter({ hasText: state }).first();

const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });

const mainNavigation = (page: Page) => page.getByRole('navigation', { name: 'Main', exact: true });

/** How the API names a person of the provider: `oidc:<issuer host>:<sub>`, and by the person claim (sub). */
const principalOf = (user: keyof typeof USERS) => `oidc:${new URL(provider.issuer).host}:${USERS[user].sub}`;
const personOf = (user: keyof typeof USERS) => `oidc:${new URL(provider.issuer).host}:sub=${USERS[user].sub}`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-console-e2e-'));
  const [httpPort, healthPort] = [await freePort(), await freePort()];
  lambdaPort = await freePort();
  api = `http://127.0.0.1:${httpPort}`;
  provider = await startOidcProvider({
    dir: work,
    users: USERS,
    client: {
      clientId: CLIENT_ID,
      // The console's redirect URI, <origin>/console/callback, as its operators register it at their provider.
      redirectUris: [`${api}/console/callback`],
      postLogoutRedirectUris: [`${api}/console/`],
    },
    // Longer than the run, so no session ends in the middle of it on a slow machine.
    idTokenSeconds: 1_800,
  });
  writeStageConfig(healthPort);
  launcher = await startLauncher(
    ['--sandbox', '--stage', STAGE],
    launcherEnv(join(work, 'state'), httpPort, lambdaPort),
  );
  browser = await launchBrowser();
}, 420_000);

afterAll(async () => {
  for (const { context } of pages) await context.close().catch(() => undefined);
  await browser?.close();
  if (launcher?.child.exitCode === null) {
    // Ctrl-C first, as a user stops it; what does not stop within 20 s is killed below.
    await Promise.race([interrupt(launcher), new Promise((done) => setTimeout(done, 20_000).unref())]);
  }
  killLaunchers();
  await provider?.close();
  rmSync(CONFIG, { force: true });
  rmSync(join('config', `${STAGE}.resolved.json`), { force: true });
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('the web console in a real browser, signed in through an OpenID Connect provider', () => {
  it('is served with its Content Security Policy, and names the provider as its issuer', async () => {
    // When the browser would load the console and its settings
    const index = await fetch(`${api}/console/`);
    const settings = await fetch(`${api}/console/config.json`);

    // Then the page comes with the policy that forbids inline scripts and styles
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("style-src 'self'");
    // And the settings send the browser to the provider, as the console's public client
    expect(await settings.json()).toMatchObject({
      issuer: provider.issuer,
      clientId: CLIENT_ID,
      authorizationEndpoint: `${provider.issuer}/authorize`,
      tokenEndpoint: `${provider.issuer}/token`,
      stage: STAGE,
      sandbox: true,
    });
  });

  it('alice asks for shop/production through the API with her ID token: it waits for one approval', async () => {
    // When alice, a deployer, asks for develop-42 in production, whose config asks for one approval
    const created = await callApi<{ deployment: DeploymentRecord }>('alice', '/v1/deployments', {
      app: 'shop',
      environment: 'production',
      tag: IMAGE,
      reason: 'console browser test',
    });

    // Then it waits for an approval, asked for by her
    expect(created.status).toBe(202);
    expect(created.body.deployment).toMatchObject({
      state: 'PENDING_APPROVAL',
      requestedBy: { name: principalOf('alice') },
      approvals: { required: 1, by: [] },
    });
    deploymentId = created.body.deployment.id;
  });

  it('alice sees her deployment waiting, and may cancel it but not approve it', async () => {
    // Given alice signed in in a browser of her own
    const { page, problems } = await newPage();
    await signIn(page, 'alice');

    // When she opens her deployment from the board
    await openDeployment(page, 'PENDING_APPROVAL');

    // Then she may cancel it, as a deployer, but not approve what she asked for, though her roles would let her
    await button(page, 'Cancel deployment').waitFor();
    expect(await button(page, 'Approve').count()).toBe(0);
    // And the audit trail is not offered to her
    expect(await mainNavigation(page).getByRole('link', { name: 'Audit', exact: true }).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('carol, a viewer, sees the deployment with no button to act on it and no audit trail', async () => {
    // Given carol signed in
    carol = await newPage();
    const { page, problems } = carol;
    await signIn(page, 'carol');

    // When she opens the deployment waiting for approval
    await openDeployment(page, 'PENDING_APPROVAL');
    await page.getByRole('heading', { name: 'Timeline', exact: true }).waitFor();

    // Then nothing on it may be done by her
    for (const name of ['Approve', 'Cancel deployment', 'Roll back']) expect(await button(page, name).count()).toBe(0);
    expect(await mainNavigation(page).getByRole('link', { name: 'Audit', exact: true }).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('bob signs in, finds the deployment on the board, approves it from the keyboard, and sees it roll out', async () => {
    // Given the health checks run once, as their schedule runs them (the launcher invokes runProbes every minute)
    const probed = await fetch(
      `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/slipway-${STAGE}-runProbes/invocations`,
      { method: 'POST', body: readFileSync(join('events', 'schedule.run-probes.json'), 'utf8') },
    );
    expect(await probed.json()).toMatchObject({ handled: true, result: { checks: 2, failed: 0 } });
    // And bob at the console, signed out, in a browser set to India's time (UTC+05:30)
    const { page, problems } = await newPage({ timezoneId: 'Asia/Kolkata' });
    const tokensBefore = provider.record.tokensIssued.filter((issued) => issued.user === 'bob').length;

    // When he signs in with the provider, choosing himself on its page
    await signIn(page, 'bob');

    // Then the console got his tokens through the code flow with PKCE (the provider takes no other)
    expect(provider.record.tokensIssued.filter((issued) => issued.user === 'bob')).toHaveLength(tokensBefore + 1);
    // And the board shows shop / production with alice's deployment in flight, waiting for approval
    const row = productionRow(page);
    await row.getByRole('link', { name: deploymentId, exact: true }).first().waitFor();
    expect(await row.textContent()).toContain('PENDING_APPROVAL');
    // And each environment's health check as the probes last saw it
    await row.getByText('ready: ok', { exact: true }).waitFor();
    // And every time in his zone, its UTC value on hover
    const time = page.locator('time').first();
    const [datetime, title, shown] = [
      await time.getAttribute('datetime'),
      await time.getAttribute('title'),
      await time.textContent(),
    ];
    expect(datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(title).toBe(`${datetime} UTC`);
    expect(shown).toContain('GMT+5:30');
    // And nothing on it is too faint to read or unnamed for a screen reader
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, 'board');

    // When he opens it
    await openDeployment(page, 'PENDING_APPROVAL');

    // Then he may approve it, and nothing more: an approver does not deploy
    const approve = button(page, 'Approve');
    await approve.waitFor();
    expect(await button(page, 'Cancel deployment').count()).toBe(0);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, 'deployment-pending');

    // When he reaches Approve with Tab and presses Enter
    await tabTo(page, approve);
    await page.keyboard.press('Enter');

    // Then it rolls out on the sandbox's ECS and succeeds, the page following it
    await until('the deployment to leave PENDING_APPROVAL', async () =>
      (await statusShowing(page, 'PENDING_APPROVAL').count()) === 0 ? true : undefined,
    );
    await statusShowing(page, 'SUCCEEDED').waitFor({ timeout: 180_000 });
    // And the approval shown is bob's, and Approve is gone
    expect(await page.getByRole('main').textContent()).toContain('bob');
    expect(await button(page, 'Approve').count()).toBe(0);
    await screenshot(page, 'deployment');

    // When he goes back to the board on a phone
    await mainNavigation(page).getByRole('link', { name: 'Board', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Board', exact: true }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await productionRow(page).waitFor();

    // Then it fits the screen: nothing scrolls sideways
    const { scrollWidth, innerWidth } = await pageWidth(page);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, 'board-phone');
    expect(problems).toEqual([]);
  });

  it("the API and the audit trail record exactly one approval, bob's, and the rollout it started", async () => {
    // When the deployment and the audit trail are read back
    const { body } = await callApi<{ deployment: DeploymentRecord }>('carol', `/v1/deployments/${deploymentId}`);
    const audit = await callApi<{ entries: AuditEntry[] }>('dora', '/v1/audit?action=approveDeployment');

    // Then bob's is the one approval, counted for him as a person
    expect(body.deployment).toMatchObject({
      state: 'SUCCEEDED',
      to: { tag: IMAGE },
      approvals: { required: 1, by: [{ by: principalOf('bob'), person: personOf('bob'), at: expect.any(String) }] },
    });
    expect(body.deployment.approvals.by).toHaveLength(1);
    // And the timeline went from the approval through the rollout to success
    const states = body.deployment.timeline.map((entry) => entry.state);
    expect(states).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVED', 'IN_PROGRESS', 'SUCCEEDED']);
    // And the audit trail holds his one request, allowed and answered
    expect(audit.status).toBe(200);
    const entries = audit.body.entries.filter((entry) => entry.target.id === deploymentId);
    expect(entries).toEqual([
      expect.objectContaining({
        source: 'http',
        actor: principalOf('bob'),
        action: 'approveDeployment',
        decision: 'allowed',
        outcome: expect.objectContaining({ result: 'succeeded', status: 200 }),
      }),
    ]);
  });

  it('carol still has nothing to press on the finished deployment, where an admin may roll it back and read the audit trail', async () => {
    // Given carol's and dora's browsers on the deployment that succeeded
    await mainNavigation(carol.page).getByRole('link', { name: 'Board', exact: true }).click();
    await openDeployment(carol.page, 'SUCCEEDED');
    const dora = await newPage();
    await signIn(dora.page, 'dora');
    await openDeployment(dora.page, 'SUCCEEDED');

    // Then dora, an admin, is offered Roll back and the audit trail
    await button(dora.page, 'Roll back').waitFor();
    await mainNavigation(dora.page).getByRole('link', { name: 'Audit', exact: true }).waitFor();
    // And carol neither
    for (const name of ['Approve', 'Cancel deployment', 'Roll back']) {
      expect(await button(carol.page, name).count()).toBe(0);
    }
    expect(await mainNavigation(carol.page).getByRole('link', { name: 'Audit', exact: true }).count()).toBe(0);
    expect([...carol.problems, ...dora.problems]).toEqual([]);
  });

  it('carol signs out, and the provider ends her session there too', async () => {
    // When carol presses Sign out
    const { page, problems } = carol;
    const logouts = provider.record.logouts.length;
    await button(page, 'Sign out').click();

    // Then the provider's end-session endpoint sent her back to the console, signed out
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    expect(provider.record.logouts.slice(logouts)).toEqual([{ redirectTo: `${api}/console/` }]);
    expect(await button(page, 'Sign out').count()).toBe(0);
    expect(await mainNavigation(page).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it("erin's session ends on her deployment page: she signs in again over it and comes back to it", async () => {
    // Given erin signed in with an ID token good for 20 s, on the deployment's page
    provider.setIdTokenSeconds(20);
    const { page, problems } = await newPage();
    try {
      await signIn(page, 'erin');
      await openDeployment(page, 'SUCCEEDED');
      const path = new URL(page.url()).pathname;

      // When the token expires, then the console asks her to sign in again, the page still behind the dialog
      const dialog = page.getByRole('alertdialog');
      await dialog.waitFor({ timeout: 60_000 });
      expect(await page.getByRole('heading', { level: 1, name: `Deployment ${deploymentId}` }).count()).toBe(1);

      // When she signs in again from the dialog
      provider.setIdTokenSeconds(1_800);
      await dialog.getByRole('button', { name: 'Sign in again', exact: true }).click();
      await page.getByRole('button', { name: 'Sign in as erin', exact: true }).click();

      // Then she is back on the page she was on, signed in
      await page.waitForURL((url) => url.origin === api && url.pathname === path);
      await statusShowing(page, 'SUCCEEDED').waitFor();
      await button(page, 'Sign out').waitFor();
      expect(await dialog.count()).toBe(0);
      // A refused poll (401) may be logged by the browser as the session ends; nothing else is
      expect(problems.filter((problem) => !/status of 401/.test(problem))).toEqual([]);
    } finally {
      provider.setIdTokenSeconds(1_800);
    }
  });
});
