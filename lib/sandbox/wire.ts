import { JsonShapeDeserializer, JsonShapeSerializer, XmlShapeSerializer } from '@aws-sdk/core/protocols';
import { deref, NormalizedSchema } from '@smithy/core/schema';
import type { StaticErrorSchema, StaticOperationSchema } from '@smithy/types';

/**
 * The wire protocols the AWS SDK's clients speak, answered from the server's side: AWS JSON 1.1 (ECS, ECR)
 * and AWS Query (RDS). Inputs are read and outputs written through the SDK's own shapes of each operation,
 * generated from the services' published Smithy models, so every member name, list element name and
 * timestamp format is the service's; an output member no model has is a fault of the sandbox (500), never
 * silently dropped.
 */

export type Json = Record<string, unknown>;

/** An error answered in the service's protocol: its code, message and HTTP status. */
export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }

  /** The fault the model declares (its code and status, e.g. RDS's awsQueryError trait), with a message. */
  static of(schema: StaticErrorSchema, message: string): AwsFault {
    const ns = NormalizedSchema.of(schema);
    const traits = ns.getMergedTraits() as { awsQueryError?: [string, number]; httpError?: number };
    const [code, status] = traits.awsQueryError ?? [ns.getName() ?? 'ClientError', traits.httpError ?? 400];
    return new AwsFault(code, message, status);
  }
}

/** One operation served: the SDK's schema of it and what answers it. */
export interface Served<Context> {
  schema: StaticOperationSchema;
  handle: (input: Json, context: Context) => Json;
}

export function shapes(operation: StaticOperationSchema) {
  return { input: deref(operation[4]), output: deref(operation[5]) };
}

/**
 * Members a value has that its shape lacks, as paths (`service.deployments[0].bogus`): the sandbox may
 * only answer what the service's model defines.
 */
