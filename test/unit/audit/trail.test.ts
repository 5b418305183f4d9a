import { auditQuery } from '../../../lib/audit/schemas';
import {
  type AuditEntry,
  audited,
  auditTrail,
  failedOutcome,
  httpAuditEntry,
  MAX_SAMPLED_SOURCES,
  sourceKey,
  statusOutcome,
} from '../../../lib/audit/trail';
import { auditWindow } from '../../../lib/audit/window';
import { Conflict, Forbidden, InvalidInput, Unauthenticated, Unprocessable, UpstreamFailed } from '../../../lib/errors';
import { forgetSecretValues, registerSecretValue } from '../../../lib/observability/redaction';
import { captureLogs } from '../../support/logs';

const NOW = new Date('2026-12-05T12:00:00.000Z');
const alice = { name: 'alice', roles: ['deployer' as const] };
const DEPLOYMENT = { id: 'dep-1', state: 'IN_PROGRESS' };

const facts = (over: Partial<Parameters<typeof httpAuditEntry>[0]> = {}) => ({
  route: 'createDeployment',
  requestId: 'req-1',
  principal: alice,
  path: undefined,
  body: { app: 'shop', environment: 'staging', tag: 'v1.2.3', reason: 'ship it' },
  status: 202,
  response: { deployment: DEPLOYMENT },
  error: undefined,
  ...over,
});

afterEach(() => forgetSecretValues());

