import { ApiError, apiGet } from '../api';
import { PollStatus } from '../components/poll-status';
import { Problem } from '../components/problem';
import { StateLabel } from '../components/state';
import { ColumnHeads } from '../components/table';
import { Age, Time } from '../components/time';
import { formatBytes } from '../format';
import { PAGE_INTERVAL_MS } from '../polling';
import { formatDuration } from '../time';
import type { AnyBackupRecord, AnyRestoreRecord } from '../types';
import { usePolling } from '../use-polling';

/** Every database's and volume's backups: the newest with their status, size and age, and the last restore drill. */

const COLUMNS = ['Taken', 'Kind', 'Status', 'Size', 'Age', 'Trigger'] as const;

const RECENT = 5;
interface Subject {
  kind: 'database' | 'volume';
  name: string;
  backups: AnyBackupRecord[];
  drill?: AnyRestoreRecord;
  drillError?: ApiError;
}

const subjectKey = (record: AnyBackupRecord) =>
  'volume' in record && record.volume !== undefined
    ? { kind: 'volume' as const, name: record.volume }
    : { kind: 'database' as const, name: record.database as string };

async function loadBackups(): Promise<Subject[]> {
  // Across every source, the API names every database and volume the config has, backed up yet or not.
  const {
    backups,
    databases = [],
    volumes = [],
  } = await apiGet<{
    backups: AnyBackupRecord[];
    databases?: string[];
    volumes?: string[];
  }>('/v1/backups', { limit: 1 });
  const seen = new Map<string, { kind: 'database' | 'volume'; name: string }>();
  for (const name of databases) seen.set(`database:${name}`, { kind: 'database', name });
  for (const name of volumes) seen.set(`volume:${name}`, { kind: 'volume', name });
  for (const record of backups) {
    const subject = subjectKey(record);
    seen.set(`${subject.kind}:${subject.name}`, subject);
  }
  const subjects = [...seen.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return Promise.all(
    subjects.map(async (subject): Promise<Subject> => {
      const [recent, drill] = await Promise.all([
        apiGet<{ backups: AnyBackupRecord[] }>('/v1/backups', { [subject.kind]: subject.name, limit: RECENT }),
        apiGet<{ restores: AnyRestoreRecord[] }>('/v1/restores', {
          [subject.kind]: subject.name,
          drill: true,
          limit: 1,
        }).catch((error: unknown) => {
          if (!(error instanceof ApiError) || error.status === 401) throw error;
          return error;
        }),
      ]);
      return {
        ...subject,
        backups: recent.backups,
        ...(drill instanceof ApiError ? { drillError: drill } : drill.restores[0] ? { drill: drill.restores[0] } : {}),
      };
    }),
  );
}

function size(record: AnyBackupRecord): string {
  if ('bytes' in record && record.bytes !== undefined) return formatBytes(record.bytes);
  if ('sizeGiB' in record && record.sizeGiB !== undefined) return `${record.sizeGiB} GiB`;
  return '–';
}

function Drill({ subject, now }: { subject: Subject; now: number }) {
  if (subject.drillError) return <Problem error={subject.drillError} />;
  const drill = subject.drill;
  if (!drill) return <p>Last restore drill: none recorded.</p>;
  return (
    <p>
      Last restore drill: <StateLabel state={drill.status} />, <Age value={drill.createdAt} now={now} />
      {drill.durationSeconds !== undefined ? `, restored in ${formatDuration(drill.durationSeconds)} (RTO)` : ''}
      {drill.reason ? ` (${drill.reason})` : ''}.
    </p>
  );
}

function SubjectSection({ subject, now }: { subject: Subject; now: number }) {
  const id = `${subject.kind}-${subject.name}`;
  const label = `${subject.kind === 'database' ? 'Database' : 'Volume'} ${subject.name}`;
  const latest = subject.backups[0];
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{label}</h2>
      {latest ? (
        <p>
          Latest backup: <StateLabel state={latest.status} />, {size(latest)},{' '}
          <Age value={latest.createdAt} now={now} />.
        </p>
      ) : null}
      <Drill subject={subject} now={now} />
      <table class="cards">
        <caption>Recent backups of {subject.name}</caption>
        <ColumnHeads names={COLUMNS} />
        <tbody>
          {subject.backups.map((record) => (
            <tr key={record.id}>
              <td data-label="Taken">
                <Time value={record.createdAt} />
              </td>
              <td data-label="Kind">{record.kind}</td>
              <td data-label="Status">
                <StateLabel state={record.status} />
                {record.reason ? <span class="muted"> {record.reason}</span> : null}
              </td>
              <td data-label="Size">{size(record)}</td>
              <td data-label="Age">
                <Age value={record.createdAt} now={now} />
              </td>
              <td data-label="Trigger">{record.trigger}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function Backups() {
  const polled = usePolling('backups', loadBackups, PAGE_INTERVAL_MS);
  const now = polled.updatedAt ?? Date.now();
  return (
    <>
      <h1 tabIndex={-1}>Backups</h1>
      <PollStatus polled={polled} />
      {!polled.data && polled.error ? <Problem error={polled.error} /> : null}
      {polled.data?.length === 0 ? <p>No backups are recorded yet.</p> : null}
      {polled.data?.map((subject) => (
        <SubjectSection key={`${subject.kind}:${subject.name}`} subject={subject} now={now} />
      ))}
    </>
  );
}
