import type { AuditEntry } from '../../../lib/audit/trail';
import type { ArchiveRecord, ArchiveRestoreRecord, BackupRecord, RestoreRecord } from '../../../lib/backup/records';
import type { DeploymentPlan, EnvironmentView } from '../../../lib/deploy/deployments';
import type { DeploymentRecord } from '../../../lib/deploy/records';
import type { AppsBody } from '../../../packages/cli/src/api';
import {
  deploymentVerdict,
  duration,
  formatApps,
  formatAudit,
  formatBackups,
  formatDeployment,
  formatEnvironment,
  formatHistory,
  formatPlan,
  formatRestore,
  restoreVerdict,
  shortDigest,
  styleFor,
  timelineLine,
} from '../../../packages/cli/src/format';

const plain = { colour: false };
const colour = { colour: true };
const digest = (char: string) => `sha256:${char.repeat(64)}`;
const REPOSITORY = '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend';

function deployment(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: 'dep-5b0c2c4e-0000-4000-8000-000000000001',
    app: 'shop',
    environment: 'staging',
    kind: 'deploy',
    state: 'IN_PROGRESS',
    requestedBy: { name: 'ci', kind: 'token' },
    reason: 'release 1.5.0',
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:00:05.412Z',
    cluster: 'shop-staging',
    service: 'backend',
    from: { taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:41', images: {} },
    to: {
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:42',
      images: { backend: `${REPOSITORY}@${digest('b')}` },
      digest: digest('b'),
      tag: '1.5.0',
    },
    registeredTaskDefinition: true,
    ecsDeploymentId: 'ecs-svc/4815162342081516234',
    approvals: { required: 0, by: [] },
    timeline: [
      { state: 'REQUESTED', at: '2026-11-23T10:00:00.000Z', by: 'ci' },
      { state: 'IN_PROGRESS', at: '2026-11-23T10:00:05.412Z', note: 'ECS deployment ecs-svc/4815162342081516234' },
    ],
    ...overrides,
  };
}

/** A table's lines as their cells (columns are separated by two spaces or more). */
const cells = (text: string) => text.split('\n').map((line) => line.split(/\s{2,}/));

describe('styleFor', () => {
  it.each([
    [true, {}, true],
    [false, {}, false],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: '' }, true],
    [true, { TERM: 'dumb' }, false],
  ])('a terminal %s with %j → colour %s', (isTTY, env, expected) => {
    expect(styleFor(isTTY, env)).toEqual({ colour: expected });
  });
});

