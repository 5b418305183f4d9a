import * as routes from '../../lib/http/no-input-route-specs';
import { OPENAPI_FILE, type OpenApiDocument, readOpenApiDocument } from '../../lib/http/openapi-file';
import { httpRoute } from '../../lib/http/route-chain';
import { environment } from '../../lib/wiring/environment';

export interface GetOpenapiDeps {
  /** info.version: the control plane's version. */
  version: string;
  /** The document written at package time (lib/http/openapi-file.ts); the function's package carries it. */
  file?: string;
}

/** `GET /v1/openapi.json`: the API's OpenAPI 3.1 document, read once per container from its package. */
export function makeHandler(deps: GetOpenapiDeps) {
  let document: OpenApiDocument | undefined;
  return httpRoute(routes.getOpenapi, {}, async () => {
    document ??= readOpenApiDocument(deps.version, deps.file ?? OPENAPI_FILE);
    return { status: 200, body: document };
  });
}

export const handler = makeHandler({ version: environment().version });
