import { readdirSync, readFileSync } from 'node:fs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { jest } from '@jest/globals';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { makeHandler as makeAlarmState } from '../../../functions/events/alarm-state';
import { makeHandler as makeEcrImageAction } from '../../../functions/events/ecr-image-action';
import { makeHandler as makeEcrImageScan } from '../../../functions/events/ecr-image-scan';
import { makeHandler as makeEcsDeploymentState } from '../../../functions/events/ecs-deployment-state';
import { makeHandler as makeRdsEvent, rdsEvent } from '../../../functions/events/rds-event';
import { makeHandler as makeEcsLifecycleHook } from '../../../functions/hooks/ecs-lifecycle-hook';
import { backupScheduleInput, makeHandler as makeBackupDatabase } from '../../../functions/schedules/backup-database';
import { makeHandler as makeReconcileBackups } from '../../../functions/schedules/reconcile-backups';
import { makeHandler as makeReconcileDeployments } from '../../../functions/schedules/reconcile-deployments';
import { makeHandler as makeReleaseDue } from '../../../functions/schedules/release-due';
import { drillScheduleInput, makeHandler as makeRestoreDrill } from '../../../functions/schedules/restore-drill';
import { makeHandler as makeRunProbes } from '../../../functions/schedules/run-probes';
import { archiveScheduleInput, makeHandler as makeTakeArchive } from '../../../functions/schedules/take-archive';
import { makeHandler as makeVolumeWorker } from '../../../functions/workers/volume-worker';
import { configSchema } from '../../../lib/config/schema';
import type { Deployments } from '../../../lib/deploy/deployments';
import { ecsDeploymentEvent } from '../../../lib/deploy/outcome';
import type { SlipwayError } from '../../../lib/errors';
import {
  type DeadLetterEvent,
  type DeadLetters,
  MAX_MESSAGE_BYTES,
  MAX_REASON_LENGTH,
  sqsDeadLetters,
} from '../../../lib/events/dead-letter';
import { foreignAccount, scheduledEventSchema } from '../../../lib/events/handler';
import { alarmStateChangeEvent } from '../../../lib/health/auto-rollback';
import { lifecycleHookEvent } from '../../../lib/health/lifecycle-hook';
import { metrics } from '../../../lib/observability';
import { ecrImageActionEvent, imageScanEvent } from '../../../lib/release/ecr-events';
import { Releases } from '../../../lib/release/releases';
import type { Idempotency } from '../../../lib/store/idempotency';
import type { PendingRelease, ReleaseStore } from '../../../lib/store/releases';
import { workerJob } from '../../../lib/worker/launch';
import { memoryAudit } from '../../support/audit';
import { digest, fakeAws, REPOSITORY } from '../../support/fake-ecs';
import {
  answer,
  FUZZ_TIMEOUT_MS,
  fuzzParameters,
  hostileString,
  outcome,
  watchUnhandledRejections,
} from '../../support/fuzz';
import { lambdaContext } from '../../support/http';

/**
 * Every function in functions/events, schedules, hooks and workers, built with makeHandler and
 * fakes, fed arbitrary JSON and mutations of its own samples in events/. An event its schema refuses
 * is dead-lettered once and never reaches the use case; one it accepts reaches the use case at most
 * once and is never dead-lettered; what the use case throws is left to Lambda's retries (the very
 * error, not another); nothing else is thrown and no rejection goes unhandled.
 */

jest.setTimeout(FUZZ_TIMEOUT_MS);
const unhandled = watchUnhandledRejections();

// Powertools Metrics warns on every invocation that adds no metric (the hook's refusals), on its own
// console: noise here, so that one warning is dropped.
beforeAll(() => {
  const own = (metrics as unknown as { console: Console }).console;
  const warn = own.warn.bind(own);
  jest.spyOn(own, 'warn').mockImplementation((...args: unknown[]) => {
    if (!String(args[0]).startsWith('No application metrics to publish')) warn(...args);
  });
});
afterAll(() => jest.restoreAllMocks());

type Invoke = (event: unknown, context: Context) => Promise<unknown>;

interface Fakes {
  deadLetters: DeadLetters;
  /** One per call of a use-case method. */
  calls: string[];
  letters: Array<{ event: DeadLetterEvent; reason: string }>;
}

