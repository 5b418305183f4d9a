import { readdirSync, readFileSync } from 'node:fs';

/**
 * The published examples of what AWS sends (test/fixtures/published/), and the comparison of a sample in
 * events/ with them: the same keys at every depth, the same value types, and the same formats (timestamps,
 * ARNs of the same service and resource type, digests, ids). Where a page shows that a key comes and goes,
 * or that an object's keys are the caller's own, the fixture says so in `shape`, with the reason.
 */

type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean';

export interface MapRule {
  /** What every key must match; any key when absent. */
  keys?: string;
  required?: string[];
  values: JsonType;
  why: string;
}

export interface ShapeRules {
  /** Keys a sample may leave out, each with why (paths such as `detail.image-tag`, `[]` for an array's elements). */
  optional?: Record<string, string>;
  /** Keys a sample may have though this example lacks them, each with a value of the same page to compare with. */
  extra?: Record<string, { like: unknown; why: string }>;
  /** Objects whose keys are the caller's own, or not fixed: only each value's type is compared. */
  maps?: Record<string, MapRule>;
  /** The element type of arrays the example shows empty. */
  elements?: Record<string, JsonType>;
  /** Values whose content is the caller's: only their type is compared. */
  free?: Record<string, string>;
}

export interface PublishedExample {
  file: string;
  page: string;
  url: string;
  example: string;
  /** `<source> <detail-type>` for an EventBridge event, else the name of the payload. */
  kind: string;
  note?: string;
  shape?: ShapeRules;
  event: unknown;
}

export const PUBLISHED_DIR = 'test/fixtures/published';

export function publishedExamples(): PublishedExample[] {
  return readdirSync(PUBLISHED_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...JSON.parse(readFileSync(`${PUBLISHED_DIR}/${file}`, 'utf8')) }));
}

/** Which published kind a sample is, from its shape; undefined for what no AWS service sends. */
export function kindOf(sample: unknown): string | undefined {
  if (sample === null || typeof sample !== 'object' || Array.isArray(sample)) return undefined;
  const event = sample as Record<string, unknown>;
  if (typeof event['detail-type'] === 'string' && typeof event.source === 'string') {
    return `${event.source} ${event['detail-type']}`;
  }
  if (event.version === '2.0' && typeof event.routeKey === 'string') return 'API Gateway HTTP API payload 2.0';
  if (typeof event.lifecycleStage === 'string') return 'ECS deployment lifecycle hook';
  return undefined;
}

const typeOf = (value: unknown): JsonType =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : (typeof value as JsonType);

