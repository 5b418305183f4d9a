import { type OpenApiDocument, openApiDocument } from '../../lib/http/openapi';
import { apiRoutes } from '../../lib/http/registry';
import { httpRoute } from '../../lib/http/route-chain';
import { environment } from '../../lib/wiring/environment';

export interface GetOpenapiDeps {
  /** info.version: the control plane's version. */
  version: string;
}

/** `GET /v1/openapi.json`: the API's OpenAPI 3.1 document, made once per container from the route registry. */
export function makeHandler(deps: GetOpenapiDeps) {
  let document: OpenApiDocument | undefined;
  return httpRoute(apiRoutes.getOpenapi, {}, async () => {
    document ??= openApiDocument(apiRoutes, { version: deps.version });
    return { status: 200, body: document };
  });
}

export const handler = makeHandler({ version: environment().version });