export function unmodelled(schema: unknown, value: unknown, path = ''): string[] {
  if (value === null || value === undefined) return [];
  const ns = NormalizedSchema.of(schema as never);
  if (ns.isListSchema()) {
    if (!Array.isArray(value)) return [`${path}: a list in the model, ${typeof value} here`];
    return value.flatMap((item, index) => unmodelled(ns.getValueSchema(), item, `${path}[${index}]`));
  }
  if (ns.isMapSchema()) {
    return Object.entries(value as Json).flatMap(([key, item]) =>
      unmodelled(ns.getValueSchema(), item, `${path}.${key}`),
    );
  }
  if (ns.isStructSchema()) {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: a structure in the model`];
    const members = new Map<string, unknown>(ns.structIterator());
    return Object.entries(value as Json).flatMap(([key, item]) => {
      const at = path ? `${path}.${key}` : key;
      const member = members.get(key);
      return member === undefined ? [`${at}: not in the model`] : unmodelled(member, item, at);
    });
  }
  if (ns.isTimestampSchema()) return value instanceof Date ? [] : [`${path}: a timestamp in the model`];
  return [];
}

function checked(schema: unknown, value: Json, operation: string): Json {
  const problems = unmodelled(schema, value);
  if (problems.length > 0) {
    throw new AwsFault('InternalFailure', `the sandbox answered ${operation} with ${problems.join('; ')}`, 500);
  }
  return value;
}

// ECS and ECR timestamps are epoch seconds on the wire (AWS JSON 1.1's default timestamp format).
const JSON_SETTINGS = { timestampFormat: { useTrait: true, default: 7 as const }, jsonName: false };

export async function readJson(operation: StaticOperationSchema, body: string): Promise<Json> {
  const text = body.trim() === '' ? '{}' : body;
  try {
    JSON.parse(text);
  } catch {
    throw new AwsFault('SerializationException', 'the request body is not JSON');
  }
  return ((await new JsonShapeDeserializer(JSON_SETTINGS).read(shapes(operation).input, text)) ?? {}) as Json;
}

export function writeJson(operation: StaticOperationSchema, output: Json): string {
  const { output: schema } = shapes(operation);
  const serializer = new JsonShapeSerializer(JSON_SETTINGS);
  serializer.write(schema, checked(schema, output, operation[2]));
  return serializer.flush();
}

/** `{__type, message}`, as AWS JSON 1.1 services answer an error. */
export function jsonError(fault: AwsFault): string {
  return JSON.stringify({ __type: fault.code, message: fault.message });
}

// ---------------------------------------------------------------------------------------------
// AWS Query: form-encoded input (`Tags.Tag.1.Key=…`), XML output

/** The value at `prefix` of a form, read as the SDK's QueryShapeSerializer writes it (the reverse of its walk). */
function readForm(schema: unknown, form: URLSearchParams, prefix: string): unknown {
  const ns = NormalizedSchema.of(schema as never);
  const at = prefix.endsWith('.') ? prefix.slice(0, -1) : prefix;
  if (ns.isListSchema()) {
    const member = ns.getValueSchema();
    const traits = member.getMergedTraits() as { xmlName?: string };
    const base = ns.getMergedTraits().xmlFlattened ? `${at}.` : `${at}.${traits.xmlName ?? 'member'}.`;
    const items: unknown[] = [];
    for (let index = 1; ; index += 1) {
      const key = `${base}${index}`;
      const present = [...form.keys()].some((name) => name === key || name.startsWith(`${key}.`));
      if (!present) break;
      items.push(readForm(member, form, key));
    }
    return items.length > 0 || form.has(at) ? items : undefined;
  }
  if (ns.isStructSchema()) {
    const value: Json = {};
    const base = prefix === '' || prefix.endsWith('.') ? prefix : `${prefix}.`;
    for (const [name, member] of ns.structIterator()) {
      const traits = member.getMergedTraits() as { xmlName?: string };
      const read = readForm(member, form, `${base}${traits.xmlName ?? name}`);
      if (read !== undefined) value[name] = read;
    }
    return Object.keys(value).length > 0 || prefix === '' ? value : undefined;
  }
  const raw = form.get(at);
  if (raw === null) return undefined;
  if (ns.isBooleanSchema()) {
    if (raw !== 'true' && raw !== 'false') throw new AwsFault('InvalidParameterValue', `${at}: expected true or false`);
    return raw === 'true';
  }
  if (ns.isNumericSchema()) {
    const number = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(number))
      throw new AwsFault('InvalidParameterValue', `${at}: expected a number`);
    return number;
  }
  if (ns.isTimestampSchema()) {
    const date = new Date(raw);
    if (Number.isNaN(date.getTime())) throw new AwsFault('InvalidParameterValue', `${at}: expected an ISO 8601 time`);
    return date;
  }
  return raw;
}

export function readQuery(operation: StaticOperationSchema, form: URLSearchParams): Json {
  return (readForm(shapes(operation).input, form, '') ?? {}) as Json;
}

const XML_SETTINGS = { timestampFormat: { useTrait: true, default: 5 as const }, httpBindings: false };

export function writeQuery(
  operation: StaticOperationSchema,
  output: Json,
  xmlNamespace: string,
  requestId: string,
): string {
  const name = operation[2];
  const { output: schema } = shapes(operation);
  const serializer = new XmlShapeSerializer({ ...XML_SETTINGS, serviceNamespace: operation[1], xmlNamespace });
  serializer.write(schema, checked(schema, output, name));
  // The shape is named after its model structure (DBInstanceMessage); AWS Query wraps it as <Operation>Result.
  const written = String(serializer.flush()).replace(/ xmlns="[^"]*"/, '');
  const root = /^<([A-Za-z0-9_]+)/.exec(written)?.[1] ?? '';
  const result = written
    .replace(new RegExp(`^<${root}(/?)>`), `<${name}Result$1>`)
    .replace(new RegExp(`</${root}>$`), `</${name}Result>`);
  return `<${name}Response xmlns="${xmlNamespace}">${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${name}Response>`;
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** AWS Query's error document (a client error is a Sender's fault). */
export function queryError(fault: AwsFault, xmlNamespace: string, requestId: string): string {
  const type = fault.status < 500 ? 'Sender' : 'Receiver';
  return `<ErrorResponse xmlns="${xmlNamespace}"><Error><Type>${type}</Type><Code>${escapeXml(fault.code)}</Code><Message>${escapeXml(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}
