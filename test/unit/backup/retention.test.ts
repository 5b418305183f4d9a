import { planRetention, type RetentionPolicy, type SnapshotInfo } from '../../../lib/backup/retention';

const REGION = 'eu-west-1';
const COPY_REGION = 'us-east-1';
const NOW = '2026-11-22T12:00:00.000Z';
const DAY_MS = 86_400_000;

function snapshot(id: string, createdAt: string, overrides: Partial<SnapshotInfo> = {}): SnapshotInfo {
  return { id, createdAt, status: 'available', createdBySlipway: true, region: REGION, ...overrides };
}

/** One available Slipway snapshot at 03:00 UTC on each day from `first` to `last`, newest first, id `s-<day>`. */
function nightly(first: string, last: string, overrides: Partial<SnapshotInfo> = {}): SnapshotInfo[] {
  const snapshots: SnapshotInfo[] = [];
  for (let time = Date.parse(`${last}T03:00:00Z`); time >= Date.parse(`${first}T03:00:00Z`); time -= DAY_MS) {
    const day = new Date(time).toISOString().slice(0, 10);
    snapshots.push(snapshot(`s-${day}`, `${day}T03:00:00.000Z`, overrides));
  }
  return snapshots;
}

const policy = (daily: number, weekly: number, monthly: number): RetentionPolicy => ({ daily, weekly, monthly });
const beyond = (p: RetentionPolicy) => `beyond retention (daily ${p.daily}, weekly ${p.weekly}, monthly ${p.monthly})`;

type Kept = [id: string, reasons: string[]];
type Deleted = [id: string, reason: string];
interface Expected {
  keep: Kept[];
  delete: Deleted[];
}

/** Every snapshot of `snapshots` not named in `keep`, newest first, deleted for `reason`. */
function theRest(snapshots: SnapshotInfo[], keep: Kept[], reason: string): Deleted[] {
  const kept = new Set(keep.map(([id]) => id));
  return snapshots.filter((s) => !kept.has(s.id)).map((s): Deleted => [s.id, reason]);
}

// 2026-11-22 is a Sunday, the last day of ISO week 2026-W47.
const TEN_NIGHTS = nightly('2026-11-13', '2026-11-22');
const TEN_NIGHTS_POLICY = policy(7, 0, 0);

const SINCE_OCTOBER = nightly('2026-10-01', '2026-11-22');
const GFS_POLICY = policy(3, 3, 2);
const GFS_KEEP: Kept[] = [
  ['s-2026-11-22', ['newest successful backup', 'daily 2026-11-22', 'weekly 2026-W47', 'monthly 2026-11']],
  ['s-2026-11-21', ['daily 2026-11-21']],
  ['s-2026-11-20', ['daily 2026-11-20']],
  ['s-2026-11-15', ['weekly 2026-W46']],
  ['s-2026-11-08', ['weekly 2026-W45']],
  ['s-2026-10-31', ['monthly 2026-10']],
];

// 400 nights ending on NOW's day: 2025-10-19 … 2026-11-22.
const FOUR_HUNDRED_NIGHTS = nightly('2025-10-19', '2026-11-22');
const MONTHLY_POLICY = policy(0, 0, 12);
const MONTHLY_KEEP: Kept[] = [
  ['s-2026-11-22', ['newest successful backup', 'monthly 2026-11']],
  ['s-2026-10-31', ['monthly 2026-10']],
  ['s-2026-09-30', ['monthly 2026-09']],
  ['s-2026-08-31', ['monthly 2026-08']],
  ['s-2026-07-31', ['monthly 2026-07']],
  ['s-2026-06-30', ['monthly 2026-06']],
  ['s-2026-05-31', ['monthly 2026-05']],
  ['s-2026-04-30', ['monthly 2026-04']],
  ['s-2026-03-31', ['monthly 2026-03']],
  ['s-2026-02-28', ['monthly 2026-02']],
  ['s-2026-01-31', ['monthly 2026-01']],
  ['s-2025-12-31', ['monthly 2025-12']],
];

// 2026 starts on a Thursday, so it has 53 ISO weeks: 2026-W53 runs from Mon 2026-12-28 to Sun 2027-01-03.
const AROUND_NEW_YEAR = [
  snapshot('s-2027-01-10', '2027-01-10T03:00:00Z'),
  snapshot('s-2027-01-04', '2027-01-04T03:00:00Z'),
  snapshot('s-2027-01-03', '2027-01-03T03:00:00Z'),
  snapshot('s-2026-12-28', '2026-12-28T03:00:00Z'),
  snapshot('s-2026-12-27', '2026-12-27T03:00:00Z'),
  snapshot('s-2026-12-21', '2026-12-21T03:00:00Z'),
];

