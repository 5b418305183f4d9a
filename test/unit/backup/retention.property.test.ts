import fc from 'fast-check';
import {
  planRetention,
  type RetentionDecision,
  type RetentionPolicy,
  type SnapshotInfo,
} from '../../../lib/backup/retention';

const RUNS = { numRuns: 300 };
const HOUR_MS = 3_600_000;
const START = Date.parse('2025-06-01T00:00:00Z');
const REGIONS = ['eu-west-1', 'us-east-1'] as const;

const retention = fc.record<RetentionPolicy>({
  daily: fc.integer({ min: 0, max: 10 }),
  weekly: fc.integer({ min: 0, max: 10 }),
  monthly: fc.integer({ min: 0, max: 10 }),
});

// Whole hours, so that several snapshots share a day, a week or even a time; now at most a month past the
// history and as far back as its middle, so that some snapshots are dated after it.
const scenario = fc.constantFrom(3, 30, 120, 730).chain((historyDays) =>
  fc
    .record({
      regions: fc.integer({ min: 1, max: 2 }),
      // Full-size lists: short histories under a policy of up to 30 slots would delete nothing.
      specs: fc.array(
        fc.record({
          hour: fc.option(fc.integer({ min: 0, max: historyDays * 24 }), { freq: 20, nil: undefined }),
          status: fc.oneof(
            { weight: 12, arbitrary: fc.constant('available') },
            { weight: 2, arbitrary: fc.constantFrom('creating', 'failed') },
            { weight: 1, arbitrary: fc.constant('copying') },
          ),
          createdBySlipway: fc.oneof(
            { weight: 5, arbitrary: fc.constant(true) },
            { weight: 1, arbitrary: fc.constant(false) },
          ),
          region: fc.constantFrom(0, 1),
        }),
        { maxLength: 60, size: 'max' },
      ),
      policy: retention,
      nowHour: fc.integer({ min: historyDays * 12, max: (historyDays + 30) * 24 }),
    })
    .map(({ regions, specs, policy, nowHour }) => ({
      snapshots: specs.map(
        (spec, index): SnapshotInfo => ({
          id: `snap-${String(index).padStart(2, '0')}`,
          createdAt: spec.hour === undefined ? '' : new Date(START + spec.hour * HOUR_MS).toISOString(),
          status: spec.status,
          createdBySlipway: spec.createdBySlipway,
          region: REGIONS[spec.region % regions] ?? 'eu-west-1',
        }),
      ),
      policy,
      now: new Date(START + nowHour * HOUR_MS),
    })),
);

/** Available Slipway snapshots with a readable time not after now: the ones the policy decides on. */
function decidable(snapshots: SnapshotInfo[], now: Date): SnapshotInfo[] {
  return snapshots.filter((s) => {
    const time = Date.parse(s.createdAt);
    return s.createdBySlipway && s.status === 'available' && !Number.isNaN(time) && time <= now.getTime();
  });
}