const FORMATS: Array<[string, (value: string) => boolean]> = [
  ['a timestamp to the second (YYYY-MM-DDTHH:MM:SSZ)', (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v)],
  [
    'a timestamp to the millisecond (YYYY-MM-DDTHH:MM:SS.sssZ)',
    (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v),
  ],
  ['a timestamp to the millisecond with +0000', (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/.test(v)],
  ['a request time (dd/Mon/yyyy:HH:MM:SS +0000)', (v) => /^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/.test(v)],
  ['a sha256 digest', (v) => /^sha256:[0-9A-Za-z]+$/.test(v)],
  ['an RDS event id', (v) => /^RDS-EVENT-\d{4}$/.test(v)],
  ['an ECS deployment id', (v) => /^ecs-svc\/\d+$/.test(v)],
  ['a 12-digit account id', (v) => /^\d{12}$/.test(v)],
  ['a region', (v) => /^[a-z]{2}(-[a-z]+)+-\d$/.test(v)],
  ['a JSON object', (v) => v.startsWith('{') && isJson(v)],
];

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** `an ARN of ecs service`, `a timestamp to the second (…)`, or `text`. */
export function formatOf(value: string): string {
  const arn = /^arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:\d*:([A-Za-z0-9-]+)[:/]/.exec(value);
  if (arn) return `an ARN of ${arn[1]} ${arn[2]}`;
  return FORMATS.find(([, matches]) => matches(value))?.[0] ?? 'text';
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
const show = (path: string) => (path === '' ? '(top level)' : path);

/** How `sample` differs from `example`, one line per difference; empty when it has the published shape. */
export function shapeDifferences(sample: unknown, example: unknown, rules: ShapeRules = {}, path = ''): string[] {
  const map = rules.maps?.[path];
  if (map) return mapDifferences(sample, path, map);
  const [got, want] = [typeOf(sample), typeOf(example)];
  if (got !== want) return [`${show(path)}: ${got}, published as ${want}`];
  if (rules.free?.[path] !== undefined) return [];
  if (want === 'object') return objectDifferences(sample as object, example as object, rules, path);
  if (want === 'array') return arrayDifferences(sample as unknown[], example as unknown[], rules, path);
  if (want === 'string') {
    const [format, published] = [formatOf(sample as string), formatOf(example as string)];
    if (format !== published)
      return [`${show(path)}: ${JSON.stringify(sample)} is ${format}, published as ${published}`];
  }
  return [];
}

function objectDifferences(sample: object, example: object, rules: ShapeRules, path: string): string[] {
  const keys = [...new Set([...Object.keys(example), ...Object.keys(sample)])];
  return keys.flatMap((key) => {
    const at = join(path, key);
    if (!Object.hasOwn(sample, key)) {
      return rules.optional?.[at] !== undefined ? [] : [`${at}: missing, the published example has it`];
    }
    if (!Object.hasOwn(example, key)) {
      const extra = rules.extra?.[at];
      return extra
        ? shapeDifferences(sample[key as keyof typeof sample], extra.like, rules, at)
        : [`${at}: not in the published example`];
    }
    return shapeDifferences(sample[key as keyof typeof sample], example[key as keyof typeof example], rules, at);
  });
}

function arrayDifferences(sample: unknown[], example: unknown[], rules: ShapeRules, path: string): string[] {
  const at = `${path}[]`;
  if (example.length === 0) {
    const type = rules.elements?.[path];
    if (type === undefined) return sample.length === 0 ? [] : [`${show(path)}: has elements, published empty`];
    return sample.flatMap((item) => (typeOf(item) === type ? [] : [`${at}: ${typeOf(item)}, published as ${type}`]));
  }
  // Each element has the shape of one of the published elements (a metric math alarm lists two kinds).
  return sample.flatMap((item) => {
    const candidates = example.map((published) => shapeDifferences(item, published, rules, at));
    if (candidates.some((differences) => differences.length === 0)) return [];
    return candidates.reduce((fewest, differences) => (differences.length < fewest.length ? differences : fewest));
  });
}

function mapDifferences(sample: unknown, path: string, map: MapRule): string[] {
  if (typeOf(sample) !== 'object') return [`${show(path)}: ${typeOf(sample)}, published as object`];
  const entries = Object.entries(sample as object);
  const pattern = map.keys === undefined ? undefined : new RegExp(map.keys);
  return [
    ...(map.required ?? []).flatMap((key) =>
      Object.hasOwn(sample as object, key) ? [] : [`${join(path, key)}: missing, the published example has it`],
    ),
    ...entries.flatMap(([key, value]) => {
      const at = join(path, key);
      if (pattern && !pattern.test(key)) return [`${at}: a key the published example cannot have (${map.why})`];
      return typeOf(value) === map.values ? [] : [`${at}: ${typeOf(value)}, published as ${map.values}`];
    }),
  ];
}

/** The published example of `kind` closest to `sample`, and how the sample differs from it. */
export function closestPublished(sample: unknown, examples: PublishedExample[]) {
  return examples
    .map((example) => ({ example, differences: shapeDifferences(sample, example.event, example.shape) }))
    .reduce((best, next) => (next.differences.length < best.differences.length ? next : best));
}
