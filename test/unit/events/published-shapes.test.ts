import { readdirSync, readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { backupScheduleInput } from '../../../functions/schedules/backup-database';
import { drillScheduleInput } from '../../../functions/schedules/restore-drill';
import { archiveScheduleInput } from '../../../functions/schedules/take-archive';
import { workerJob } from '../../../lib/worker/launch';
import {
  closestPublished,
  formatOf,
  kindOf,
  type PublishedExample,
  publishedExamples,
  shapeDifferences,
} from '../../support/published-shapes';

/**
 * Every sample in events/ has the shape AWS publishes for its kind (test/fixtures/published/, each naming
 * the page it is quoted from): the same keys at every depth, the same value types and the same formats
 * (ECS timestamps to the second, RDS dates to the millisecond, ARNs of the same service and resource type).
 * A sample is recognised by its source and detail-type, or its payload's shape, so a new sample is checked
 * without touching this file; one of a kind with no published example fails until one is added.
 * The few samples that are Slipway's own inputs, not AWS's, must parse with the schema that reads them.
 */

const samples = readdirSync('events')
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => ({ file, event: JSON.parse(readFileSync(`events/${file}`, 'utf8')) as unknown }));
const published = publishedExamples();

/** The constant inputs of Slipway's own schedule rules (serverless/config.cjs) and the job it sends a volume function. */
const SLIPWAY_INPUTS: Array<[string, z.core.$ZodType]> = [
  ['the input of a backup schedule', backupScheduleInput],
  ['the input of a drill schedule', drillScheduleInput],
  ['the input of an archive schedule', archiveScheduleInput],
  ['the job Slipway sends a volume function', workerJob],
];

const awsSamples = samples.filter(({ event }) => kindOf(event) !== undefined);

describe('the samples in events/', () => {
  it.each(samples.filter(({ event }) => kindOf(event) === undefined))(
    '$file, which no AWS service sends, is an input of Slipway its schema reads',
    ({ event }) => {
      expect(
        SLIPWAY_INPUTS.filter(([, schema]) => z.safeParse(schema, event).success).map(([what]) => what),
      ).not.toEqual([]);
    },
  );

  it.each(awsSamples)('$file has the shape of a published example of its kind', ({ event }) => {
    // Given the published examples of its kind
    const kind = kindOf(event) as string;
    const candidates = published.filter((example) => example.kind === kind);
    expect({ kind, published: candidates.length > 0 }).toEqual({ kind, published: true });

    // When it is compared with the closest one
    const { example, differences } = closestPublished(event, candidates);

    // Then it has the same keys, types and formats
    expect({ closest: `${example.file} (${example.example})`, differences }).toEqual({
      closest: `${example.file} (${example.example})`,
      differences: [],
    });
  });
});

describe('the published examples', () => {
  it.each(published)('$file names its page and has its own shape', (example: PublishedExample) => {
    expect(example.url).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    expect(example.page.length).toBeGreaterThan(0);
    expect(kindOf(example.event)).toBe(example.kind);
    expect(shapeDifferences(example.event, example.event, example.shape)).toEqual([]);
  });
});

describe('shapeDifferences', () => {
  const ecs = published.find((example) => example.file === 'ecs.deployment-completed.json') as PublishedExample;
  const event = ecs.event as { detail: Record<string, unknown> } & Record<string, unknown>;
  const withDetail = (detail: Record<string, unknown>) => ({ ...event, detail: { ...event.detail, ...detail } });

  it('finds an ECS timestamp given to the millisecond', () => {
    expect(shapeDifferences(withDetail({ updatedAt: '2026-11-22T03:09:46.318Z' }), event)).toEqual([
      'detail.updatedAt: "2026-11-22T03:09:46.318Z" is a timestamp to the millisecond (YYYY-MM-DDTHH:MM:SS.sssZ), published as a timestamp to the second (YYYY-MM-DDTHH:MM:SSZ)',
    ]);
  });

  it('finds a key the example lacks, one it has, and a value of another type', () => {
    const { reason: _reason, ...withoutReason } = event.detail;
    const sample = { ...event, detail: { ...withoutReason, eventType: 1, extra: 'x' } };

    expect(shapeDifferences(sample, event)).toEqual([
      'detail.eventType: number, published as string',
      'detail.reason: missing, the published example has it',
      'detail.extra: not in the published example',
    ]);
  });

  it('finds an ARN of another resource type', () => {
    const sample = { ...event, resources: ['arn:aws:ecs:us-east-1:123456789012:cluster/shop-prod'] };

    expect(shapeDifferences(sample, event)).toEqual([
      'resources[]: "arn:aws:ecs:us-east-1:123456789012:cluster/shop-prod" is an ARN of ecs cluster, published as an ARN of ecs service',
    ]);
  });

  it('lets a sample leave out what the shape says is optional, and checks the keys of a map', () => {
    const rules = {
      optional: { 'detail.reason': 'for this test' },
      maps: {
        'detail.counts': { keys: '^(HIGH|TOTAL)$', required: ['TOTAL'], values: 'number' as const, why: 'test' },
      },
    };
    const example = withDetail({ counts: { HIGH: 1, TOTAL: 1 } });
    const { reason: _reason, ...detail } = example.detail;

    expect(shapeDifferences({ ...example, detail: { ...detail, counts: { LOW: 2 } } }, example, rules)).toEqual([
      'detail.counts.TOTAL: missing, the published example has it',
      'detail.counts.LOW: a key the published example cannot have (test)',
    ]);
  });

  it.each([
    ['2026-11-22T03:12:13Z', 'a timestamp to the second (YYYY-MM-DDTHH:MM:SSZ)'],
    ['2026-11-22T03:12:13.882Z', 'a timestamp to the millisecond (YYYY-MM-DDTHH:MM:SS.sssZ)'],
    ['2026-11-22T10:12:00.123+0000', 'a timestamp to the millisecond with +0000'],
    ['arn:aws:rds:us-east-1:123456789012:cluster-snapshot:slipway-orders-db', 'an ARN of rds cluster-snapshot'],
    ['arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample', 'an ARN of ecr repository'],
    ['shop-backend', 'text'],
  ])('reads %s as %s', (value, format) => {
    expect(formatOf(value)).toBe(format);
  });
});