function newestOf(snapshots: SnapshotInfo[]): SnapshotInfo | undefined {
  return [...snapshots].sort(
    (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )[0];
}

const regionsOf = (snapshots: SnapshotInfo[]) => [...new Set(snapshots.map((s) => s.region))];
const deletedIn = (plan: RetentionDecision) => new Set(plan.delete.map((d) => d.snapshot));

describe('planRetention (property)', () => {
  it('keeps no more decidable snapshots per region than the policy allows, and at least the newest', () => {
    fc.assert(
      fc.property(scenario, ({ snapshots, policy, now }) => {
        // Given any snapshots, policy and time; When retention is planned
        const plan = planRetention(snapshots, policy, now);

        // Then per region the kept decidable snapshots number between 1 and max(1, daily + weekly + monthly)
        const kept = decidable(
          plan.keep.map((k) => k.snapshot),
          now,
        );
        for (const region of regionsOf(decidable(snapshots, now))) {
          const count = kept.filter((s) => s.region === region).length;
          expect(count).toBeGreaterThanOrEqual(1);
          expect(count).toBeLessThanOrEqual(Math.max(1, policy.daily + policy.weekly + policy.monthly));
        }
      }),
      RUNS,
    );
  });

  it('never deletes the newest available Slipway snapshot of a region', () => {
    fc.assert(
      fc.property(scenario, ({ snapshots, policy, now }) => {
        // Given any snapshots, policy and time; When retention is planned
        const plan = planRetention(snapshots, policy, now);

        // Then each region's newest decidable snapshot is kept as the newest successful backup
        for (const region of regionsOf(decidable(snapshots, now))) {
          const newest = newestOf(decidable(snapshots, now).filter((s) => s.region === region));
          const entry = plan.keep.find((k) => k.snapshot === newest);
          expect(entry?.reasons).toContain('newest successful backup');
        }
      }),
      RUNS,
    );
  });

  it('deletes only Slipway snapshots that are failed or available, never one dated after now', () => {
    fc.assert(
      fc.property(scenario, ({ snapshots, policy, now }) => {
        // Given any snapshots, policy and time; When retention is planned
        const plan = planRetention(snapshots, policy, now);

        // Then nothing foreign, still being created, in another state or from the future is deleted
        const beyond = `beyond retention (daily ${policy.daily}, weekly ${policy.weekly}, monthly ${policy.monthly})`;
        const allowed = ({ snapshot, reason }: RetentionDecision['delete'][number]) =>
          snapshot.createdBySlipway &&
          (snapshot.status === 'failed'
            ? reason === 'failed snapshot'
            : snapshot.status === 'available' && Date.parse(snapshot.createdAt) <= now.getTime() && reason === beyond);
        expect(plan.delete.filter((entry) => !allowed(entry))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('is idempotent: once the deletions are done, planning again deletes nothing and keeps the same', () => {
    fc.assert(
      fc.property(scenario, ({ snapshots, policy, now }) => {
        // Given a plan carried out
        const plan = planRetention(snapshots, policy, now);
        const deleted = deletedIn(plan);
        const remaining = snapshots.filter((s) => !deleted.has(s));

        // When retention is planned again over what remains
        const again = planRetention(remaining, policy, now);

        // Then nothing more is deleted, and everything is kept for the same reasons
        expect(again.delete).toEqual([]);
        expect(again.keep).toEqual(plan.keep);
      }),
      RUNS,
    );
  });

  it('places every snapshot exactly once, newest first, whatever the input order', () => {
    fc.assert(
      fc.property(
        scenario.chain((s) =>
          fc
            .shuffledSubarray(s.snapshots, { minLength: s.snapshots.length, maxLength: s.snapshots.length })
            .map((shuffled) => ({ ...s, shuffled })),
        ),
        ({ snapshots, shuffled, policy, now }) => {
          // Given the same snapshots in two orders; When retention is planned for each
          const plan = planRetention(snapshots, policy, now);
          const planOfShuffled = planRetention(shuffled, policy, now);

          // Then each input snapshot is either kept or deleted, once
          const placed = [...plan.keep.map((k) => k.snapshot), ...plan.delete.map((d) => d.snapshot)];
          const placedOnce = new Set(placed);
          expect(placed).toHaveLength(snapshots.length);
          expect(placedOnce.size).toBe(snapshots.length);
          expect(snapshots.filter((s) => !placedOnce.has(s))).toEqual([]);

          // And both lists run newest first, the plan not depending on the input order
          for (const list of [plan.keep.map((k) => k.snapshot), plan.delete.map((d) => d.snapshot)]) {
            const times = list
              .map((s) => Date.parse(s.createdAt))
              .map((t) => (Number.isNaN(t) ? Number.POSITIVE_INFINITY : t));
            expect(times).toEqual([...times].sort((a, b) => (a === b ? 0 : a > b ? -1 : 1)));
          }
          expect(planOfShuffled).toEqual(plan);
        },
      ),
      RUNS,
    );
  });
});