describe('httpAuditEntry', () => {
  it('given an accepted deployment request, when described, then it names the principal, the target, the new id and its state', () => {
    // when
    const entry = httpAuditEntry(facts());

    // then
    expect(entry).toEqual({
      source: 'http',
      actor: 'alice',
      roles: ['deployer'],
      action: 'createDeployment',
      decision: 'allowed',
      target: { app: 'shop', environment: 'staging', tag: 'v1.2.3', deploymentId: 'dep-1' },
      outcome: { result: 'succeeded', status: 202, code: 'IN_PROGRESS' },
      requestId: 'req-1',
    });
  });

  it('given a principal without the permission, when described, then it is denied and refused, naming who and why', () => {
    // given
    const error = new Forbidden('this route needs the admin permission, which roles deployer do not grant');

    // when
    const entry = httpAuditEntry(
      facts({ route: 'createRestore', body: undefined, status: 403, response: undefined, error }),
    );

    // then
    expect(entry).toMatchObject({
      actor: 'alice',
      action: 'createRestore',
      decision: 'denied',
      outcome: { result: 'refused', status: 403, code: 'FORBIDDEN', detail: error.message },
    });
  });

  it('given no valid token, when described, then the actor is anonymous and the request denied', () => {
    // when
    const entry = httpAuditEntry(
      facts({
        principal: undefined,
        body: undefined,
        status: 401,
        response: undefined,
        error: new Unauthenticated('the bearer token is not valid'),
      }),
    );

    // then
    expect(entry.actor).toBe('anonymous');
    expect(entry.roles).toBeUndefined();
    expect(entry.decision).toBe('denied');
    expect(entry.outcome).toEqual({
      result: 'refused',
      status: 401,
      code: 'UNAUTHENTICATED',
      detail: 'the bearer token is not valid',
    });
  });

  it('given a path {app, env} and a conflict, when described, then env is written environment and the conflict is a failure', () => {
    // when
    const entry = httpAuditEntry(
      facts({
        route: 'rollbackEnvironment',
        path: { app: 'shop', env: 'production' },
        body: {},
        status: 409,
        response: undefined,
        error: new Conflict('dep-9 is in flight'),
      }),
    );

    // then
    expect(entry.target).toEqual({ app: 'shop', environment: 'production' });
    expect(entry.decision).toBe('allowed');
    expect(entry.outcome).toEqual({ result: 'failed', status: 409, code: 'CONFLICT', detail: 'dep-9 is in flight' });
  });

  it('given a server fault, when described, then only its code is kept: a 5xx message may hold internals', () => {
    // when
    const entry = httpAuditEntry(
      facts({ status: 502, response: undefined, error: new UpstreamFailed('ECS said: arn:aws:iam::1:role/x') }),
    );

    // then
    expect(entry.outcome).toEqual({ result: 'failed', status: 502, code: 'UPSTREAM_FAILED' });
  });

  it('given what a signed webhook noted, when described, then its actor and target are the entry’s, never anonymous', () => {
    // when
    const entry = httpAuditEntry(
      facts({
        route: 'registryWebhook',
        principal: undefined,
        body: undefined,
        response: { accepted: true },
        noted: {
          actor: 'webhook:ghcr',
          target: { registry: 'ghcr', repository: 'ghcr.io/acme/app', deliveryId: '72d3162e', scheme: 'github' },
        },
      }),
    );

    // then
    expect(entry).toMatchObject({
      actor: 'webhook:ghcr',
      decision: 'allowed',
      target: { registry: 'ghcr', repository: 'ghcr.io/acme/app', deliveryId: '72d3162e', scheme: 'github' },
      outcome: { result: 'succeeded', status: 202 },
    });
  });

  it('given a refusal the handler noted, when described, then a 409 or a 422 is denied and refused', () => {
    for (const [status, error] of [
      [409, new Conflict('delivery 72d3162e was already received')],
      [422, new Unprocessable('app:9.9.9 is another digest in the registry')],
    ] as const) {
      const entry = httpAuditEntry(
        facts({ principal: undefined, status, response: undefined, error, noted: { actor: 'webhook', denied: true } }),
      );
      expect(entry).toMatchObject({
        actor: 'webhook',
        decision: 'denied',
        outcome: { result: 'refused', status, code: error.code, detail: error.message },
      });
    }
  });

  it('given a denial noted on a request that then succeeded, when described, then it stays allowed', () => {
    expect(httpAuditEntry(facts({ noted: { denied: true } })).decision).toBe('allowed');
  });

  it('given a dry run, when described, then its outcome says DRY_RUN', () => {
    // when
    const entry = httpAuditEntry(facts({ status: 200, response: { dryRun: true, plan: {} } }));

    // then
    expect(entry.outcome).toEqual({ result: 'succeeded', status: 200, code: 'DRY_RUN' });
  });

  it('given a backup and a restore answered, when described, then their ids are the target', () => {
    // then
    expect(
      httpAuditEntry(
        facts({ route: 'takeBackup', body: { database: 'shop-db' }, response: { backup: { id: 'bkp-1' } } }),
      ).target,
    ).toEqual({ database: 'shop-db', backupId: 'bkp-1' });
    expect(
      httpAuditEntry(
        facts({
          route: 'createRestore',
          body: { database: 'shop-db', backupId: 'bkp-1' },
          response: { restore: { id: 'rst-1' } },
        }),
      ).target,
    ).toEqual({ database: 'shop-db', backupId: 'bkp-1', restoreId: 'rst-1' });
  });
});