describe('timelines and verdicts', () => {
  it('prints a timeline entry as one line: time to the second, state, note, who', () => {
    const [requested, started] = deployment().timeline as [never, never];
    expect(timelineLine(plain, requested)).toBe('2026-11-23T10:00:00Z REQUESTED (by ci)');
    expect(timelineLine(plain, started)).toBe(
      '2026-11-23T10:00:05Z IN_PROGRESS ECS deployment ecs-svc/4815162342081516234',
    );
  });

  it('colours states only when asked to', () => {
    const [, started] = deployment().timeline as [never, never];
    expect(timelineLine(colour, started)).toBe(
      '2026-11-23T10:00:05Z \x1b[33mIN_PROGRESS\x1b[0m ECS deployment ecs-svc/4815162342081516234',
    );
  });

  it('ends a success with where it runs and how long it took', () => {
    const record = deployment({ state: 'SUCCEEDED', updatedAt: '2026-11-23T10:01:05.000Z' });
    expect(deploymentVerdict(plain, record)).toBe(
      'Deployment dep-5b0c2c4e-0000-4000-8000-000000000001 SUCCEEDED after 1m05s: shop/staging runs 1.5.0 (sha256:bbbbbbbbbbbb)',
    );
  });

  it('ends a failure with the reason from the record', () => {
    const record = deployment({
      state: 'ROLLED_BACK',
      updatedAt: '2026-11-23T10:00:40.000Z',
      failure: {
        reason: 'task 1a2b stopped: Essential container in task exited (container backend exited with 137)',
        serviceEvents: [],
        stoppedTasks: [],
      },
    });
    expect(deploymentVerdict(plain, record)).toBe(
      'Deployment dep-5b0c2c4e-0000-4000-8000-000000000001 ROLLED_BACK after 40s: task 1a2b stopped: Essential container in task exited (container backend exited with 137)',
    );
  });

  it('falls back on the last step’s note when there is no diagnosis (a cancel, an expiry)', () => {
    const record = deployment({
      state: 'CANCELLED',
      timeline: [{ state: 'CANCELLED', at: '2026-11-23T10:00:05.000Z', note: 'cancelled by alice' }],
    });
    expect(deploymentVerdict(plain, record)).toMatch(/CANCELLED after 5s: cancelled by alice$/);
  });

  it('says how many approvals a waiting deployment still needs and how to give one', () => {
    const record = deployment({
      state: 'PENDING_APPROVAL',
      approvals: { required: 2, by: [{ by: 'bob', at: '2026-11-23T10:01:00.000Z' }] },
    });
    expect(formatDeployment(plain, record).split('\n').at(-1)).toBe(
      'Waiting for 1 more approval(s): slipway approve dep-5b0c2c4e-0000-4000-8000-000000000001',
    );
  });

  it.each([
    [0, '0s'],
    [59_499, '59s'],
    [65_000, '1m05s'],
    [3 * 3_600_000 + 60_000, '3h01m'],
  ])('%d ms reads %s', (ms, text) => {
    expect(duration(ms)).toBe(text);
  });

  it('shortens digests to tell images apart in a table', () => {
    expect(shortDigest(digest('c'))).toBe('sha256:cccccccccccc');
    expect(shortDigest(null)).toBe('-');
  });
});

