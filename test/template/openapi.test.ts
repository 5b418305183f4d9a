import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApiDocument } from '../../lib/http/openapi';
import { apiRoutes } from '../../lib/http/registry';
import { type CloudFormationTemplate, packagedProd, readTemplate } from '../support/package';

let dir: string;
let owned = false;
let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ dir, owned } = await packagedProd());
  template = readTemplate(dir);
});

afterAll(() => {
  if (dir && owned) rmSync(dir, { recursive: true, force: true });
});

describe('the OpenAPI document and the packaged HTTP API (stage prod)', () => {
  it('describes every route the template gives API Gateway, and no other', () => {
    // Given the route keys of the packaged HTTP API, but the catch-all that answers 404 and the console's page
    const routeKeys = Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Route')
      .map((resource) => resource.Properties?.RouteKey as string)
      .filter((routeKey) => routeKey !== '$default' && !/^GET \/console(\/|$)/.test(routeKey))
      .sort();

    // When the document is made from the route registry
    const documented = Object.entries(openApiDocument(apiRoutes, { version: '0.0.0' }).paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();

    // Then both name the same routes
    expect(documented).toEqual(routeKeys);
  });

  it('is served by the packaged getOpenapi function, loaded from its zip alone', () => {
    // Given only the zip's content on disk, away from the repository's node_modules
    const root = mkdtempSync(join(tmpdir(), 'slipway-zip-'));
    try {
      execFileSync('unzip', ['-q', join(dir, 'getOpenapi.zip'), '-d', root]);
      const runner = join(root, 'invoke.mjs');
      writeFileSync(
        runner,
        [
          "const { handler } = await import('./functions/http/get-openapi.js');",
          "const event = { version: '2.0', rawPath: '/v1/openapi.json', headers: {}, requestContext: { requestId: 'r', http: { method: 'GET' } } };",
          "process.stdout.write(JSON.stringify(await handler(event, { awsRequestId: 'r' })));",
        ].join('\n'),
      );

      // When its handler is imported and invoked by plain node, with no token
      const output = execFileSync(process.execPath, [runner], {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH,
          SLIPWAY_STAGE: 'prod',
          SLIPWAY_VERSION: '1.2.3',
          STATE_TABLE: 'slipway-prod-state',
          BACKUP_BUCKET: 'bucket',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          POWERTOOLS_METRICS_DISABLED: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      });

      // Then the minified bundle answers the same document the tests lint, for the packaged version
      const response = JSON.parse(output);
      expect({ status: response.statusCode, contentType: response.headers['content-type'] }).toEqual({
        status: 200,
        contentType: 'application/json',
      });
      expect(JSON.parse(response.body)).toEqual(
        JSON.parse(JSON.stringify(openApiDocument(apiRoutes, { version: '1.2.3' }))),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