type Case = [title: string, snapshots: SnapshotInfo[], policy: RetentionPolicy, now: string, expected: Expected];

describe('planRetention', () => {
  it.each<Case>([
    ['nothing to decide', [], policy(7, 4, 12), NOW, { keep: [], delete: [] }],
    [
      'ten nightly snapshots under daily 7 lose the three oldest',
      TEN_NIGHTS,
      TEN_NIGHTS_POLICY,
      NOW,
      {
        keep: [
          ['s-2026-11-22', ['newest successful backup', 'daily 2026-11-22']],
          ['s-2026-11-21', ['daily 2026-11-21']],
          ['s-2026-11-20', ['daily 2026-11-20']],
          ['s-2026-11-19', ['daily 2026-11-19']],
          ['s-2026-11-18', ['daily 2026-11-18']],
          ['s-2026-11-17', ['daily 2026-11-17']],
          ['s-2026-11-16', ['daily 2026-11-16']],
        ],
        delete: [
          ['s-2026-11-15', beyond(TEN_NIGHTS_POLICY)],
          ['s-2026-11-14', beyond(TEN_NIGHTS_POLICY)],
          ['s-2026-11-13', beyond(TEN_NIGHTS_POLICY)],
        ],
      },
    ],
    [
      'daily, weekly and monthly buckets each keep their newest, one snapshot for several reasons',
      SINCE_OCTOBER,
      GFS_POLICY,
      NOW,
      { keep: GFS_KEEP, delete: theRest(SINCE_OCTOBER, GFS_KEEP, beyond(GFS_POLICY)) },
    ],
    [
      'monthly 12 over 400 days keeps the last snapshot of each of the newest 12 months',
      FOUR_HUNDRED_NIGHTS,
      MONTHLY_POLICY,
      NOW,
      { keep: MONTHLY_KEEP, delete: theRest(FOUR_HUNDRED_NIGHTS, MONTHLY_KEEP, beyond(MONTHLY_POLICY)) },
    ],
    [
      'weekly buckets follow ISO weeks across the year boundary (2026-W53 holds 2027-01-03)',
      AROUND_NEW_YEAR,
      policy(0, 3, 0),
      '2027-01-10T12:00:00Z',
      {
        keep: [
          ['s-2027-01-10', ['newest successful backup', 'weekly 2027-W01']],
          ['s-2027-01-03', ['weekly 2026-W53']],
          ['s-2026-12-27', ['weekly 2026-W52']],
        ],
        delete: [
          ['s-2027-01-04', beyond(policy(0, 3, 0))],
          ['s-2026-12-28', beyond(policy(0, 3, 0))],
          ['s-2026-12-21', beyond(policy(0, 3, 0))],
        ],
      },
    ],
    [
      'New Year in the middle of an ISO week: one week bucket, two month buckets',
      [snapshot('s-2027-01-01', '2027-01-01T03:00:00Z'), snapshot('s-2026-12-31', '2026-12-31T03:00:00Z')],
      policy(0, 2, 2),
      '2027-01-01T12:00:00Z',
      {
        keep: [
          ['s-2027-01-01', ['newest successful backup', 'weekly 2026-W53', 'monthly 2027-01']],
          ['s-2026-12-31', ['monthly 2026-12']],
        ],
        delete: [],
      },
    ],
    [
      'the last days of December 2025 already belong to ISO week 2026-W01',
      [snapshot('s-2025-12-29', '2025-12-29T03:00:00Z'), snapshot('s-2025-12-28', '2025-12-28T03:00:00Z')],
      policy(0, 2, 0),
      '2025-12-29T12:00:00Z',
      {
        keep: [
          ['s-2025-12-29', ['newest successful backup', 'weekly 2026-W01']],
          ['s-2025-12-28', ['weekly 2025-W52']],
        ],
        delete: [],
      },
    ],
    [
      'two snapshots on one day: only the newer one stands for the day',
      [
        snapshot('s-2026-11-22-manual', '2026-11-22T11:30:00Z'),
        snapshot('s-2026-11-22', '2026-11-22T03:00:00Z'),
        snapshot('s-2026-11-21', '2026-11-21T03:00:00Z'),
        snapshot('s-2026-11-20', '2026-11-20T03:00:00Z'),
      ],
      policy(2, 0, 0),
      NOW,
      {
        keep: [
          ['s-2026-11-22-manual', ['newest successful backup', 'daily 2026-11-22']],
          ['s-2026-11-21', ['daily 2026-11-21']],
        ],
        delete: [
          ['s-2026-11-22', beyond(policy(2, 0, 0))],
          ['s-2026-11-20', beyond(policy(2, 0, 0))],
        ],
      },
    ],
    [
      'days are UTC days whatever offset the time is written with',
      [snapshot('s-late', '2026-11-22T01:30:00+02:00'), snapshot('s-early', '2026-11-21T03:00:00Z')],
      policy(2, 0, 0),
      NOW,
      {
        keep: [['s-late', ['newest successful backup', 'daily 2026-11-21']]],
        delete: [['s-early', beyond(policy(2, 0, 0))]],
      },
    ],
    [
      'a policy of all zeros keeps only the newest',
      nightly('2026-11-19', '2026-11-22'),
      policy(0, 0, 0),
      NOW,
      {
        keep: [['s-2026-11-22', ['newest successful backup']]],
        delete: [
          ['s-2026-11-21', beyond(policy(0, 0, 0))],
          ['s-2026-11-20', beyond(policy(0, 0, 0))],
          ['s-2026-11-19', beyond(policy(0, 0, 0))],
        ],
      },
    ],
    [
      'equal creation times are ordered by id, so the same snapshot always wins',
      [snapshot('s-b', '2026-11-22T03:00:00Z'), snapshot('s-a', '2026-11-22T03:00:00.000Z')],
      policy(0, 0, 0),
      NOW,
      {
        keep: [['s-a', ['newest successful backup']]],
        delete: [['s-b', beyond(policy(0, 0, 0))]],
      },
    ],
    [
      'snapshots Slipway did not create are never deleted and fill no bucket',
      [
        snapshot('manual-new', '2026-11-22T09:00:00Z', { createdBySlipway: false }),
        snapshot('s-2026-11-21', '2026-11-21T03:00:00Z'),
        snapshot('s-2026-11-20', '2026-11-20T03:00:00Z'),
        snapshot('manual-failed', '2026-11-19T09:00:00Z', { createdBySlipway: false, status: 'failed' }),
        snapshot('manual-old', '2024-01-01T09:00:00Z', { createdBySlipway: false }),
      ],
      policy(1, 0, 0),
      NOW,
      {
        keep: [
          ['manual-new', ['not created by Slipway']],
          ['s-2026-11-21', ['newest successful backup', 'daily 2026-11-21']],
          ['manual-failed', ['not created by Slipway']],
          ['manual-old', ['not created by Slipway']],
        ],
        delete: [['s-2026-11-20', beyond(policy(1, 0, 0))]],
      },
    ],
    [
      'a snapshot still being created is kept and is not yet the newest backup',
      [
        snapshot('s-creating', '', { status: 'creating' }),
        snapshot('s-creating-dated', '2026-11-22T03:00:00Z', { status: 'creating' }),
        snapshot('s-2026-11-21', '2026-11-21T03:00:00Z'),
        snapshot('s-2026-11-20', '2026-11-20T03:00:00Z'),
      ],
      policy(0, 0, 0),
      NOW,
      {
        keep: [
          ['s-creating', ['still being created']],
          ['s-creating-dated', ['still being created']],
          ['s-2026-11-21', ['newest successful backup']],
        ],
        delete: [['s-2026-11-20', beyond(policy(0, 0, 0))]],
      },
    ],
    [
      'failed snapshots are deleted and count for no bucket',
      [
        snapshot('s-failed-22', '2026-11-22T03:00:00Z', { status: 'failed' }),
        snapshot('s-2026-11-21', '2026-11-21T03:00:00Z'),
        snapshot('s-failed-21', '2026-11-21T09:00:00Z', { status: 'failed' }),
        snapshot('s-2026-11-20', '2026-11-20T03:00:00Z'),
        snapshot('s-2026-11-19', '2026-11-19T03:00:00Z'),
      ],
      policy(2, 0, 0),
      NOW,
      {
        keep: [
          ['s-2026-11-21', ['newest successful backup', 'daily 2026-11-21']],
          ['s-2026-11-20', ['daily 2026-11-20']],
        ],
        delete: [
          ['s-failed-22', 'failed snapshot'],
          ['s-failed-21', 'failed snapshot'],
          ['s-2026-11-19', beyond(policy(2, 0, 0))],
        ],
      },
    ],
    [
      'each region is decided on its own, a lone old copy being its region’s newest',
      [
        ...nightly('2026-11-20', '2026-11-22'),
        snapshot('copy-2026-11-21', '2026-11-21T04:00:00Z', { region: COPY_REGION }),
        snapshot('copy-2026-11-20', '2026-11-20T04:00:00Z', { region: COPY_REGION }),
        snapshot('copy-2026-11-19', '2026-11-19T04:00:00Z', { region: COPY_REGION }),
        snapshot('lone-2025', '2025-06-01T04:00:00Z', { region: 'ap-southeast-2' }),
      ],
      policy(2, 0, 0),
      NOW,
      {
        keep: [
          ['s-2026-11-22', ['newest successful backup', 'daily 2026-11-22']],
          ['copy-2026-11-21', ['newest successful backup', 'daily 2026-11-21']],
          ['s-2026-11-21', ['daily 2026-11-21']],
          ['copy-2026-11-20', ['daily 2026-11-20']],
          ['lone-2025', ['newest successful backup', 'daily 2025-06-01']],
        ],
        delete: [
          ['s-2026-11-20', beyond(policy(2, 0, 0))],
          ['copy-2026-11-19', beyond(policy(2, 0, 0))],
        ],
      },
    ],
    [
      'snapshots dated after now are kept and push no real backup out',
      [
        snapshot('s-2027', '2027-03-01T03:00:00Z'),
        snapshot('s-skewed', '2026-11-22T12:00:05Z'),
        snapshot('s-at-now', NOW),
        snapshot('s-2026-11-22', '2026-11-22T03:00:00Z'),
        snapshot('s-2026-11-21', '2026-11-21T03:00:00Z'),
      ],
      policy(1, 0, 0),
      NOW,
      {
        keep: [
          ['s-2027', ['newer than now']],
          ['s-skewed', ['newer than now']],
          ['s-at-now', ['newest successful backup', 'daily 2026-11-22']],
        ],
        delete: [
          ['s-2026-11-22', beyond(policy(1, 0, 0))],
          ['s-2026-11-21', beyond(policy(1, 0, 0))],
        ],
      },
    ],
    [
      'a snapshot in any other state, or with an unreadable time, is kept',
      [
        snapshot('s-unreadable', 'yesterday'),
        snapshot('s-copying', '2026-11-22T06:00:00Z', { status: 'copying' }),
        snapshot('s-2026-11-21', '2026-11-21T03:00:00Z'),
        snapshot('s-2026-11-20', '2026-11-20T03:00:00Z'),
      ],
      policy(0, 0, 0),
      NOW,
      {
        keep: [
          ['s-unreadable', ['creation time unknown']],
          ['s-copying', ['status copying']],
          ['s-2026-11-21', ['newest successful backup']],
        ],
        delete: [['s-2026-11-20', beyond(policy(0, 0, 0))]],
      },
    ],
    [
      'a policy larger than the history deletes nothing',
      nightly('2026-11-21', '2026-11-22'),
      policy(7, 4, 12),
      NOW,
      {
        keep: [
          ['s-2026-11-22', ['newest successful backup', 'daily 2026-11-22', 'weekly 2026-W47', 'monthly 2026-11']],
          ['s-2026-11-21', ['daily 2026-11-21']],
        ],
        delete: [],
      },
    ],
  ])('%s', (_title, snapshots, retention, now, expected) => {
    // Given snapshots, a policy and the time; When retention is planned
    const plan = planRetention(snapshots, retention, new Date(now));

    // Then exactly the expected snapshots are kept and deleted, for the expected reasons, newest first
    expect({
      keep: plan.keep.map(({ snapshot, reasons }): Kept => [snapshot.id, reasons]),
      delete: plan.delete.map(({ snapshot, reason }): Deleted => [snapshot.id, reason]),
    }).toEqual(expected);
  });

  it('hands back the input snapshots themselves and leaves the input as it was', () => {
    // Given snapshots out of order
    const snapshots = [...TEN_NIGHTS].reverse();
    const before = structuredClone(snapshots);

    // When retention is planned
    const plan = planRetention(snapshots, TEN_NIGHTS_POLICY, new Date(NOW));

    // Then the input is untouched and the plan points at the same objects
    expect(snapshots).toEqual(before);
    expect(plan.keep[0]?.snapshot).toBe(snapshots.at(-1));
    expect(plan.delete.at(-1)?.snapshot).toBe(snapshots[0]);
  });
});
