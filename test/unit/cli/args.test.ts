import { type Invocation, parseCommandLine } from '../../../packages/cli/src/args';
import { UsageError } from '../../../packages/cli/src/errors';
import { type ApiRequest, requestFor } from '../../../packages/cli/src/requests';

const DIGEST = `sha256:${'b'.repeat(64)}`;

/** The command line a user types, as the one request it makes. */
function requestOf(line: string[]): ApiRequest | undefined {
  const invocation = parseCommandLine(line);
  if (invocation.kind !== 'run') throw new Error(`expected a command, got ${invocation.kind}`);
  return requestFor(invocation.command);
}

function usageError(line: string[]): UsageError {
  try {
    parseCommandLine(line);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`${line.join(' ')} was accepted`);
}

describe('parseCommandLine → requestFor', () => {
  it.each<[string[], ApiRequest]>([
    [
      ['deploy', 'shop', 'staging', '--tag', '1.5.0'],
      { method: 'POST', path: '/v1/deployments', body: { app: 'shop', environment: 'staging', tag: '1.5.0' } },
    ],
    [
      ['deploy', 'shop', 'production', '--digest', DIGEST, '--reason', 'hotfix 42', '--dry-run'],
      {
        method: 'POST',
        path: '/v1/deployments',
        body: { app: 'shop', environment: 'production', digest: DIGEST, reason: 'hotfix 42', dryRun: true },
      },
    ],
    [['status'], { method: 'GET', path: '/v1/apps' }],
    [['status', 'shop'], { method: 'GET', path: '/v1/apps' }],
    [['status', 'shop', 'staging'], { method: 'GET', path: '/v1/apps/shop/environments/staging' }],
    [
      ['history', 'shop', 'staging'],
      { method: 'GET', path: '/v1/apps/shop/environments/staging/deployments', query: { limit: '20' } },
    ],
    [
      ['history', 'shop', 'staging', '--limit', '250'],
      { method: 'GET', path: '/v1/apps/shop/environments/staging/deployments', query: { limit: '100' } },
    ],
    [['approve', 'dep-1'], { method: 'POST', path: '/v1/deployments/dep-1/approve' }],
    [['cancel', 'dep-1'], { method: 'POST', path: '/v1/deployments/dep-1/cancel' }],
    [
      ['rollback', 'shop', 'production', '--reason', 'latency'],
      { method: 'POST', path: '/v1/apps/shop/environments/production/rollback', body: { reason: 'latency' } },
    ],
    [
      ['promote', 'shop', '--to', 'production'],
      { method: 'POST', path: '/v1/apps/shop/environments/production/promote', body: {} },
    ],
    [
      ['promote', 'shop', '--to', 'production', '--from', 'qa', '--dry-run'],
      {
        method: 'POST',
        path: '/v1/apps/shop/environments/production/promote',
        body: { from: 'qa', dryRun: true },
      },
    ],
    [['backups'], { method: 'GET', path: '/v1/backups', query: {} }],
    [
      ['backups', '--database', 'shop-db', '--kind', 'postgres-dump', '--status', 'FAILED', '--limit', '5'],
      {
        method: 'GET',
        path: '/v1/backups',
        query: { database: 'shop-db', kind: 'postgres-dump', status: 'FAILED', limit: '5' },
      },
    ],
    [['backup', 'shop-db'], { method: 'POST', path: '/v1/backups', body: { database: 'shop-db' } }],
    [['audit'], { method: 'GET', path: '/v1/audit', query: {} }],
    [
      ['audit', '--since', '2026-12-05', '--until', '2026-12-05T12:00:00Z', '--limit', '700'],
      { method: 'GET', path: '/v1/audit', query: { since: '2026-12-05', until: '2026-12-05T12:00:00Z' } },
    ],
    [
      ['audit', '--actor', 'anonymous', '--decision', 'denied', '--action', 'createRestore'],
      {
        method: 'GET',
        path: '/v1/audit',
        query: { actor: 'anonymous', decision: 'denied', action: 'createRestore' },
      },
    ],
    [
      ['backup', 'shop-db', '--dump'],
      { method: 'POST', path: '/v1/backups', body: { database: 'shop-db', kind: 'postgres-dump' } },
    ],
    [['backup', 'shop-uploads', '--volume'], { method: 'POST', path: '/v1/backups', body: { volume: 'shop-uploads' } }],
    [
      ['restore', '--database', 'shop-db', '--target-identifier', 'shop-db-copy', '--backup', 'bkp-1'],
      {
        method: 'POST',
        path: '/v1/restores',
        body: { kind: 'rds', database: 'shop-db', targetIdentifier: 'shop-db-copy', backupId: 'bkp-1' },
      },
    ],
    [
      ['restore', '--database', 'shop-db', '--target-identifier', 'shop-db-copy', '--point-in-time', 'latest'],
      {
        method: 'POST',
        path: '/v1/restores',
        body: { kind: 'rds', database: 'shop-db', targetIdentifier: 'shop-db-copy', pointInTime: 'latest' },
      },
    ],
    [
      ['restore', '--volume', 'shop-uploads', '--target-path', 'restored/today', '--force'],
      {
        method: 'POST',
        path: '/v1/restores',
        body: { kind: 'volume', volume: 'shop-uploads', targetPath: 'restored/today', force: true },
      },
    ],
    [
      ['restore', '--volume', 'shop-uploads'],
      { method: 'POST', path: '/v1/restores', body: { kind: 'volume', volume: 'shop-uploads' } },
    ],
    [
      ['restore', '--database', 'shop-db', '--dump', '--target-database', 'shop_restored', '--backup', 'bkp-2'],
      {
        method: 'POST',
        path: '/v1/restores',
        body: { kind: 'postgres-dump', database: 'shop-db', targetDatabase: 'shop_restored', backupId: 'bkp-2' },
      },
    ],
  ])('%j', (line, request) => {
    expect(requestOf(line)).toEqual(request);
  });

  it('encodes names into the path, so an odd name cannot reach another route', () => {
    expect(requestOf(['status', 'shop/../x', 'st ag'])?.path).toBe('/v1/apps/shop%2F..%2Fx/environments/st%20ag');
  });

  it('reads global options before or after the command, and --wait with its timeout', () => {
    // Given the globals on either side of the command
    const invocation = parseCommandLine([
      '--url',
      'http://127.0.0.1:3000',
      'deploy',
      'shop',
      'staging',
      '--tag=1.5.0',
      '--json',
      '--token',
      'slw_x',
      '--profile',
      'ci',
      '--wait',
      '--timeout',
      '2.5',
    ]);

    // Then each lands in its place
    expect(invocation).toEqual<Invocation>({
      kind: 'run',
      globals: { json: true, url: 'http://127.0.0.1:3000', token: 'slw_x', profile: 'ci' },
      command: {
        name: 'deploy',
        app: 'shop',
        environment: 'staging',
        tag: '1.5.0',
        dryRun: false,
        wait: true,
        timeoutMinutes: 2.5,
      },
    });
  });

  it('follows for 60 minutes unless told otherwise', () => {
    expect(parseCommandLine(['rollback', 'shop', 'staging', '--wait'])).toMatchObject({
      command: { wait: true, timeoutMinutes: 60 },
    });
  });
});

