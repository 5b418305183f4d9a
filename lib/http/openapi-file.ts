import { readFileSync } from 'node:fs';
import type { Permission } from '../auth/principal';
import type { ApiTag } from './registry';

/**
 * The OpenAPI document as getOpenapi serves it: made from the route registry's zod schemas when the
 * stage is packaged or started (lib/http/openapi.ts, writeOpenApiDocument), shipped in that function's
 * package as JSON, so its cold start reads a file and loads neither zod nor the schemas.
 */
export const OPENAPI_FILE = 'generated/openapi.json';

/** What the file holds but the version, which is the running package's and is set when served. */
export const UNVERSIONED = '0.0.0-unversioned';

type JsonSchema = Record<string, unknown>;

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description?: string;
  style?: 'form';
  explode?: boolean;
  schema: JsonSchema;
}

export interface OpenApiResponse {
  description: string;
  headers?: Record<string, { description: string; required: boolean; schema: JsonSchema }>;
  content?: { 'application/json': { schema: JsonSchema } };
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description: string;
  tags: ApiTag[];
  security: Array<Record<string, string[]>>;
  'x-slipway-permission'?: Permission;
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; description?: string; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, OpenApiResponse>;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: {
    title: string;
    version: string;
    summary: string;
    description: string;
    license: { name: string; identifier: string };
  };
  servers: Array<{ url: string; description: string }>;
  tags: Array<{ name: ApiTag; description: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    securitySchemes: Record<string, Record<string, string>>;
    schemas: Record<string, JsonSchema>;
  };
}

export function readOpenApiDocument(version: string, path = OPENAPI_FILE): OpenApiDocument {
  let document: OpenApiDocument;
  try {
    document = JSON.parse(readFileSync(path, 'utf8')) as OpenApiDocument;
  } catch (error) {
    throw new Error(`${path}: cannot be read as JSON; sls package and npm start write it from lib/http/registry.ts`, {
      cause: error,
    });
  }
  if (document?.openapi !== '3.1.0' || document.info?.version !== UNVERSIONED) {
    throw new Error(`${path}: is not an OpenAPI 3.1 document as writeOpenApiDocument writes it; package again`);
  }
  return { ...document, info: { ...document.info, version } };
}