interface EventFunction {
  schema: { safeParse: (input: unknown) => { success: boolean } };
  /** Sample file names in events/, without .json. */
  samples: RegExp;
  build: (failure: SlipwayError | undefined, fakes: Fakes) => Invoke;
  /** The ECS lifecycle hook answers FAILED instead of dead-lettering (ECS then rolls back). */
  refuses?: 'dead-letter' | 'answer-failed';
}

/** A use-case method that records its call and answers `value` or the request's failure. */
const call =
  <T>(fakes: Fakes, name: string, failure: SlipwayError | undefined, value: T) =>
  async (..._args: unknown[]) => {
    fakes.calls.push(name);
    return answer(failure, value);
  };

const FUNCTIONS: Record<string, EventFunction> = {
  alarmState: {
    schema: alarmStateChangeEvent,
    samples: /^cloudwatch\./,
    build: (failure, fakes) =>
      makeAlarmState({
        deadLetters: fakes.deadLetters,
        responder: { onAlarm: call(fakes, 'onAlarm', failure, { action: 'notified' }) } as never,
      }),
  },
  ecrImageAction: {
    schema: ecrImageActionEvent,
    samples: /^ecr\.image-(push|delete)/,
    build: (failure, fakes) =>
      makeEcrImageAction({
        deadLetters: fakes.deadLetters,
        releases: { onPush: call(fakes, 'onPush', failure, { targets: [] }), fromElsewhere: () => undefined },
      }),
  },
  ecrImageScan: {
    schema: imageScanEvent,
    samples: /^(ecr\.image-scan|inspector2\.scan)/,
    build: (failure, fakes) =>
      makeEcrImageScan({
        deadLetters: fakes.deadLetters,
        releases: { onScan: call(fakes, 'onScan', failure, []), fromElsewhere: () => undefined },
      }),
  },
  ecsDeploymentState: {
    schema: ecsDeploymentEvent,
    samples: /^ecs\./,
    build: (failure, fakes) =>
      makeEcsDeploymentState({
        deadLetters: fakes.deadLetters,
        deployments: { onEcsEvent: call(fakes, 'onEcsEvent', failure, { applied: true, reason: 'fake' }) },
      }),
  },
  rdsEvent: {
    schema: rdsEvent,
    samples: /^rds\./,
    build: (failure, fakes) =>
      makeRdsEvent({
        deadLetters: fakes.deadLetters,
        backups: { onSnapshotEvent: call(fakes, 'onSnapshotEvent', failure, { applied: true, reason: 'fake' }) },
        restores: { onTargetEvent: call(fakes, 'onTargetEvent', failure, 'settled') },
      }),
  },
  backupDatabase: {
    schema: backupScheduleInput,
    samples: /^schedule\.backup-database$/,
    build: (failure, fakes) =>
      makeBackupDatabase({
        deadLetters: fakes.deadLetters,
        backups: { take: call(fakes, 'take', failure, { id: 'bkp-1', status: 'CREATING' }) } as never,
      }),
  },
  reconcileBackups: {
    schema: scheduledEventSchema,
    samples: /^schedule\.reconcile-backups$/,
    build: (failure, fakes) =>
      makeReconcileBackups({
        deadLetters: fakes.deadLetters,
        backups: { reconcile: call(fakes, 'backups.reconcile', failure, []) },
        restores: { reconcile: call(fakes, 'restores.reconcile', failure, []) },
        archives: { reconcile: call(fakes, 'archives.reconcile', failure, []) },
      }),
  },
  reconcileDeployments: {
    schema: scheduledEventSchema,
    samples: /^schedule\.reconcile-deployments$/,
    build: (failure, fakes) =>
      makeReconcileDeployments({
        deadLetters: fakes.deadLetters,
        deployments: { reconcile: call(fakes, 'reconcile', failure, []) },
      }),
  },
  releaseDue: {
    schema: scheduledEventSchema,
    samples: /^schedule\.release-due$/,
    build: (failure, fakes) =>
      makeReleaseDue({
        deadLetters: fakes.deadLetters,
        releases: { releaseDue: call(fakes, 'releaseDue', failure, []) },
      }),
  },
  restoreDrill: {
    schema: drillScheduleInput,
    samples: /^schedule\.restore-drill$/,
    build: (failure, fakes) =>
      makeRestoreDrill({
        deadLetters: fakes.deadLetters,
        restores: { drill: call(fakes, 'restores.drill', failure, { id: 'rst-1', targetIdentifier: 'x' }) } as never,
        archives: { drill: call(fakes, 'archives.drill', failure, { id: 'rst-2', target: { path: 'x' } }) } as never,
      }),
  },
  runProbes: {
    schema: scheduledEventSchema,
    samples: /^schedule\.run-probes$/,
    build: (failure, fakes) =>
      makeRunProbes({
        deadLetters: fakes.deadLetters,
        targets: [],
        options: { concurrency: 1, resolveHeader: async () => 'x' } as never,
        probe: call(fakes, 'probe', failure, []),
        publish: async () => ({ unpublished: 0 }),
        record: async () => ({ unrecorded: 0 }),
      }),
  },
  takeArchive: {
    schema: archiveScheduleInput,
    samples: /^schedule\.take-archive$/,
    build: (failure, fakes) =>
      makeTakeArchive({
        deadLetters: fakes.deadLetters,
        archives: { take: call(fakes, 'take', failure, { id: 'bkp-1', status: 'QUEUED' }) } as never,
      }),
  },
  volumeWorker: {
    schema: workerJob,
    samples: /^worker\./,
    build: (failure, fakes) =>
      makeVolumeWorker({
        deadLetters: fakes.deadLetters,
        run: call(fakes, 'run', failure, { id: 'bkp-1', status: 'AVAILABLE' }) as never,
      }),
  },
  ecsLifecycleHook: {
    schema: lifecycleHookEvent,
    samples: /^hook\./,
    refuses: 'answer-failed',
    build: (failure, fakes) =>
      makeEcsLifecycleHook({ hook: { handle: call(fakes, 'handle', failure, { hookStatus: 'SUCCEEDED' as const }) } }),
  },
};

