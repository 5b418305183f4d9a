import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as z from 'zod';
import { type Permission, ROLES, rolesGrant } from '../auth/principal';
import {
  OPENAPI_FILE,
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiParameter,
  type OpenApiResponse,
  UNVERSIONED,
} from './openapi-file';
import { API_TAGS, type ApiHeader, type ApiResponse, type ApiRoute, type ApiTag, errorResponse } from './registry';
import { MAX_BODY_BYTES } from './route-chain';

/**
 * The OpenAPI 3.1 document of the HTTP API, made from the route registry (lib/http/registry.ts):
 * request schemas are the zod schemas the routes validate with, converted by zod itself.
 */

type JsonSchema = Record<string, unknown>;

export type { OpenApiDocument, OpenApiOperation, OpenApiParameter, OpenApiResponse } from './openapi-file';

export interface OpenApiOptions {
  /** info.version: the control plane's version (package.json). */
  version: string;
  /** Where the API is served; without it `/`, which clients resolve against the document's own URL. */
  serverUrl?: string;
}

const ERROR_SCHEMA = { $ref: '#/components/schemas/Error' };

/** A zod schema as a JSON Schema 2020-12 object, the dialect of OpenAPI 3.1 schema objects. */
function jsonSchema(schema: z.core.$ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  // Definitions would be referenced from the document's root, where they are not: keep every schema inline.
  if ('$defs' in json) throw new Error('a route schema has $defs (a schema with an id, or a cycle); inline it');
  return json;
}

function parametersOf(route: ApiRoute, location: 'path' | 'query'): OpenApiParameter[] {
  const schema = route[location];
  if (!schema) return [];
  const json = jsonSchema(schema, 'input');
  const properties = json.properties as Record<string, JsonSchema> | undefined;
  if (json.type !== 'object' || !properties) {
    throw new Error(`the ${location} schema of ${route.name} is not an object`);
  }
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, { description, ...property }]) => ({
    name,
    in: location,
    // A path parameter is always there: API Gateway matched the route with it.
    required: location === 'path' || required.has(name),
    ...(typeof description === 'string' ? { description } : {}),
    ...(location === 'query' ? { style: 'form' as const, explode: true } : {}),
    schema: property,
  }));
}

function headerParameter(header: ApiHeader): OpenApiParameter {
  return {
    name: header.name,
    in: 'header',
    required: header.required ?? false,
    description: header.description,
    schema: jsonSchema(header.schema, 'input'),
  };
}

function rolesGranting(permission: Permission): string {
  const roles = ROLES.filter((role) => rolesGrant([role], permission));
  return roles.map((role) => `\`${role}\``).join(' or ');
}

/** The answers httpRoute gives by itself, before or around the route's own code. */
function chainResponses(route: ApiRoute): Record<number, string> {
  const chain: Record<number, string> = {};
  const inputs = [
    route.path && 'a path parameter',
    route.query && 'a query parameter',
    route.body && 'the body',
  ].filter((input): input is string => Boolean(input));
  if (inputs.length > 0) {
    const which = inputs.length === 1 ? inputs[0] : `${inputs.slice(0, -1).join(', ')} or ${inputs.at(-1)}`;
    const notJson = route.body ? ', or the body is not JSON' : '';
    chain[400] =
      `${which?.replace(/^./, (first) => first.toUpperCase())} does not match its schema${notJson}: ` +
      '`error.details` lists each field, where it is and why.';
  }
  if (route.access !== 'public') {
    chain[401] = 'No bearer token, or one that is not valid.';
    chain[403] = `The token's roles do not grant the \`${route.access}\` permission.`;
    chain[502] = 'The API tokens could not be read from Secrets Manager.';
  }
  chain[413] = `The request body is larger than ${MAX_BODY_BYTES} bytes.`;
  chain[500] = 'A fault on the server: the message names only the request id to quote.';
  return chain;
}