describe('help and version', () => {
  it.each<[string[], Invocation]>([
    [['--help'], { kind: 'help' }],
    [['-h'], { kind: 'help' }],
    [['help'], { kind: 'help' }],
    [['help', 'restore'], { kind: 'help', command: 'restore' }],
    [['deploy', '--help'], { kind: 'help', command: 'deploy' }],
    // Help never fails on the arguments it was asked about.
    [['deploy', 'shop', '--tag', '--help'], { kind: 'help', command: 'deploy' }],
    [['--version'], { kind: 'version' }],
    [['status', '--version'], { kind: 'version' }],
  ])('%j', (line, invocation) => {
    expect(parseCommandLine(line)).toEqual(invocation);
  });
});

describe('usage errors', () => {
  it.each<[string[], string, string | undefined]>([
    [[], 'missing <command>', undefined],
    [['deploi', 'shop'], 'unknown command "deploi"', undefined],
    [['--jsn'], 'unknown option "--jsn"', undefined],
    [['deploy', 'shop'], 'missing <env>', 'deploy'],
    [['deploy', 'shop', 'staging'], 'give --tag or --digest', 'deploy'],
    [['deploy', 'shop', 'staging', '--tag', '1', '--digest', DIGEST], 'give --tag or --digest, not both', 'deploy'],
    [['deploy', 'shop', 'staging', '--tag', '1', '--tag', '2'], '--tag is given more than once', 'deploy'],
    [['deploy', 'shop', 'staging', '--tga', '1'], "Unknown option '--tga'", 'deploy'],
    [['deploy', 'shop', 'staging', 'extra', '--tag', '1'], 'unexpected argument "extra"', 'deploy'],
    [['deploy', 'shop', 'staging', '--tag', '1', '--timeout', '5'], '--timeout applies only with --wait', 'deploy'],
    [
      ['deploy', 'shop', 'staging', '--tag', '1', '--wait', '--timeout', 'soon'],
      '--timeout "soon": expected minutes, a number above 0',
      'deploy',
    ],
    [
      ['deploy', 'shop', 'staging', '--tag', '1', '--dry-run', '--wait'],
      '--dry-run changes nothing, so there is nothing to --wait for',
      'deploy',
    ],
    [['history', 'shop', 'staging', '--limit', '0'], '--limit "0": expected a whole number from 1 to 1000', 'history'],
    [['promote', 'shop'], '--to is required: the environment to promote into', 'promote'],
    [['backups', '--database', 'a', '--volume', 'b'], 'give --database or --volume, not both', 'backups'],
    [
      ['backup', 'x', '--volume', '--dump'],
      '--volume and --dump do not go together: a dump is of a database',
      'backup',
    ],
    [['restore'], 'give --database (an RDS or dump restore) or --volume', 'restore'],
    [
      ['restore', '--database', 'db', '--backup', 'b'],
      '--target-identifier is required: the new RDS instance or cluster to restore into',
      'restore',
    ],
    [
      ['restore', '--database', 'db', '--target-identifier', 'x'],
      'give --backup or --point-in-time for an RDS restore',
      'restore',
    ],
    [
      ['restore', '--database', 'db', '--target-identifier', 'x', '--backup', 'b', '--force'],
      '--force does not apply to an RDS restore: it always creates a new instance',
      'restore',
    ],
    [
      ['restore', '--volume', 'v', '--target-database', 'x'],
      '--target-database does not apply to a volume restore',
      'restore',
    ],
    [
      ['restore', '--database', 'db', '--dump'],
      '--target-database is required: the database to restore the dump into',
      'restore',
    ],
  ])('%j → %s', (line, message, command) => {
    const error = usageError(line);
    expect(error.message).toBe(message);
    expect(error.command).toBe(command);
    expect(error.exitCode).toBe(2);
  });
});