// ---------------------------------------------------------------------------------------------
// Events: arbitrary JSON, and the samples with parts replaced or removed

const SAMPLE_FILES = readdirSync('events').filter((file) => file.endsWith('.json') && !file.startsWith('http.'));

function samplesOf(pattern: RegExp): unknown[] {
  const samples = SAMPLE_FILES.filter((file) => pattern.test(file.replace(/\.json$/, ''))).map((file) =>
    JSON.parse(readFileSync(`events/${file}`, 'utf8')),
  );
  if (samples.length === 0) throw new Error(`no sample in events/ matches ${pattern}`);
  return samples;
}

type Path = Array<string | number>;

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((item, index) => [index, item] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, item]) => pathsOf(item, [...prefix, key]))];
}

function mutated(sample: unknown, changes: Array<[Path, 'replace' | 'remove', unknown]>): unknown {
  let root = structuredClone(sample);
  for (const [path, kind, value] of changes) {
    if (path.length === 0) {
      root = kind === 'remove' ? undefined : value;
      continue;
    }
    let parent = root as Record<string | number, unknown> | undefined;
    for (const key of path.slice(0, -1)) {
      parent = parent && typeof parent === 'object' ? (parent[key] as Record<string | number, unknown>) : undefined;
    }
    const last = path[path.length - 1] as string | number;
    if (!parent || typeof parent !== 'object') continue;
    if (kind === 'remove') delete parent[last];
    else parent[last] = value;
  }
  return root;
}

function eventsFor(fn: EventFunction): fc.Arbitrary<unknown> {
  const samples = samplesOf(fn.samples);
  const mutation = fc
    .constantFrom(...samples)
    .chain((sample) =>
      fc
        .array(
          fc.tuple(
            fc.constantFrom(...pathsOf(sample)),
            fc.constantFrom('replace' as const, 'replace' as const, 'remove' as const),
            fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileString),
          ),
          { minLength: 1, maxLength: 3 },
        )
        .map((changes) => mutated(sample, changes)),
    );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...samples) },
    { weight: 5, arbitrary: mutation },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined, '', [], {}, 0) },
  );
}

