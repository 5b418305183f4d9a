import type { Json } from './wire';

/**
 * Which functions an event goes to, as EventBridge decides: every function whose rule's event pattern
 * matches it (Amazon EventBridge User Guide, "Creating event patterns" and "Content filtering in
 * Amazon EventBridge event patterns"). The rules are serverless.yml's, read from the service as
 * Serverless resolves it, so the sandbox delivers exactly what the deployed rules would.
 */

export interface EventRule {
  functionName: string;
  pattern: Json;
}

type Matcher = unknown;

function matchesValue(matcher: Matcher, value: unknown, present: boolean): boolean {
  if (matcher === null || typeof matcher !== 'object') return present && value === matcher;
  const [operator, operand] = Object.entries(matcher as Json)[0] ?? [];
  switch (operator) {
    case 'exists':
      return operand === present;
    case 'prefix':
      if (typeof operand === 'object' && operand !== null && 'equals-ignore-case' in operand) {
        const wanted = String((operand as Json)['equals-ignore-case']).toLowerCase();
        return present && typeof value === 'string' && value.toLowerCase().startsWith(wanted);
      }
      return present && typeof value === 'string' && value.startsWith(String(operand));
    case 'suffix':
      return present && typeof value === 'string' && value.endsWith(String(operand));
    case 'equals-ignore-case':
      return present && typeof value === 'string' && value.toLowerCase() === String(operand).toLowerCase();
    case 'wildcard': {
      const expression = String(operand)
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      return present && typeof value === 'string' && new RegExp(`^${expression}$`).test(value);
    }
    case 'anything-but': {
      if (!present) return false;
      const excluded = Array.isArray(operand) ? operand : [operand];
      return !excluded.some((each) => matchesValue(each, value, true));
    }
    case 'numeric': {
      if (!present || typeof value !== 'number') return false;
      const terms = operand as Array<string | number>;
      for (let index = 0; index < terms.length; index += 2) {
        const [op, bound] = [terms[index], Number(terms[index + 1])];
        const holds =
          op === '='
            ? value === bound
            : op === '<'
              ? value < bound
              : op === '<='
                ? value <= bound
                : op === '>'
                  ? value > bound
                  : value >= bound;
        if (!holds) return false;
      }
      return true;
    }
    default:
      throw new Error(`event pattern operator ${String(operator)} is not one the sandbox knows; add it to rules.ts`);
  }
}

/** Whether `event` matches `pattern`: every field the pattern names matches one of its values (arrays match any element). */
export function matchesPattern(pattern: Json, event: unknown): boolean {
  const object = (event !== null && typeof event === 'object' ? event : {}) as Json;
  return Object.entries(pattern).every(([key, expected]) => {
    const present = Object.hasOwn(object, key);
    const value = object[key];
    if (!Array.isArray(expected)) {
      if (expected === null || typeof expected !== 'object')
        throw new Error(`event pattern field ${key} is neither a list nor an object`);
      return present && value !== null && typeof value === 'object' && matchesPattern(expected as Json, value);
    }
    // An array in the event matches when any of its elements does.
    if (Array.isArray(value))
      return value.some((each) => expected.some((matcher) => matchesValue(matcher, each, true)));
    return expected.some((matcher) => matchesValue(matcher, value, present));
  });
}

export interface Place {
  partition: string;
  region: string;
  account: string;
}

/** A pattern's `Fn::Sub` values with the pseudo parameters filled in: what CloudFormation deploys. */
function resolved(value: unknown, place: Place): unknown {
  if (Array.isArray(value)) return value.map((item) => resolved(item, place));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only?.[0] === 'Fn::Sub' && typeof only[1] === 'string') {
    const values: Record<string, string> = {
      'AWS::Partition': place.partition,
      'AWS::Region': place.region,
      'AWS::AccountId': place.account,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return only[1].replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
      const found = values[name];
      if (found === undefined)
        throw new Error(`an event pattern substitutes ${whole}, which the sandbox cannot resolve`);
      return found;
    });
  }
  if (entries.length === 1 && only && (only[0] === 'Ref' || only[0].startsWith('Fn::'))) {
    throw new Error(`an event pattern holds ${JSON.stringify(value)}, which the sandbox cannot resolve`);
  }
  return Object.fromEntries(entries.map(([key, inner]) => [key, resolved(inner, place)]));
}

export interface ServiceFunctions {
  service: string;
  stage: string;
  functions: Record<string, { name?: string; events?: Array<Record<string, unknown>> }>;
}

/** The eventBridge rules of serverless.yml, as `serverless print` resolves it, each with the function it invokes. */
export function eventRulesOf({ service, stage, functions }: ServiceFunctions, place: Place): EventRule[] {
  return Object.entries(functions).flatMap(([key, fn]) =>
    (fn.events ?? []).flatMap((event) => {
      const rule = event.eventBridge as { pattern?: Json; enabled?: boolean } | undefined;
      if (!rule?.pattern || rule.enabled === false) return [];
      return [
        { functionName: fn.name ?? `${service}-${stage}-${key}`, pattern: resolved(rule.pattern, place) as Json },
      ];
    }),
  );
}

/** The functions an event goes to, in the order of the rules. */
export function targetsOf(rules: EventRule[], event: Json): string[] {
  return rules.filter((rule) => matchesPattern(rule.pattern, event)).map((rule) => rule.functionName);
}