describe('tables', () => {
  it('lists every environment of every app with its last deployment, without colour when plain', () => {
    const body: AppsBody = {
      apps: [
        {
          name: 'shop',
          environments: [
            {
              name: 'staging',
              cluster: 'shop-staging',
              service: 'backend',
              approvals: 0,
              lastDeployment: {
                id: 'dep-1',
                kind: 'deploy',
                state: 'SUCCEEDED',
                requestedBy: 'ci',
                updatedAt: '2026-11-23T10:01:05.000Z',
                toDigest: digest('b'),
              },
            },
            { name: 'production', cluster: 'shop-prod', service: 'backend', approvals: 1 },
          ],
        },
      ],
    };
    const text = formatApps(plain, body);
    expect(cells(text)).toEqual([
      ['APP', 'ENV', 'SERVICE', 'APPROVALS', 'LAST DEPLOYMENT', 'DIGEST', 'UPDATED', 'BY'],
      [
        'shop',
        'staging',
        'shop-staging/backend',
        '0',
        'deploy SUCCEEDED',
        'sha256:bbbbbbbbbbbb',
        '2026-11-23T10:01:05Z',
        'ci',
      ],
      ['shop', 'production', 'shop-prod/backend', '1', 'none yet', '-', '-', '-'],
    ]);
    expect(text).not.toContain('\x1b[');
    expect(formatApps(colour, body)).toContain('\x1b[1mAPP\x1b[0m');
  });

  it('shows one environment as labelled lines', () => {
    const view: EnvironmentView = {
      app: 'shop',
      environment: 'staging',
      cluster: 'shop-staging',
      service: 'backend',
      approvals: 0,
      running: {
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:42',
        images: { backend: `${REPOSITORY}@${digest('b')}` },
        digest: digest('b'),
        desiredCount: 2,
        runningCount: 1,
        pendingCount: 1,
        status: 'ACTIVE',
      },
      inFlight: deployment(),
    };
    expect(cells(formatEnvironment(plain, view))).toEqual([
      ['App', 'shop'],
      ['Environment', 'staging'],
      ['Service', 'shop-staging/backend (ACTIVE)'],
      ['Task definition', 'shop-backend:42'],
      ['Image', `backend=${REPOSITORY}@${digest('b')}`],
      ['Digest', digest('b')],
      ['Tasks', '1/2, 1 pending (running/desired)'],
      ['Approvals', '0'],
      ['Last deployment', 'none'],
      ['In flight', 'dep-5b0c2c4e-0000-4000-8000-000000000001 deploy IN_PROGRESS 2026-11-23T10:00:05Z'],
    ]);
  });

  it('shows a dry run as the revision it would register, the fields that change by name, and the images', () => {
    // Given a rollback plan whose revision differs from the running one in an image and an environment variable
    const plan: DeploymentPlan = {
      app: 'shop',
      environment: 'production',
      kind: 'rollback',
      cluster: 'shop-prod',
      service: 'backend',
      approvalsRequired: 0,
      changes: [{ container: 'backend', from: `${REPOSITORY}@${digest('b')}`, to: `${REPOSITORY}@${digest('a')}` }],
      from: { taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:42', images: {} },
      to: { taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:41', images: {} },
      taskDefinition: {
        registers: false,
        fieldsChanged: ['containerDefinitions.backend.image', 'containerDefinitions.backend.environment.API_KEY'],
      },
      updateService: { cluster: 'shop-prod', service: 'backend' },
    };

    // When it is formatted, then the fields are named and the images shown
    expect(cells(formatPlan(plain, plan))).toEqual([
      ['Dry run, nothing was changed: rollback shop/production (shop-prod/backend)'],
      ['From', 'shop-backend:42'],
      ['To', 'shop-backend:41'],
      ['Revision', 'an existing one is reused'],
      ['Fields', 'containerDefinitions.backend.image, containerDefinitions.backend.environment.API_KEY'],
      ['Approvals', '0'],
      [''],
      ['CONTAINER', 'FROM', 'TO'],
      ['backend', `${REPOSITORY}@${digest('b')}`, `${REPOSITORY}@${digest('a')}`],
    ]);
  });

  it('lists history newest first with what each deployed and why it failed', () => {
    const failed = deployment({
      id: 'dep-2',
      state: 'FAILED',
      failure: {
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
        serviceEvents: [],
        stoppedTasks: [],
      },
    });
    const rollback = deployment({
      id: 'dep-3',
      kind: 'rollback',
      state: 'SUCCEEDED',
      reason: undefined,
      to: { taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:41', images: {} },
    });
    expect(cells(formatHistory(plain, [rollback, failed]))).toEqual([
      ['ID', 'KIND', 'STATE', 'TO', 'BY', 'CREATED', 'REASON'],
      ['dep-3', 'rollback', 'SUCCEEDED', 'shop-backend:41', 'ci', '2026-11-23T10:00:00Z'],
      [
        'dep-2',
        'deploy',
        'FAILED',
        '1.5.0 (sha256:bbbbbbbbbbbb)',
        'ci',
        '2026-11-23T10:00:00Z',
        'ECS deployment circuit breaker: tasks failed to start.',
      ],
    ]);
    expect(formatHistory(plain, [])).toBe('No deployments yet.');
  });

  it('lists snapshots, archives and dumps with what they are of and their size', () => {
    const snapshot: BackupRecord = {
      id: 'bkp-1',
      kind: 'rds-snapshot',
      database: 'shop-db',
      source: { type: 'instance', identifier: 'shop-prod-db' },
      region: 'us-east-1',
      snapshotIdentifier: 'slipway-shop-db-202611230300',
      status: 'AVAILABLE',
      trigger: 'schedule',
      sizeGiB: 20,
      createdAt: '2026-11-23T03:00:00.000Z',
      updatedAt: '2026-11-23T03:09:00.000Z',
    };
    const archive: ArchiveRecord = {
      id: 'bkp-2',
      kind: 'volume-archive',
      volume: 'shop-uploads',
      status: 'FAILED',
      reason: 'the task stopped: OutOfMemoryError: Container killed due to memory usage',
      trigger: 'api:ci',
      runner: 'ecs',
      bucket: 'slipway-prod-backups',
      prefix: 'volumes/shop-uploads/bkp-2/',
      bytes: 3_221_225_472,
      createdAt: '2026-11-23T03:30:00.000Z',
      updatedAt: '2026-11-23T03:40:00.000Z',
    };
    expect(cells(formatBackups(plain, [archive, snapshot]))).toEqual([
      ['ID', 'KIND', 'OF', 'STATUS', 'CREATED', 'SIZE', 'REASON'],
      [
        'bkp-2',
        'volume-archive',
        'volume shop-uploads',
        'FAILED',
        '2026-11-23T03:30:00Z',
        '3.0 GiB',
        'the task stopped: OutOfMemoryError: Container killed due to…',
      ],
      ['bkp-1', 'rds-snapshot', 'shop-db', 'AVAILABLE', '2026-11-23T03:00:00Z', '20 GiB'],
    ]);
  });
});

describe('the audit trail', () => {
  it('given a denied request and an automatic action, when formatted, then one line each, the target as key=value', () => {
    // given
    const entries: AuditEntry[] = [
      {
        id: 'a-1',
        at: '2026-12-05T09:00:00.123Z',
        source: 'http',
        actor: 'ci',
        roles: ['deployer'],
        action: 'createRestore',
        decision: 'denied',
        target: { database: 'shop-db' },
        outcome: { result: 'refused', status: 403, code: 'FORBIDDEN', detail: 'needs admin' },
      },
      {
        id: 'a-2',
        at: '2026-12-05T09:05:00.000Z',
        source: 'automatic',
        actor: 'alarm:shop-production-availability',
        action: 'deployment.rollback',
        decision: 'allowed',
        target: { app: 'shop', environment: 'production', deploymentId: 'dep-9' },
        outcome: { result: 'succeeded', code: 'IN_PROGRESS' },
      },
    ];

    // when
    const text = formatAudit(plain, entries);

    // then
    expect(cells(text)).toEqual([
      ['AT', 'ACTOR', 'ACTION', 'DECISION', 'OUTCOME', 'TARGET'],
      ['2026-12-05T09:00:00Z', 'ci', 'createRestore', 'denied', 'refused 403 FORBIDDEN', 'database=shop-db'],
      [
        '2026-12-05T09:05:00Z',
        'alarm:shop-production-availability',
        'deployment.rollback',
        'allowed',
        'succeeded IN_PROGRESS',
        'app=shop environment=production deploymentId=dep-9',
      ],
    ]);
    expect(formatAudit(colour, entries)).toContain('\x1b[31mdenied\x1b[0m');
    expect(formatAudit(plain, [])).toBe('No audit entries in that window.');
  });
});

describe('restores', () => {
  const rds: RestoreRecord = {
    id: 'rst-1',
    database: 'shop-db',
    source: { type: 'instance', identifier: 'shop-prod-db' },
    from: { pointInTime: 'latest' },
    targetIdentifier: 'shop-db-copy',
    region: 'us-east-1',
    status: 'AVAILABLE',
    requestedBy: 'alice',
    drill: false,
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:12:30.000Z',
    durationSeconds: 750,
  };
  const volume: ArchiveRestoreRecord = {
    id: 'rst-2',
    kind: 'volume',
    volume: 'shop-uploads',
    backupId: 'bkp-2',
    target: { path: 'restored-20261123T100000Z' },
    force: false,
    runner: 'lambda',
    status: 'FAILED',
    reason: 'archive SHA-256 does not match the manifest',
    requestedBy: 'alice',
    drill: false,
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:00:30.000Z',
  };

  it('says what is restored where', () => {
    expect(formatRestore(plain, rds)).toBe(
      'Restore rst-1: RDS shop-db from the state at latest into shop-db-copy, AVAILABLE',
    );
    expect(formatRestore(plain, volume)).toBe(
      'Restore rst-2: volume shop-uploads into restored-20261123T100000Z, FAILED\nReason: archive SHA-256 does not match the manifest',
    );
  });

  it('ends with the measured time, or the reason it failed', () => {
    expect(restoreVerdict(plain, rds)).toBe(
      'Restore rst-1 AVAILABLE after 12m30s: RDS shop-db from the state at latest into shop-db-copy',
    );
    expect(restoreVerdict(plain, volume)).toBe(
      'Restore rst-2 FAILED after 30s: archive SHA-256 does not match the manifest',
    );
  });
});