// ---------------------------------------------------------------------------------------------

function fakes(): Fakes {
  const letters: Fakes['letters'] = [];
  return {
    calls: [],
    letters,
    deadLetters: {
      send: async (event, reason) => {
        letters.push({ event, reason });
      },
    },
  };
}

const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('every event, schedule, hook and worker function, fed arbitrary events', () => {
  it('covers every such function there is', () => {
    const files = ['events', 'schedules', 'hooks', 'workers'].flatMap((dir) =>
      readdirSync(`functions/${dir}`).filter((file) => file.endsWith('.ts')),
    );
    expect(files.length).toBe(Object.keys(FUNCTIONS).length);
  });

  it.each(Object.entries(FUNCTIONS))(
    '%s dead-letters what its schema refuses and hands the rest to its use case, once',
    async (_, fn) => {
      await fc.assert(
        fc.asyncProperty(outcome, eventsFor(fn), async (failure, event) => {
          const fake = fakes();
          const valid = fn.schema.safeParse(event).success;
          const settled = await settle(fn.build(failure, fake)(event, lambdaContext()));

          if (fn.refuses !== 'answer-failed' && foreignAccount(event, lambdaContext(), () => new Set()) !== undefined) {
            // From an account config does not name: answered, and neither handed on nor dead-lettered
            expect(settled.ok && settled.value).toMatchObject({ handled: false, ignored: true });
            expect(fake.calls).toEqual([]);
            expect(fake.letters).toEqual([]);
          } else if (!valid) {
            // Refused: answered, never thrown, never handed on
            expect(settled.ok).toBe(true);
            expect(fake.calls).toEqual([]);
            if (fn.refuses === 'answer-failed') {
              expect(settled.ok && settled.value).toEqual({ hookStatus: 'FAILED' });
              expect(fake.letters).toEqual([]);
            } else {
              expect(settled.ok && settled.value).toEqual({
                handled: false,
                deadLettered: true,
                reason: expect.any(String),
              });
              expect(fake.letters).toEqual([
                {
                  event: event !== null && typeof event === 'object' ? event : { value: event },
                  reason: expect.any(String),
                },
              ]);
            }
          } else {
            // Accepted: handed to the use case at most once, never dead-lettered
            expect(fake.letters).toEqual([]);
            expect(fake.calls.length).toBeLessThanOrEqual(fn === FUNCTIONS.reconcileBackups ? 3 : 1);
            if (failure && fake.calls.length > 0) {
              // What the use case threw is Lambda's to retry: that very error, not another
              expect(settled.ok ? 'resolved' : settled.error).toBe(failure);
            } else {
              expect(settled.ok ? 'resolved' : settled.error).toBe('resolved');
            }
          }
          await unhandled.assertNone();
        }),
        fuzzParameters(),
      );
    },
  );

  it.each(Object.entries(FUNCTIONS))('%s hands its own samples to its use case', async (_, fn) => {
    for (const sample of samplesOf(fn.samples)) {
      if (!fn.schema.safeParse(sample).success) continue;
      const fake = fakes();
      await fn.build(undefined, fake)(sample, lambdaContext());
      expect(fake.letters).toEqual([]);
    }
    // At least one sample is a valid event of its kind
    expect(samplesOf(fn.samples).some((sample) => fn.schema.safeParse(sample).success)).toBe(true);
  });
});