function response(status: number, reasons: string[], declared: ApiResponse | undefined): OpenApiResponse {
  // One reason reads as a sentence; several (the route's own and the chain's) as a list.
  const description = reasons.length === 1 ? (reasons[0] as string) : reasons.map((r) => `- ${r}`).join('\n');
  const schema = declared?.schema ? jsonSchema(declared.schema, 'output') : status >= 400 ? ERROR_SCHEMA : undefined;
  return {
    description,
    ...(declared?.headers
      ? {
          headers: Object.fromEntries(
            Object.entries(declared.headers).map(([name, header]) => [
              name,
              { description: header.description, required: header.required ?? false, schema: { type: 'string' } },
            ]),
          ),
        }
      : {}),
    ...(schema ? { content: { 'application/json': { schema } } } : {}),
  };
}

function responsesOf(route: ApiRoute): Record<string, OpenApiResponse> {
  const chain = chainResponses(route);
  const statuses = [...new Set([...Object.keys(route.responses), ...Object.keys(chain)].map(Number))].sort(
    (a, b) => a - b,
  );
  return Object.fromEntries(
    statuses.map((status) => {
      const declared = route.responses[status];
      const reasons = [declared?.description, chain[status]].filter((reason): reason is string => Boolean(reason));
      return [String(status), response(status, reasons, declared)];
    }),
  );
}

function operationOf(route: ApiRoute): OpenApiOperation {
  const parameters = [
    ...parametersOf(route, 'path'),
    ...parametersOf(route, 'query'),
    ...(route.headers ?? []).map(headerParameter),
  ];
  const access =
    route.access === 'public'
      ? 'Public: no bearer token.'
      : `Needs a bearer token whose roles grant the \`${route.access}\` permission (${rolesGranting(route.access)}).`;
  return {
    operationId: route.name,
    summary: route.summary,
    description: [route.description, access].filter(Boolean).join('\n\n'),
    tags: [...route.tags],
    security: route.access === 'public' ? [] : [{ bearerAuth: [] }],
    ...(route.access === 'public' ? {} : { 'x-slipway-permission': route.access }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            // An empty body is read as {} (jsonBody): it may be left out exactly when {} is valid.
            required: !z.safeParse(route.body, {}).success,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }
      : route.rawBody
        ? {
            requestBody: {
              required: true,
              description: route.rawBody.description,
              content: { [route.rawBody.contentType ?? 'application/json']: { schema: { type: 'object' } } },
            },
          }
        : {}),
    responses: responsesOf(route),
  };
}

export function openApiDocument(routes: Readonly<Record<string, ApiRoute>>, options: OpenApiOptions): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const used = new Set<ApiTag>();
  for (const route of Object.values(routes)) {
    const method = route.method.toLowerCase();
    const path = paths[route.pathTemplate] ?? {};
    if (path[method]) throw new Error(`two routes for ${route.method} ${route.pathTemplate}`);
    path[method] = operationOf(route);
    paths[route.pathTemplate] = path;
    for (const tag of route.tags) used.add(tag);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Slipway API',
      version: options.version,
      summary: 'Deployment control plane for containerised apps on AWS.',
      description:
        'JSON in and out. Errors always have the shape `{"error": {"code", "message", "details"}}`: a client ' +
        'mistake is a 4xx whose message names the field and the reason; a server fault is a 5xx that names only ' +
        'the request id to quote. Every route but `/health`, `/health/live`, this document and the registry ' +
        'webhook needs `Authorization: Bearer <token>`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: options.serverUrl ?? '/', description: 'This control plane.' }],
    tags: (Object.keys(API_TAGS) as ApiTag[])
      .filter((tag) => used.has(tag))
      .map((tag) => ({ name: tag, description: API_TAGS[tag] })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A token minted with `npm run token`. Its roles grant permissions: `viewer` read; `deployer` read and ' +
            'deploy; `approver` read and approve; `admin` all. Each operation names the permission it needs in ' +
            '`x-slipway-permission`.',
        },
      },
      schemas: { Error: jsonSchema(errorResponse, 'output') },
    },
  };
}

/** Writes the document getOpenapi serves (lib/http/openapi-file.ts), its version left for the function to set. */
export function writeOpenApiDocument(routes: Readonly<Record<string, ApiRoute>>, path = OPENAPI_FILE): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(openApiDocument(routes, { version: UNVERSIONED }))}\n`);
  renameSync(temporary, path);
}
