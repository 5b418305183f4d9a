import Table from 'cli-table3';
import type {
  AppsBody,
  AuditEntry,
  BackupRecord,
  DeploymentPlan,
  DeploymentRecord,
  EnvironmentView,
  RestoreRecord,
  TimelineEntry,
} from './api';

/**
 * What people read: tables and one-liners built from the API's JSON. Pure functions of the
 * records and a style; colour only when the output is a terminal and NO_COLOR is not set.
 */

export interface Style {
  colour: boolean;
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off; so does a pipe or TERM=dumb. */
export function styleFor(isTTY: boolean, env: NodeJS.ProcessEnv): Style {
  return { colour: isTTY && !env.NO_COLOR && env.TERM !== 'dumb' };
}

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33 } as const;
type Paint = keyof typeof ANSI;

export function paint(style: Style, colour: Paint, text: string): string {
  return style.colour ? `\x1b[${ANSI[colour]}m${text}\x1b[0m` : text;
}

const STATE_COLOURS: Record<string, Paint> = {
  SUCCEEDED: 'green',
  AVAILABLE: 'green',
  FAILED: 'red',
  ROLLED_BACK: 'red',
  TIMED_OUT: 'red',
  CANCELLED: 'dim',
  EXPIRED: 'dim',
  SKIPPED: 'dim',
  DELETED: 'dim',
  PENDING_APPROVAL: 'yellow',
  IN_PROGRESS: 'yellow',
  QUEUED: 'yellow',
  CREATING: 'yellow',
  RESTORING: 'yellow',
};

export function state(style: Style, value: string): string {
  const colour = STATE_COLOURS[value];
  return colour ? paint(style, colour, value) : value;
}

/** `2026-11-23T10:00:05.123Z` → `2026-11-23T10:00:05Z`. */
export function time(iso: string | undefined): string {
  if (!iso) return '-';
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** `sha256:` and the first 12 hex digits: enough to tell images apart in a table. */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return '-';
  return digest.startsWith('sha256:') ? digest.slice(0, 19) : digest;
}

