import { lastSuccessfulDigest, revisionsToDeregister, rollbackTarget } from '../../../lib/deploy/history';
import type { DeploymentKind, DeploymentRecord, DeploymentState } from '../../../lib/deploy/records';

// Revision numbers that are not consecutive: other tools register revisions of the same family too.
const REVISION = 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend';
const V0 = `${REVISION}:3`;
const V1 = `${REVISION}:7`;
const V2 = `${REVISION}:12`;
const V3 = `${REVISION}:31`;
const V4 = `${REVISION}:44`;
const V3_RETRY = `${REVISION}:32`;
const NOBODYS = `${REVISION}:30`;

const digest = (hex: string) => `sha256:${hex.repeat(64 / hex.length)}`;

let sequence = 0;

function record(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  sequence += 1;
  return {
    id: `dep-00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    app: 'shop',
    environment: 'production',
    kind: 'deploy',
    state: 'SUCCEEDED',
    requestedBy: { name: 'release-bot', kind: 'token' },
    createdAt: '2026-11-22T03:00:00.000Z',
    updatedAt: '2026-11-22T03:10:00.000Z',
    cluster: 'shop-prod',
    service: 'backend',
    from: { images: {} },
    to: { images: {} },
    registeredTaskDefinition: true,
    approvals: { required: 0, by: [] },
    timeline: [],
    ...overrides,
  };
}

/** A deployment from one revision to another; Slipway registered `to` unless the kind only reuses one. */
function moved(
  kind: DeploymentKind,
  from: string,
  to: string,
  overrides: Partial<DeploymentRecord> = {},
): DeploymentRecord {
  return record({
    kind,
    from: { taskDefinitionArn: from, images: {} },
    to: { taskDefinitionArn: to, images: {} },
    registeredTaskDefinition: kind === 'deploy' || kind === 'promote',
    ...overrides,
  });
}

describe('rollbackTarget', () => {
  // Newest first, as the store lists them: V0 → V1 → V2 → V3, all successful.
  const d1 = moved('deploy', V0, V1);
  const d2 = moved('deploy', V1, V2);
  const d3 = moved('deploy', V2, V3);
  const straightLine = [d3, d2, d1];

  it('goes to what ran before the deployment that introduced the running revision', () => {
    // Given three successful deployments, V3 running
    // When the rollback target is chosen
    const target = rollbackTarget(straightLine, V3);

    // Then it is V2, as recorded by the deployment that brought V3 (not V3's revision number minus one)
    expect(target).toEqual({ taskDefinitionArn: V2, deployment: d3 });
  });

  it('walks back after a rollback: from V2 it goes to V1', () => {
    // Given V3 was rolled back to V2 successfully
    const rollback = moved('rollback', V3, V2);

    // When the next rollback target is chosen, V2 running
    const target = rollbackTarget([rollback, ...straightLine], V2);

    // Then it is what ran before V2 was deployed, not V3 again
    expect(target).toEqual({ taskDefinitionArn: V1, deployment: d2 });
  });

  it('walks back twice: after rolling back to V2 and then to V1, it goes to V0', () => {
    const history = [moved('rollback', V2, V1), moved('rollback', V3, V2), ...straightLine];

    expect(rollbackTarget(history, V1)).toEqual({ taskDefinitionArn: V0, deployment: d1 });
  });

  it('counts a promotion as introducing the revision it deployed', () => {
    const promoted = moved('promote', V3, V4);

    expect(rollbackTarget([promoted, ...straightLine], V4)).toEqual({ taskDefinitionArn: V3, deployment: promoted });
  });

  it.each<[string, DeploymentRecord[], string]>([
    ['a revision no deployment introduced', [d3, d2, d1], NOBODYS],
    ['a revision only a failed deployment introduced', [moved('deploy', V3, V4, { state: 'FAILED' }), d3], V4],
    [
      'a revision only a rolled-back deployment introduced',
      [moved('deploy', V3, V4, { state: 'ROLLED_BACK' }), d3],
      V4,
    ],
    ['a revision whose deployment is still in progress', [moved('deploy', V3, V4, { state: 'IN_PROGRESS' }), d3], V4],
    ['a revision only a rollback brought back', [moved('rollback', V3, NOBODYS), d3], NOBODYS],
    ['a deployment that did not record what ran before', [record({ to: { taskDefinitionArn: V4, images: {} } })], V4],
    ['an empty history', [], V3],
  ])('is undefined for %s', (_, history, running) => {
    expect(rollbackTarget(history, running)).toBeUndefined();
  });

  it('ignores failed deployments of the running revision and uses the one that succeeded', () => {
    // Given V4 failed twice from V3, and V3 itself came from V2
    const history = [
      moved('deploy', V3, V4, { state: 'ROLLED_BACK' }),
      moved('deploy', V3, V4, { state: 'FAILED' }),
      d3,
    ];

    // When V3 is running (ECS rolled back), the target is still V2
    expect(rollbackTarget(history, V3)).toEqual({ taskDefinitionArn: V2, deployment: d3 });
  });

  it('skips a deployment that changed nothing and finds the one that introduced the revision', () => {
    // Given a redeploy of the same revision after V3 was introduced
    const sameAgain = moved('deploy', V3, V3);

    expect(rollbackTarget([sameAgain, ...straightLine], V3)).toEqual({ taskDefinitionArn: V2, deployment: d3 });
  });
});

describe('revisionsToDeregister', () => {
  const ids = (records: DeploymentRecord[]) => records.map((one) => one.to.taskDefinitionArn);

  it('keeps the newest `keep` revisions Slipway registered and offers the older ones, newest first', () => {
    // Given five successful deployments, each registering its revision
    const history = [V4, V3, V2, V1, V0].map((arn) => moved('deploy', NOBODYS, arn));

    // When two are kept
    const victims = revisionsToDeregister(history, 2, new Set());

    // Then the three oldest may go
    expect(ids(victims)).toEqual([V2, V1, V0]);
  });

  it('offers nothing while there are no more than `keep`', () => {
    const history = [V2, V1].map((arn) => moved('deploy', NOBODYS, arn));

    expect(revisionsToDeregister(history, 2, new Set())).toEqual([]);
  });

  it('counts only revisions Slipway registered towards `keep`', () => {
    // Given a rollback and a restart between deployments: they reuse revisions, they register none
    const history = [
      moved('deploy', V3, V4),
      moved('rollback', V4, V3),
      moved('restart', V3, V3),
      moved('deploy', V2, V3),
      moved('deploy', V1, V2),
      moved('deploy', V0, V1),
    ];

    // When one is kept
    const victims = revisionsToDeregister(history, 1, new Set());

    // Then the reused revisions are neither kept nor offered: every registered one after the newest is
    expect(ids(victims)).toEqual([V3, V2, V1]);
  });

  it('never offers a revision Slipway did not register', () => {
    const history = [moved('deploy', V3, V4), moved('deploy', V2, V3, { registeredTaskDefinition: false })];

    expect(revisionsToDeregister(history, 0, new Set())).toEqual([history[0]]);
  });

  it('never offers a restart or scale record, even one marked as registered', () => {
    const history = [
      moved('restart', V4, V4, { registeredTaskDefinition: true }),
      moved('scale', V4, V4, { registeredTaskDefinition: true }),
      moved('deploy', V3, V4),
    ];

    expect(revisionsToDeregister(history, 0, new Set())).toEqual([history[2]]);
  });

  it('never offers a protected revision', () => {
    // Given the running revision and its rollback target are protected
    const history = [V4, V3, V2, V1].map((arn) => moved('deploy', NOBODYS, arn));

    // When none are kept by count
    const victims = revisionsToDeregister(history, 0, new Set([V4, V2]));

    // Then only the unprotected ones may go
    expect(ids(victims)).toEqual([V3, V1]);
  });

  it('never offers one already deregistered', () => {
    const history = [
      moved('deploy', V2, V3),
      moved('deploy', V1, V2, { taskDefinitionDeregisteredAt: '2026-11-20T03:00:00.000Z' }),
      moved('deploy', V0, V1),
    ];

    expect(ids(revisionsToDeregister(history, 1, new Set()))).toEqual([V1]);
  });

  it.each<DeploymentState>(['IN_PROGRESS', 'PENDING_APPROVAL'])('never offers a deployment %s', (state) => {
    const history = [moved('deploy', V3, V4, { state }), moved('deploy', V2, V3)];

    expect(ids(revisionsToDeregister(history, 0, new Set()))).toEqual([V3]);
  });

  it.each<DeploymentState>(['FAILED', 'ROLLED_BACK', 'TIMED_OUT', 'CANCELLED', 'EXPIRED'])(
    'offers the revision of a deployment that ended %s once it is past `keep`',
    (state) => {
      const history = [moved('deploy', V3, V4), moved('deploy', V3, V3_RETRY, { state })];

      expect(ids(revisionsToDeregister(history, 1, new Set()))).toEqual([V3_RETRY]);
    },
  );

  it('keeps every invariant over many generated histories', () => {
    // A small seeded generator (mulberry32): the same histories on every run, so a failure can be replayed.
    let seed = 0x5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const pick = <T>(choices: readonly T[]): T => choices[Math.floor(random() * choices.length)] as T;
    const states: DeploymentState[] = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'IN_PROGRESS', 'PENDING_APPROVAL'];
    const kinds: DeploymentKind[] = ['deploy', 'promote', 'rollback', 'restart', 'scale'];

    let offered = 0;
    for (let run = 0; run < 500; run++) {
      // Given a history of up to 12 deployments, each with a revision of its own
      const history = Array.from({ length: Math.floor(random() * 13) }, (_, index) =>
        record({
          kind: pick(kinds),
          state: pick(states),
          to: { taskDefinitionArn: `${REVISION}:${100 - index}`, images: {} },
          registeredTaskDefinition: random() < 0.7,
          ...(random() < 0.2 ? { taskDefinitionDeregisteredAt: '2026-11-20T03:00:00.000Z' } : {}),
        }),
      );
      const keep = Math.floor(random() * 5);
      const protectedArns = new Set(history.filter(() => random() < 0.2).map((one) => one.to.taskDefinitionArn ?? ''));

      // When the victims are chosen
      const victims = revisionsToDeregister(history, keep, protectedArns);
      offered += victims.length;

      // Then each is registered by Slipway, past the newest `keep` registered, unprotected, live and settled
      const registered = history.filter(
        (one) => one.registeredTaskDefinition && ['deploy', 'promote', 'rollback'].includes(one.kind),
      );
      const kept = new Set(registered.slice(0, keep));
      for (const victim of victims) {
        expect({ run, victim: victim.id, registered: registered.includes(victim) }).toEqual({
          run,
          victim: victim.id,
          registered: true,
        });
        expect({ run, victim: victim.id, kept: kept.has(victim) }).toEqual({ run, victim: victim.id, kept: false });
        expect({ run, protectedArn: protectedArns.has(victim.to.taskDefinitionArn ?? '') }).toEqual({
          run,
          protectedArn: false,
        });
        expect({ run, deregistered: victim.taskDefinitionDeregisteredAt }).toEqual({ run, deregistered: undefined });
        expect({ run, state: victim.state }).toEqual({
          run,
          state: expect.not.stringMatching(/^(IN_PROGRESS|PENDING_APPROVAL)$/),
        });
      }
      // And in the order of the history, newest first
      expect(victims).toEqual(history.filter((one) => victims.includes(one)));
    }
    // And the generator is not vacuous: it produced revisions to deregister
    expect(offered).toBeGreaterThan(200);
  });
});

describe('lastSuccessfulDigest', () => {
  it('is the newest successful deployment that pinned a digest', () => {
    // Given a failed deployment of a newer digest above the successful one
    const succeeded = moved('deploy', V2, V3, { to: { taskDefinitionArn: V3, images: {}, digest: digest('3f') } });
    const history = [
      moved('deploy', V3, V4, { state: 'FAILED', to: { taskDefinitionArn: V4, images: {}, digest: digest('4a') } }),
      moved('restart', V3, V3),
      succeeded,
      moved('deploy', V1, V2, { to: { taskDefinitionArn: V2, images: {}, digest: digest('2b') } }),
    ];

    // When the last successful digest is looked up
    // Then it is the one that succeeded, skipping the failure and the restart
    expect(lastSuccessfulDigest(history)).toBe(succeeded);
  });

  it('counts a successful rollback, which brings its digest back', () => {
    const rollback = moved('rollback', V3, V2, { to: { taskDefinitionArn: V2, images: {}, digest: digest('2b') } });
    const history = [
      rollback,
      moved('deploy', V2, V3, { to: { taskDefinitionArn: V3, images: {}, digest: digest('3f') } }),
    ];

    expect(lastSuccessfulDigest(history)).toBe(rollback);
  });

  it('skips a successful deployment that pinned no digest', () => {
    const pinned = moved('deploy', V1, V2, { to: { taskDefinitionArn: V2, images: {}, digest: digest('2b') } });

    expect(lastSuccessfulDigest([moved('deploy', V2, V3), pinned])).toBe(pinned);
  });

  it.each<[string, DeploymentRecord[]]>([
    ['an empty history', []],
    ['only failures', [moved('deploy', V2, V3, { state: 'FAILED', to: { images: {}, digest: digest('3f') } })]],
    ['a scale with a digest on record', [moved('scale', V3, V3, { to: { images: {}, digest: digest('3f') } })]],
  ])('is undefined for %s', (_, history) => {
    expect(lastSuccessfulDigest(history)).toBeUndefined();
  });
});
