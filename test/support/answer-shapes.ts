/**
 * How one AWS answer differs in shape from another: keys missing at any depth and values of another JSON
 * type, element by element for lists. Used to hold the sandbox's answers to an independent emulator's.
 */

type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean' | 'date';

const typeOf = (value: unknown): JsonType =>
  value === null
    ? 'null'
    : value instanceof Date
      ? 'date'
      : Array.isArray(value)
        ? 'array'
        : (typeof value as JsonType);

/** Drops what the SDK adds to every answer. */
export function answerOf<T extends object>(output: T): Omit<T, '$metadata'> {
  const { $metadata: _metadata, ...rest } = output as T & { $metadata?: unknown };
  return rest;
}

/**
 * Paths (`service.deployments[].id`) where `candidate` lacks a key `reference` has, or holds a value of
 * another type. Extra keys in `candidate` are not reported: the sandbox's own are held to the service
 * model at the wire instead.
 */
export function missingShape(reference: unknown, candidate: unknown, path = ''): string[] {
  const [want, got] = [typeOf(reference), typeOf(candidate)];
  if (want !== got) return [`${path || '(top level)'}: ${got}, the reference has ${want}`];
  if (want === 'array') {
    const items = reference as unknown[];
    const others = candidate as unknown[];
    if (items.length === 0 || others.length === 0) return [];
    return others.flatMap((other) => missingShape(items[0], other, `${path}[]`));
  }
  if (want !== 'object') return [];
  return Object.entries(reference as Record<string, unknown>).flatMap(([key, value]) => {
    const at = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(candidate as object, key)) return [`${at}: missing, the reference has it`];
    return missingShape(value, (candidate as Record<string, unknown>)[key], at);
  });
}