/** `arn:…:task-definition/shop-backend:41` → `shop-backend:41`. */
export function taskDefinitionName(arn: string | undefined): string {
  if (!arn) return '-';
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** 65 000 ms → `1m05s`; 3 h → `3h00m`. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function bytes(count: number | undefined): string {
  if (count === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function clip(text: string | undefined, width: number): string {
  if (!text) return '';
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/** Columns separated by two spaces, no borders: readable, and easy to grep or cut. */
export function table(style: Style, head: string[], rows: string[][]): string {
  const grid = new Table({
    head: head.map((title) => paint(style, 'bold', title)),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  grid.push(...rows);
  return grid
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** Label / value lines for one record. */
function fields(style: Style, pairs: Array<[string, string]>): string {
  return table(
    style,
    [],
    pairs.map(([label, value]) => [paint(style, 'bold', label), value]),
  );
}

// ---- deployments ------------------------------------------------------------------------------

export function timelineLine(style: Style, entry: TimelineEntry): string {
  const note = entry.note ? ` ${entry.note}` : '';
  const by = entry.by ? ` (by ${entry.by})` : '';
  return `${time(entry.at)} ${state(style, entry.state)}${note}${by}`;
}

function target(record: Pick<DeploymentRecord, 'to'>): string {
  if (record.to.digest) {
    const digest = shortDigest(record.to.digest);
    return record.to.tag ? `${record.to.tag} (${digest})` : digest;
  }
  if (record.to.desiredCount !== undefined) return `${record.to.desiredCount} tasks`;
  if (record.to.forceNewDeployment) return 'new tasks';
  return taskDefinitionName(record.to.taskDefinitionArn);
}

export function deploymentHeadline(style: Style, record: DeploymentRecord): string {
  return `Deployment ${record.id}: ${record.kind} ${record.app}/${record.environment} → ${target(record)}, ${state(style, record.state)}`;
}

/** The record as a person checks it after asking for it: what, where, and its timeline so far. */
export function formatDeployment(style: Style, record: DeploymentRecord): string {
  const lines = [deploymentHeadline(style, record), ...record.timeline.map((entry) => timelineLine(style, entry))];
  if (record.state === 'PENDING_APPROVAL') {
    const missing = record.approvals.required - record.approvals.by.length;
    lines.push(`Waiting for ${missing} more approval(s): slipway approve ${record.id}`);
  }
  if (record.failure?.reason) lines.push(`Reason: ${record.failure.reason}`);
  return lines.join('\n');
}

/** Why a deployment ended as it did: its diagnosis, else the note of its last step. */
export function endReason(record: DeploymentRecord): string | undefined {
  return record.failure?.reason ?? record.timeline.at(-1)?.note;
}

/** The last line of `--wait`. */
export function deploymentVerdict(style: Style, record: DeploymentRecord): string {
  const took = duration(Date.parse(record.updatedAt) - Date.parse(record.createdAt));
  const head = `Deployment ${record.id} ${state(style, record.state)} after ${took}`;
  if (record.state === 'SUCCEEDED') {
    return `${head}: ${record.app}/${record.environment} runs ${target(record)}`;
  }
  const reason = endReason(record);
  return reason ? `${head}: ${reason}` : head;
}

export function formatPlan(style: Style, plan: DeploymentPlan): string {
  const changes = plan.changes.map((change) => [change.container, change.from ?? '-', change.to]);
  const lines = [
    `Dry run, nothing was changed: ${plan.kind} ${plan.app}/${plan.environment} (${plan.cluster}/${plan.service})`,
    fields(style, [
      ['From', taskDefinitionName(plan.from.taskDefinitionArn)],
      ['To', target(plan)],
      ['Revision', plan.taskDefinition.registers ? 'a new one would be registered' : 'an existing one is reused'],
      ['Fields', plan.taskDefinition.fieldsChanged.join(', ') || 'none'],
      ['Approvals', String(plan.approvalsRequired)],
    ]),
  ];
  if (changes.length > 0) lines.push('', table(style, ['CONTAINER', 'FROM', 'TO'], changes));
  return lines.join('\n');
}

export function formatApps(style: Style, body: AppsBody): string {
  if (body.apps.length === 0) return 'No apps are configured.';
  const rows = body.apps.flatMap((app) =>
    app.environments.map((env) => {
      const last = env.lastDeployment;
      return [
        app.name,
        env.name,
        `${env.cluster}/${env.service}`,
        String(env.approvals),
        last ? `${last.kind} ${state(style, last.state)}` : 'none yet',
        shortDigest(last?.toDigest),
        time(last?.updatedAt),
        last?.requestedBy ?? '-',
      ];
    }),
  );
  return table(style, ['APP', 'ENV', 'SERVICE', 'APPROVALS', 'LAST DEPLOYMENT', 'DIGEST', 'UPDATED', 'BY'], rows);
}

function tasks(running: EnvironmentView['running']): string {
  if (!running) return '-';
  const pending = running.pendingCount ? `, ${running.pendingCount} pending` : '';
  return `${running.runningCount ?? '?'}/${running.desiredCount ?? '?'}${pending}`;
}

function deploymentCell(style: Style, record: DeploymentRecord | undefined): string {
  return record ? `${record.id} ${record.kind} ${state(style, record.state)} ${time(record.updatedAt)}` : 'none';
}

export function formatEnvironment(style: Style, view: EnvironmentView): string {
  const images = Object.entries(view.running?.images ?? {}).map(([container, image]) => `${container}=${image}`);
  return fields(style, [
    ['App', view.app],
    ['Environment', view.environment],
    ['Service', `${view.cluster}/${view.service}${view.running?.status ? ` (${view.running.status})` : ''}`],
    ['Task definition', taskDefinitionName(view.running?.taskDefinitionArn)],
    ['Image', images.length > 0 ? images.join(', ') : '-'],
    ['Digest', view.running?.digest ?? '-'],
    ['Tasks', `${tasks(view.running)} (running/desired)`],
    ['Approvals', String(view.approvals)],
    ...(view.promoteFrom ? [['Promote from', view.promoteFrom] as [string, string]] : []),
    ['Last deployment', deploymentCell(style, view.lastDeployment)],
    ['In flight', deploymentCell(style, view.inFlight)],
  ]);
}

export function formatEnvironments(style: Style, views: EnvironmentView[]): string {
  return table(
    style,
    ['ENV', 'SERVICE', 'TASKS', 'TASK DEF', 'DIGEST', 'LAST DEPLOYMENT', 'IN FLIGHT'],
    views.map((view) => [
      view.environment,
      `${view.cluster}/${view.service}`,
      tasks(view.running),
      taskDefinitionName(view.running?.taskDefinitionArn),
      shortDigest(view.running?.digest),
      view.lastDeployment ? `${view.lastDeployment.kind} ${state(style, view.lastDeployment.state)}` : 'none yet',
      view.inFlight ? `${view.inFlight.id} ${state(style, view.inFlight.state)}` : '-',
    ]),
  );
}

export function formatHistory(style: Style, records: DeploymentRecord[]): string {
  if (records.length === 0) return 'No deployments yet.';
  return table(
    style,
    ['ID', 'KIND', 'STATE', 'TO', 'BY', 'CREATED', 'REASON'],
    records.map((record) => [
      record.id,
      record.kind,
      state(style, record.state),
      target(record),
      record.requestedBy.name,
      time(record.createdAt),
      clip(record.failure?.reason ?? record.reason, 60),
    ]),
  );
}

// ---- the audit trail ------------------------------------------------------------------------------

export function formatAudit(style: Style, entries: AuditEntry[]): string {
  if (entries.length === 0) return 'No audit entries in that window.';
  return table(
    style,
    ['AT', 'ACTOR', 'ACTION', 'DECISION', 'OUTCOME', 'TARGET'],
    entries.map((entry) => [
      time(entry.at),
      entry.actor,
      entry.action,
      entry.decision === 'denied' ? paint(style, 'red', 'denied') : 'allowed',
      [entry.outcome.result, entry.outcome.status, entry.outcome.code].filter((part) => part !== undefined).join(' '),
      clip(
        Object.entries(entry.target)
          .map(([key, value]) => `${key}=${value}`)
          .join(' '),
        80,
      ),
    ]),
  );
}

// ---- backups and restores ------------------------------------------------------------------------

function subject(record: { database?: string; volume?: string }): string {
  return record.volume !== undefined ? `volume ${record.volume}` : (record.database ?? '-');
}

function backupSize(record: BackupRecord): string {
  if (record.bytes !== undefined) return bytes(record.bytes);
  if (record.sizeGiB !== undefined) return `${record.sizeGiB} GiB`;
  return '-';
}

export function formatBackups(style: Style, records: BackupRecord[]): string {
  if (records.length === 0) return 'No backups match.';
  return table(
    style,
    ['ID', 'KIND', 'OF', 'STATUS', 'CREATED', 'SIZE', 'REASON'],
    records.map((record) => [
      record.id,
      record.kind,
      subject(record),
      state(style, record.status),
      time(record.createdAt),
      backupSize(record),
      clip(record.reason, 60),
    ]),
  );
}

export function formatBackup(style: Style, record: BackupRecord): string {
  const where = record.volume !== undefined ? `--volume ${record.volume}` : `--database ${record.database}`;
  const lines = [`Backup ${record.id}: ${record.kind} of ${subject(record)}, ${state(style, record.status)}`];
  if (record.reason) lines.push(`Reason: ${record.reason}`);
  lines.push(`Follow it: slipway backups ${where}`);
  return lines.join('\n');
}

function restoreTarget(record: RestoreRecord): string {
  if ('target' in record) {
    const target = record.target;
    const what = record.kind === 'volume' ? `volume ${record.volume}` : `dump of ${record.database}`;
    if ('path' in target) return `${what} into ${target.path}`;
    if ('database' in target) return `${what} into database ${target.database}`;
    return `${what} into a scratch directory`;
  }
  const from = 'backupId' in record.from ? record.from.backupId : `the state at ${record.from.pointInTime}`;
  return `RDS ${record.database} from ${from} into ${record.targetIdentifier}`;
}

export function formatRestore(style: Style, record: RestoreRecord): string {
  const lines = [`Restore ${record.id}: ${restoreTarget(record)}, ${state(style, record.status)}`];
  if (record.reason) lines.push(`Reason: ${record.reason}`);
  return lines.join('\n');
}

/** A line for each status a restore is seen in while it is followed. */
export function restoreLine(style: Style, record: RestoreRecord): string {
  return `${time(record.updatedAt)} ${state(style, record.status)}${record.reason ? ` ${record.reason}` : ''}`;
}

export function restoreVerdict(style: Style, record: RestoreRecord): string {
  const took = duration(
    record.durationSeconds !== undefined
      ? record.durationSeconds * 1000
      : Date.parse(record.updatedAt) - Date.parse(record.createdAt),
  );
  const head = `Restore ${record.id} ${state(style, record.status)} after ${took}`;
  if (record.status === 'AVAILABLE') return `${head}: ${restoreTarget(record)}`;
  return record.reason ? `${head}: ${record.reason}` : head;
}