describe('the dead-letter queue, given whatever an event handler refuses', () => {
  // XML 1.0 characters, as SQS accepts them in message attributes.
  const XML_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
  const shortHostile = hostileString.filter((text) => text.length <= 4096);
  const huge = fc
    .integer({ min: 200 * 1024, max: 400 * 1024 })
    .map((length) => ({ id: 'big', blob: 'x'.repeat(length) }));

  it('sends one message SQS accepts: within its size, attributes in XML characters', async () => {
    await fc.assert(
      fc.asyncProperty(
        // ids and sources of a sane length: a huge one is the known bug below
        fc.oneof(fc.jsonValue({ maxDepth: 3 }), huge, fc.record({ id: shortHostile, source: shortHostile })),
        fc.string({ unit: 'binary', maxLength: 2_000 }),
        async (value, reason) => {
          // Given the real dead letters over a queue that records what it is sent
          const sent: SendMessageCommand['input'][] = [];
          const sqs = {
            send: async (command: SendMessageCommand) => {
              sent.push(command.input);
              return {};
            },
          } as unknown as SQSClient;
          const event = (value !== null && typeof value === 'object' ? value : { value }) as DeadLetterEvent;

          // When a refused event is sent
          await sqsDeadLetters(sqs, 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq').send(event, reason);

          // Then one message goes, that SQS takes
          expect(sent).toHaveLength(1);
          const [message] = sent;
          const attributes = Object.entries(message?.MessageAttributes ?? {});
          const size =
            Buffer.byteLength(message?.MessageBody ?? '') +
            attributes.reduce(
              (total, [name, attribute]) =>
                total +
                Buffer.byteLength(name) +
                Buffer.byteLength(attribute.DataType ?? '') +
                Buffer.byteLength(attribute.StringValue ?? ''),
              0,
            );
          expect(size).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
          for (const [, attribute] of attributes) {
            expect(attribute.StringValue).toMatch(XML_TEXT);
            expect(attribute.StringValue).not.toBe('');
          }
          expect((message?.MessageAttributes?.reason?.StringValue ?? '').length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
          expect(() => JSON.parse(message?.MessageBody ?? '')).not.toThrow();
          await unhandled.assertNone();
        },
      ),
      fuzzParameters(),
    );
  });

  // An id or source of any size is cut in the attributes and the truncated body, so the message still fits.
  it('stays within SQS size for an event whose id alone is huge', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 130 * 1024, max: 250 * 1024 }), async (length) => {
        const sent: SendMessageCommand['input'][] = [];
        const sqs = {
          send: async (command: SendMessageCommand) => {
            sent.push(command.input);
            return {};
          },
        } as unknown as SQSClient;
        await sqsDeadLetters(sqs, 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq').send(
          { id: 'i'.repeat(length) },
          'refused',
        );
        const [message] = sent;
        const bytes =
          Buffer.byteLength(message?.MessageBody ?? '') +
          Object.entries(message?.MessageAttributes ?? {}).reduce(
            (total, [name, attribute]) =>
              total + Buffer.byteLength(name) + Buffer.byteLength(`${attribute.DataType}${attribute.StringValue}`),
            0,
          );
        expect(bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      }),
      fuzzParameters(5),
    );
  });
});

/**
 * ECR pushes through the real release use case, over ECS and ECR in memory: whatever an event's id (a UUID,
 * one delivered again, one of kilobytes, one that is no UUID), time (now, long past, ahead, not a time) and
 * tag say, a release is judged on the tags and the push time ECR has for the digest, and a digest deploys
 * once per environment however often it is delivered.
 */