describe('auditTrail', () => {
  it('given an entry, when recorded, then the sink gets it with an id, the time, and registered secrets redacted', async () => {
    // given
    const stored: unknown[] = [];
    const trail = auditTrail({ put: async (entry) => Boolean(stored.push(entry)) }, () => NOW);
    registerSecretValue('hunter2-very-secret');

    // when
    await trail.record({
      source: 'automatic',
      actor: 'schedule',
      action: 'backup.take',
      decision: 'allowed',
      target: { database: 'shop-db' },
      outcome: { result: 'failed', detail: 'password hunter2-very-secret was refused' },
    });

    // then
    expect(stored).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        at: '2026-12-05T12:00:00.000Z',
        source: 'automatic',
        actor: 'schedule',
        action: 'backup.take',
        decision: 'allowed',
        target: { database: 'shop-db' },
        outcome: { result: 'failed', detail: 'password [REDACTED] was refused' },
      },
    ]);
  });

  it('given a path parameter of 5,000 characters, when recorded, then the target keeps its first 200', async () => {
    // given
    const stored: Array<{ target: Record<string, string> }> = [];
    const trail = auditTrail({ put: async (entry) => Boolean(stored.push(entry)) }, () => NOW);

    // when
    await trail.record({
      source: 'http',
      actor: 'alice',
      action: 'approveDeployment',
      decision: 'allowed',
      target: { id: 'x'.repeat(5_000) },
      outcome: { result: 'failed', status: 400, code: 'INVALID_INPUT' },
    });

    // then
    expect(stored[0]?.target).toEqual({ id: `${'x'.repeat(200)}…` });
  });

  it('given a detail longer than 500 characters, when recorded, then it is cut short', async () => {
    // given
    const stored: Array<{ outcome: { detail?: string } }> = [];
    const trail = auditTrail({ put: async (entry) => Boolean(stored.push(entry)) }, () => NOW);

    // when
    await trail.record({
      source: 'automatic',
      actor: 'drill',
      action: 'restore.drill',
      decision: 'allowed',
      target: {},
      outcome: { result: 'failed', detail: 'x'.repeat(2_000) },
    });

    // then
    expect(stored[0]?.outcome.detail).toBe(`${'x'.repeat(500)}…`);
  });

  it('given a sink that fails, when recorded, then it resolves, logs the entry id and counts AuditWriteFailures', async () => {
    // given
    const trail = auditTrail(
      {
        put: async () => {
          throw new Error('ProvisionedThroughputExceededException');
        },
      },
      () => NOW,
    );

    // when: with metrics on, as in Lambda (the logs and the metric lines share stdout)
    const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const { output } = await captureLogs(() =>
      trail.record({
        source: 'http',
        actor: 'alice',
        action: 'createDeployment',
        decision: 'allowed',
        target: {},
        outcome: { result: 'succeeded', status: 202 },
      }),
    ).finally(() => {
      process.env.POWERTOOLS_METRICS_DISABLED = disabled;
    });

    // then
    const lines = output
      .split('\n')
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text));
    const line = lines.find((entry) => entry.message === 'audit entry not stored');
    expect(line).toMatchObject({ level: 'ERROR', action: 'createDeployment', actor: 'alice' });
    expect(line.auditId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.find((entry) => '_aws' in entry)).toMatchObject({ AuditWriteFailures: 1 });
  });
});

