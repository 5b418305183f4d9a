import { randomUUID } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Principal } from '../auth/principal';
import { SlipwayError } from '../errors';
import { logger, metrics, redact } from '../observability';
import type { AuditEntry, AuditInput, AuditOutcome, AuditSink } from './records';

/**
 * The audit trail: who did what to what, allowed or not, and how it ended. One entry per
 * mutating HTTP request (whatever its status) and per action Slipway takes by itself.
 */

export type {
  AuditDecision,
  AuditEntry,
  AuditInput,
  AuditOutcome,
  AuditResult,
  AuditSink,
  AuditSource,
} from './records';

/** How an action that threw ended: the error's code, and its message when it is one a client may see. */
export function failedOutcome(error: unknown): AuditOutcome {
  if (!(error instanceof SlipwayError)) return { result: 'failed', code: 'INTERNAL' };
  return {
    result: error.status === 401 || error.status === 403 ? 'refused' : 'failed',
    code: error.code,
    ...(error.expose ? { detail: error.message } : {}),
  };
}

export interface AuditRecorder {
  /** Stores the entry. Never throws: a lost entry is logged and counted, the action it describes stands. */
  record(entry: AuditInput): Promise<void>;
  /**
   * Stores a request refused before its caller was known only if it is the first from `source` in
   * its minute (see auditTrail). Never throws.
   */
  sample(entry: AuditInput, source: string | undefined): Promise<void>;
}

/** What Slipway does by itself, before its outcome is known. */
export interface AutomaticAction {
  /** The trigger: `schedule`, `drill`, `retention`, `reconciler`, `ecr-push`, `alarm:<name>`… */
  actor: string;
  action: string;
  target: Record<string, string>;
}

/**
 * Runs an automatic action and records it with what it returned, or with the error it threw
 * (which is thrown on). `describe` adds what only the result knows: the record's id, its status.
 */
export async function audited<T>(
  audit: Pick<AuditRecorder, 'record'>,
  action: AutomaticAction,
  run: () => Promise<T>,
  describe: (result: T) => { target?: Record<string, string>; outcome: AuditOutcome } | undefined,
): Promise<T> {
  const entry = { source: 'automatic' as const, decision: 'allowed' as const, ...action };
  let result: T;
  try {
    result = await run();
  } catch (error) {
    await audit.record({ ...entry, outcome: failedOutcome(error) });
    throw error;
  }
  const described = describe(result);
  if (described) {
    await audit.record({ ...entry, target: { ...action.target, ...described.target }, outcome: described.outcome });
  }
  return result;
}

/** A backup or restore record's status as an outcome: FAILED failed, anything else went as it should. */
export function statusOutcome(record: { status: string; reason?: string | undefined }): AuditOutcome {
  return {
    result: record.status === 'FAILED' ? 'failed' : 'succeeded',
    code: record.status,
    ...(record.reason ? { detail: record.reason } : {}),
  };
}

const MAX_DETAIL = 500;
// Targets come from path parameters as sent, before validation: a hostile one is kept, but short.
const MAX_TARGET_VALUE = 200;

const clip = (text: string, length: number) => (text.length > length ? `${text.slice(0, length)}…` : text);

/** Keeps details and targets short, and never lets a registered secret into the table. */
function clean(entry: AuditInput): AuditInput {
  const detail = entry.outcome.detail;
  const outcome =
    detail === undefined ? entry.outcome : { ...entry.outcome, detail: String(redact(clip(detail, MAX_DETAIL))) };
  const target = Object.fromEntries(
    Object.entries(entry.target).map(([key, value]) => [key, clip(value, MAX_TARGET_VALUE)]),
  );
  return { ...entry, target: redact(target) as Record<string, string>, outcome };
}

// Distinct sources one container samples in a minute: beyond them (an attacker spreading over many
// addresses) refusals are only counted, so the trail grows by at most this per container and minute.
export const MAX_SAMPLED_SOURCES = 100;

/**
 * What counts as one source: an IPv4 address, or the /64 an IPv6 address is in (one subscriber's
 * network, which a single host can spread over at will). Anything else is one `unknown` source.
 */