describe('ECR pushes, whatever their id, time and tag say', () => {
  const PUSHED_AT = new Date('2026-11-22T03:00:00.000Z');
  const NOW = new Date('2026-11-22T03:00:10.000Z');
  // What ECR has: 1.4.0 runs (the base revision's digest), 1.5.0 is new, 1.3.0 is old; digest 5 it never had.
  const ECR_TAGS: Record<string, string[]> = {
    [digest('1')]: ['1.4.0'],
    [digest('b')]: ['1.5.0'],
    [digest('0')]: ['1.3.0'],
  };
  const config = configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: {
      shop: {
        repository: REPOSITORY,
        containers: ['backend'],
        environments: {
          staging: { cluster: 'shop-staging', service: 'backend', release: { semver: 'minor' } },
          production: { cluster: 'shop-prod', service: 'backend', release: { semver: 'minor', minAgeMinutes: 30 } },
        },
      },
    },
  });
  const sampleEvent = JSON.parse(readFileSync('events/ecr.image-push.tagged.json', 'utf8'));
  const REUSED_IDS = ['13cde686-328b-6117-af20-0e5566167482', 'a1b2c3d4-0000-4000-8000-000000000001'];
  const eventId = fc.oneof(
    fc.constantFrom(...REUSED_IDS),
    fc.uuid(),
    fc.uuid().map((id) => id.repeat(300)),
    hostileString.filter((id) => id.length > 0),
  );
  const eventTime = fc.oneof(
    fc.integer({ min: -400 * 86_400, max: 86_400 }).map((s) => new Date(NOW.getTime() + s * 1000).toISOString()),
    fc.constantFrom('yesterday', '0001-01-01T00:00:00Z', '2026-13-45T99:00:00Z'),
  );
  const push = fc.record({
    id: eventId,
    time: eventTime,
    digest: fc.constantFrom(digest('b'), digest('0'), digest('5')),
    tag: fc.oneof(
      fc.constantFrom('1.5.0', '1.3.0', '1.9.9', '9.9.9', 'latest'),
      hostileString.filter((t) => t.length > 0),
    ),
  });

  it('judges every push on ECR tags and push time, and deploys a digest once per environment', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(push, { minLength: 1, maxLength: 6 }), async (pushes) => {
        // Given ECR and ECS in memory, and the use case's other ports recording what they are asked
        const aws = fakeAws();
        try {
          aws.images.clear();
          for (const [imageDigest, tags] of Object.entries(ECR_TAGS)) {
            for (const tag of tags) aws.images.set(tag, imageDigest);
            aws.pushedAt.set(imageDigest, PUSHED_AT);
          }
          const requested: Array<{ environment: string; digest: string; tag: string }> = [];
          const waiting: PendingRelease[] = [];
          const keys = new Map<string, unknown>();
          const idempotency: Idempotency = async (call) => {
            const key = `${call.scope}:${call.key}`;
            if (!keys.has(key)) keys.set(key, await call.run());
            return keys.get(key) as never;
          };
          const releases = new Releases({
            config,
            deployments: {
              request: async (input: { environment: string; target: { digest: string; tag: string } }) => {
                requested.push({ environment: input.environment, ...input.target });
                return { dryRun: false, deployment: { id: `dep-${requested.length}`, state: 'IN_PROGRESS' } };
              },
              history: async () => ({ items: [] }),
            } as unknown as Pick<Deployments, 'request' | 'history'>,
            store: {
              wait: async (release: PendingRelease) => {
                const known = waiting.some(
                  (other) => other.digest === release.digest && other.environment === release.environment,
                );
                if (!known) waiting.push(release);
                return !known;
              },
            } as unknown as ReleaseStore,
            ecsFor: () => new ECSClient({ region: 'us-east-1' }),
            ecrFor: (region) => new ECRClient({ region }),
            idempotency,
            publisher: { publish: async () => true },
            audit: memoryAudit(() => NOW).audit,
            now: () => NOW,
          });
          const handler = makeEcrImageAction({ releases, deadLetters: fakes().deadLetters });

          // When each push event arrives
          for (const { id, time, digest: imageDigest, tag } of pushes) {
            const event = structuredClone(sampleEvent);
            Object.assign(event, { id, time });
            Object.assign(event.detail, { 'image-digest': imageDigest, 'image-tag': tag });
            await handler(event, lambdaContext());
          }

          // Then every deployment is of a tag ECR has for its digest, once per digest and environment
          for (const request of requested) expect(ECR_TAGS[request.digest]).toContain(request.tag);
          const deployed = requested.map((request) => `${request.digest}#${request.environment}`);
          expect(new Set(deployed).size).toBe(deployed.length);
          expect(requested.every((request) => request.environment === 'staging')).toBe(true);
          // And production's soak runs from ECR's push time, never the event's
          for (const release of waiting) {
            expect({ environment: release.environment, tag: release.tag, pushedAt: release.pushedAt }).toEqual({
              environment: 'production',
              tag: '1.5.0',
              pushedAt: PUSHED_AT.toISOString(),
            });
            expect(release.dueAt).toBe(new Date(PUSHED_AT.getTime() + 30 * 60_000).toISOString());
          }
          // And a push of the new digest, whatever it said, reached both environments
          const sawNew = pushes.some((one) => one.digest === digest('b'));
          expect(deployed.includes(`${digest('b')}#staging`)).toBe(sawNew);
          expect(waiting.length).toBe(sawNew ? 1 : 0);
          await unhandled.assertNone();
        } finally {
          aws.restore();
        }
      }),
      fuzzParameters(),
    );
  });
});
