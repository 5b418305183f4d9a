import { useState } from 'preact/hooks';
import { apiGet } from '../api';
import { PollStatus } from '../components/poll-status';
import { Problem } from '../components/problem';
import { StateLabel } from '../components/state';
import { ColumnHeads } from '../components/table';
import { Time } from '../components/time';
import { PAGE_INTERVAL_MS } from '../polling';
import type { AuditEntry } from '../types';
import { usePolling } from '../use-polling';

/** The audit trail, oldest first from a chosen start, a page at a time (GET /v1/audit with its cursor). */

const COLUMNS = ['Time', 'Actor', 'Action', 'Decision', 'Target', 'Outcome'] as const;

const PAGE_SIZE = 50;
const WINDOWS = [
  { label: 'the last 24 hours', hours: 24 },
  { label: 'the last 7 days', hours: 24 * 7 },
  { label: 'the last 30 days', hours: 24 * 30 },
];

export function Audit() {
  const [hours, setHours] = useState(24);
  const [decision, setDecision] = useState<'' | 'allowed' | 'denied'>('');
  // The cursors of the pages before this one, so Previous goes back; undefined is the first page.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [since] = useState(() => Date.now());
  const cursor = cursors[cursors.length - 1];
  const sinceIso = new Date(since - hours * 3_600_000).toISOString();
  const polled = usePolling(
    `audit:${hours}:${decision}:${cursor ?? ''}`,
    () =>
      apiGet<{ entries: AuditEntry[]; cursor?: string }>('/v1/audit', {
        since: sinceIso,
        limit: PAGE_SIZE,
        cursor,
        decision: decision || undefined,
      }),
    PAGE_INTERVAL_MS,
  );
  const restart = () => setCursors([undefined]);
  const entries = polled.data?.entries ?? [];
  return (
    <>
      <h1 tabIndex={-1}>Audit trail</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label for="audit-window">Since</label>
        <select
          id="audit-window"
          value={String(hours)}
          onChange={(event) => {
            setHours(Number((event.target as HTMLSelectElement).value));
            restart();
          }}
        >
          {WINDOWS.map((window) => (
            <option key={window.hours} value={String(window.hours)}>
              {window.label}
            </option>
          ))}
        </select>
        <label for="audit-decision">Decision</label>
        <select
          id="audit-decision"
          value={decision}
          onChange={(event) => {
            setDecision((event.target as HTMLSelectElement).value as '' | 'allowed' | 'denied');
            restart();
          }}
        >
          <option value="">allowed and denied</option>
          <option value="allowed">allowed</option>
          <option value="denied">denied</option>
        </select>
      </form>
      <PollStatus polled={polled} />
      <Problem error={polled.error && !polled.data ? polled.error : undefined} />
      {polled.data ? (
        <table class="cards">
          <caption>
            Entries from <Time value={sinceIso} />, page {cursors.length}
          </caption>
          <ColumnHeads names={COLUMNS} />
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td data-label="Time">
                  <Time value={entry.at} />
                </td>
                <td data-label="Actor">{entry.actor}</td>
                <td data-label="Action">{entry.action}</td>
                <td data-label="Decision">
                  <StateLabel state={entry.decision} />
                </td>
                <td data-label="Target">
                  {Object.entries(entry.target)
                    .map(([name, value]) => `${name}=${value}`)
                    .join(', ')}
                </td>
                <td data-label="Outcome">
                  <StateLabel state={entry.outcome.result} />
                  {entry.outcome.status !== undefined ? ` ${entry.outcome.status}` : ''}
                  {entry.outcome.code ? ` ${entry.outcome.code}` : ''}
                  {entry.outcome.detail ? <span class="muted"> {entry.outcome.detail}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {polled.data && entries.length === 0 ? <p>No entries on this page.</p> : null}
      <nav aria-label="Audit pages" class="pager">
        {cursors.length > 1 ? (
          <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
        ) : null}
        {polled.data?.cursor ? (
          <button type="button" onClick={() => setCursors([...cursors, polled.data?.cursor])}>
            Next page
          </button>
        ) : null}
      </nav>
    </>
  );
}