export function sourceKey(address: string | undefined): string {
  if (address && isIPv4(address)) return address;
  if (!address || !isIPv6(address)) return 'unknown';
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export function auditTrail(sink: AuditSink, now: () => Date = () => new Date()): AuditRecorder {
  const store = async (entry: AuditEntry) => {
    try {
      return await sink.put(entry);
    } catch (error) {
      // The action already happened; failing its caller now would only hide that it did.
      // A metric of its own, written now: the function may not end in a handler that flushes.
      const single = metrics.singleMetric();
      single.addMetric('AuditWriteFailures', MetricUnit.Count, 1);
      logger.error('audit entry not stored', {
        auditId: entry.id,
        action: entry.action,
        actor: entry.actor,
        error: error as Error,
      });
      return false;
    }
  };

  // The sources this container already sampled in the current minute: a repeat costs no write at all.
  let minute = '';
  const sampled = new Set<string>();

  return {
    async record(input) {
      await store({ id: randomUUID(), at: now().toISOString(), ...clean(input) });
    },
    /**
     * At most one entry per source and minute, whatever the number of containers: the entry's key is
     * made of the minute and the source, so the conditional put of a second container stores nothing.
     * Within a container a source already sampled this minute is not even tried.
     */
    async sample(input, address) {
      const at = now().toISOString();
      if (at.slice(0, 16) !== minute) {
        minute = at.slice(0, 16);
        sampled.clear();
      }
      const source = sourceKey(address);
      if (sampled.has(source) || sampled.size >= MAX_SAMPLED_SOURCES) return;
      sampled.add(source);
      await store({
        id: `unauthenticated:${minute}:${source}`,
        at: `${minute}:00.000Z`,
        ...clean(input),
        sampled: true,
      });
    },
  };
}

// ---- HTTP requests: what the route chain records ---------------------------------------------

const stringsOf = (value: unknown, keys: readonly string[]): Record<string, string> => {
  if (!value || typeof value !== 'object') return {};
  const out: Record<string, string> = {};
  for (const key of keys) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field === 'string' && field !== '') out[key] = field;
  }
  return out;
};

/** The records a mutating route answers with, by envelope key: their id names what the request made or changed. */
const RESULT_RECORDS = { deployment: 'deploymentId', backup: 'backupId', restore: 'restoreId' } as const;

/** What a handler learnt that the chain cannot: who the caller turned out to be, what it acted on, a refusal. */
export interface AuditNote {
  /** Replaces `anonymous` for a caller proved by other means than a token (a signed webhook). */
  actor?: string;
  target?: Record<string, string>;
  /** The handler refused the request for what it asked, not for a failure: recorded as denied. */
  denied?: boolean;
  /**
   * A refusal answered with a success status, for a caller that shows nothing else (Slack): recorded as denied and
   * refused, with the error's code and message, whatever the status.
   */
  refused?: { code: string; detail: string };
}

export interface HttpAuditFacts {
  route: string;
  requestId: string;
  principal: Principal | undefined;
  /** The path parameters as sent: `{app, env}`, `{id}`. */
  path: Record<string, string | undefined> | undefined;
  /** The validated body, when validation got that far. */
  body: unknown;
  status: number;
  /** The response body (success) or the error thrown. */
  response: unknown;
  error: unknown;
  /** requestContext.http.sourceIp. */
  sourceIp?: string | undefined;
  /** What the handler noted, as far as it got. */
  noted?: AuditNote;
}

/** The audit entry for one mutating request. Pure: plain facts in, the entry out. */
export function httpAuditEntry(facts: HttpAuditFacts): AuditInput {
  const { status, error, principal, noted } = facts;
  const denied =
    status === 401 || status === 403 || (noted?.denied === true && status >= 400) || noted?.refused !== undefined;
  const target: Record<string, string> = {
    ...stringsOf(facts.path, ['app', 'env', 'id']),
    ...stringsOf(facts.body, ['app', 'environment', 'database', 'volume', 'kind', 'backupId', 'tag', 'digest']),
    ...stringsOf(noted?.target, Object.keys(noted?.target ?? {})),
  };
  if (target.env !== undefined) {
    target.environment = target.env;
    delete target.env;
  }
  for (const [envelope, key] of Object.entries(RESULT_RECORDS)) {
    const record = (facts.response as Record<string, unknown> | undefined)?.[envelope];
    const id = stringsOf(record, ['id']).id;
    if (id) target[key] = id;
  }
  const outcome: AuditOutcome = {
    ...(error ? failedOutcome(error) : { result: status < 400 ? 'succeeded' : 'failed' }),
    ...(denied ? { result: 'refused' as const } : {}),
    ...noted?.refused,
    status,
  };
  const stateOf = (facts.response as { deployment?: { state?: unknown } } | undefined)?.deployment?.state;
  if (status < 400 && typeof stateOf === 'string') outcome.code = stateOf;
  if ((facts.response as { dryRun?: unknown } | undefined)?.dryRun === true) outcome.code = 'DRY_RUN';
  return {
    source: 'http',
    actor: principal?.name ?? noted?.actor ?? 'anonymous',
    ...(principal ? { roles: [...principal.roles] } : {}),
    action: facts.route,
    decision: denied ? 'denied' : 'allowed',
    target,
    outcome,
    requestId: facts.requestId,
    ...(facts.sourceIp ? { sourceIp: facts.sourceIp } : {}),
  };
}