describe('sampling requests refused before their caller was known', () => {
  const refused = (action: string) => ({
    source: 'http' as const,
    actor: 'anonymous',
    action,
    decision: 'denied' as const,
    target: {},
    outcome: { result: 'refused' as const, status: 401, code: 'UNAUTHENTICATED' },
  });

  /** A sink as the store's conditional put: one entry per time and id, however many containers write. */
  function sharedSink() {
    const entries: AuditEntry[] = [];
    const puts: string[] = [];
    return {
      entries,
      puts,
      sink: {
        put: async (entry: AuditEntry) => {
          puts.push(entry.id);
          if (entries.some((kept) => kept.at === entry.at && kept.id === entry.id)) return false;
          entries.push(entry);
          return true;
        },
      },
    };
  }

  it('given 300 refusals from two addresses over two minutes, when sampled, then one entry per address and minute, and one write each', async () => {
    // given
    const { entries, puts, sink } = sharedSink();
    let clock = new Date('2026-12-05T12:00:05.000Z');
    const trail = auditTrail(sink, () => clock);

    // when
    for (let index = 0; index < 300; index += 1) {
      if (index === 150) clock = new Date('2026-12-05T12:01:30.000Z');
      await trail.sample(refused('createRestore'), index % 2 === 0 ? '203.0.113.7' : '198.51.100.9');
    }

    // then
    expect(entries.map(({ id, at, sampled }) => ({ id, at, sampled }))).toEqual([
      { id: 'unauthenticated:2026-12-05T12:00:203.0.113.7', at: '2026-12-05T12:00:00.000Z', sampled: true },
      { id: 'unauthenticated:2026-12-05T12:00:198.51.100.9', at: '2026-12-05T12:00:00.000Z', sampled: true },
      { id: 'unauthenticated:2026-12-05T12:01:203.0.113.7', at: '2026-12-05T12:01:00.000Z', sampled: true },
      { id: 'unauthenticated:2026-12-05T12:01:198.51.100.9', at: '2026-12-05T12:01:00.000Z', sampled: true },
    ]);
    expect(puts).toHaveLength(4);
    expect(entries[0]).toMatchObject({ actor: 'anonymous', action: 'createRestore', outcome: { status: 401 } });
  });

  it('given three containers sampling the same address in the same minute, when each stores, then the trail holds one entry', async () => {
    // given
    const { entries, puts, sink } = sharedSink();
    const containers = [1, 2, 3].map(() => auditTrail(sink, () => NOW));

    // when
    const { output } = await captureLogs(async () => {
      for (const trail of containers) await trail.sample(refused('takeBackup'), '203.0.113.7');
    });

    // then: each container tried once, the conditional put kept the first, and no write is reported lost
    expect(puts).toHaveLength(3);
    expect(entries).toHaveLength(1);
    expect(output).not.toContain('audit entry not stored');
  });

  it('given refusals from more addresses than a container samples in a minute, when sampled, then the rest are not written', async () => {
    // given
    const { entries, sink } = sharedSink();
    const trail = auditTrail(sink, () => NOW);

    // when: an address each, twice the cap
    for (let index = 0; index < 2 * MAX_SAMPLED_SOURCES; index += 1) {
      await trail.sample(refused('createDeployment'), `10.0.${Math.floor(index / 250)}.${index % 250}`);
    }

    // then
    expect(entries).toHaveLength(MAX_SAMPLED_SOURCES);
  });

  it.each([
    ['an IPv4 address', '203.0.113.7', '203.0.113.7'],
    ['an IPv6 address', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['another address of the same /64', '2001:0db8:0001:0002::ffff', '2001:db8:1:2::/64'],
    ['a compressed address', '2001:db8::1', '2001:db8:0:0::/64'],
    ['the loopback', '::1', '0:0:0:0::/64'],
    ['nothing', undefined, 'unknown'],
    ['something that is no address', 'not-an-ip', 'unknown'],
  ])('given %s, when keyed, then it counts as %s', (_label, address, expected) => {
    expect(sourceKey(address)).toBe(expected);
  });
});

describe('audited', () => {
  const recorded = () => {
    const entries: unknown[] = [];
    return { entries, trail: { record: async (entry: unknown) => void entries.push(entry) } };
  };

  it('given an action that succeeds, when run, then it returns its result and records it with what the result adds', async () => {
    // given
    const { entries, trail } = recorded();

    // when
    const result = await audited(
      trail,
      { actor: 'schedule', action: 'backup.take', target: { database: 'shop-db' } },
      async () => ({ id: 'bkp-1', status: 'SKIPPED', reason: 'instance is stopped' }),
      (record) => ({ target: { backupId: record.id }, outcome: statusOutcome(record) }),
    );

    // then
    expect(result.id).toBe('bkp-1');
    expect(entries).toEqual([
      {
        source: 'automatic',
        decision: 'allowed',
        actor: 'schedule',
        action: 'backup.take',
        target: { database: 'shop-db', backupId: 'bkp-1' },
        outcome: { result: 'succeeded', code: 'SKIPPED', detail: 'instance is stopped' },
      },
    ]);
  });

  it('given an action that throws, when run, then the error is recorded and thrown on', async () => {
    // given
    const { entries, trail } = recorded();
    const error = new Conflict('dep-2 is in flight');

    // when
    const run = audited(
      trail,
      { actor: 'alarm:shop-5xx', action: 'deployment.rollback', target: { app: 'shop' } },
      async () => {
        throw error;
      },
      () => undefined,
    );

    // then
    await expect(run).rejects.toBe(error);
    expect(entries).toEqual([
      expect.objectContaining({ outcome: { result: 'failed', code: 'CONFLICT', detail: 'dep-2 is in flight' } }),
    ]);
  });

  it('given a result that describes nothing, when run, then nothing is recorded', async () => {
    // given
    const { entries, trail } = recorded();

    // when
    await audited(
      trail,
      { actor: 'x', action: 'y', target: {} },
      async () => 1,
      () => undefined,
    );

    // then
    expect(entries).toEqual([]);
  });
});

describe('failedOutcome and statusOutcome', () => {
  it.each([
    [new Forbidden('no'), { result: 'refused', code: 'FORBIDDEN', detail: 'no' }],
    [new InvalidInput('body.tag: bad'), { result: 'failed', code: 'INVALID_INPUT', detail: 'body.tag: bad' }],
    [new UpstreamFailed('inner'), { result: 'failed', code: 'UPSTREAM_FAILED' }],
    [new TypeError('x is undefined'), { result: 'failed', code: 'INTERNAL' }],
  ])('given %p, when described, then %p', (error, outcome) => {
    expect(failedOutcome(error)).toEqual(outcome);
  });

  it('given FAILED and AVAILABLE records, when described, then failed and succeeded with the status as code', () => {
    expect(statusOutcome({ status: 'FAILED', reason: 'pg_dump exited 1' })).toEqual({
      result: 'failed',
      code: 'FAILED',
      detail: 'pg_dump exited 1',
    });
    expect(statusOutcome({ status: 'AVAILABLE' })).toEqual({ result: 'succeeded', code: 'AVAILABLE' });
  });
});

describe('auditQuery and auditWindow', () => {
  it('given no since or until, when windowed, then the last 24 hours', () => {
    expect(auditWindow({}, NOW, 400)).toEqual({
      since: '2026-12-04T12:00:00.000Z',
      until: '2026-12-05T12:00:00.000Z',
      oldest: '2025-10-31T12:00:00.000Z',
    });
  });

  it('given a since older than the retention, when windowed, then it starts at the retention: nothing older exists', () => {
    expect(auditWindow({ since: '2020-01-01T00:00:00Z' }, NOW, 30).since).toBe('2026-11-05T12:00:00.000Z');
  });

  it('given times with offsets, when windowed, then both are UTC ISO strings as entries are sorted by', () => {
    expect(auditWindow({ since: '2026-12-05T10:00:00+02:00', until: '2026-12-05' }, NOW, 400)).toMatchObject({
      since: '2026-12-05T08:00:00.000Z',
      until: '2026-12-05T08:00:00.000Z',
    });
  });

  it('given an until in the future, when windowed, then it ends now: no day after today is read', () => {
    expect(auditWindow({ until: '9999-12-31T00:00:00Z' }, NOW, 400).until).toBe('2026-12-05T12:00:00.000Z');
  });

  it('given until before since, when parsed, then until is refused with the reason', () => {
    const result = auditQuery.safeParse({ since: '2026-12-05T10:00:00Z', until: '2026-12-04T10:00:00Z' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: ['until'], message: 'is before since' },
    ]);
  });

  it('given actor, decision and action, when parsed, then they narrow the listing; a bad one is refused naming why', () => {
    expect(auditQuery.parse({ actor: 'anonymous', decision: 'denied', action: 'createRestore' })).toEqual({
      limit: 100,
      actor: 'anonymous',
      decision: 'denied',
      action: 'createRestore',
    });
    expect(auditQuery.safeParse({ decision: 'maybe' }).error?.issues[0]?.message).toBe('expected allowed or denied');
    expect(auditQuery.safeParse({ action: 'create restore' }).error?.issues[0]?.message).toBe(
      'expected a route name such as createRestore or an action such as backup.delete',
    );
    expect(auditQuery.safeParse({ actor: '' }).success).toBe(false);
  });

  it('given a limit of 501 or an unknown parameter, when parsed, then each is refused', () => {
    expect(auditQuery.safeParse({ limit: '501' }).success).toBe(false);
    expect(auditQuery.safeParse({ app: 'shop' }).error?.issues[0]?.message).toBe('unknown field(s) app');
    expect(auditQuery.parse({})).toEqual({ limit: 100 });
  });
});
