import { rmSync } from 'node:fs';
import { apiRoutes } from '../../lib/http/api-routes';
import { type CloudFormationTemplate, packagedProd, readTemplate } from '../support/package';

/** The HTTP API's throttling (resources/api-throttling.yml), per route, in the packaged prod template. */

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

interface Throttling {
  ThrottlingRateLimit?: number;
  ThrottlingBurstLimit?: number;
}

const stage = () => {
  const found = template.Resources.HttpApiStage as CloudFormationTemplate['Resources'][string] & {
    DependsOn?: string[];
  };
  if (!found) throw new Error('the template has no HttpApiStage');
  return found;
};
const routeSettings = () => (stage().Properties?.RouteSettings ?? {}) as Record<string, Throttling>;
const routes = () =>
  Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::ApiGatewayV2::Route')
    .map(([logicalId, resource]) => ({ logicalId, routeKey: resource.Properties?.RouteKey as string }));
const routeKeyOf = (name: string) => {
  const route = Object.values(apiRoutes).find((candidate) => candidate.name === name);
  if (!route) throw new Error(`no route ${name}`);
  return `${route.method} ${route.pathTemplate}`;
};
const rateOf = (name: string) => routeSettings()[routeKeyOf(name)]?.ThrottlingRateLimit ?? Number.NaN;

const isLimit = (value: unknown) => Number.isInteger(value) && (value as number) > 0;

describe('the HTTP API stage (stage prod)', () => {
  it('throttles every route with its own rate and burst, and any other request by default', () => {
    // Given the stage serverless makes and the routes it serves
    const settings = routeSettings();
    const named = routes().filter(({ routeKey }) => routeKey !== '$default');
    expect(named.length).toBe(Object.keys(apiRoutes).length);

    // Then each route has its limits, a burst at least its rate
    for (const { routeKey } of named) {
      const limits = settings[routeKey];
      expect({
        routeKey,
        rate: isLimit(limits?.ThrottlingRateLimit),
        burst: isLimit(limits?.ThrottlingBurstLimit),
      }).toEqual({ routeKey, rate: true, burst: true });
      expect(limits?.ThrottlingBurstLimit).toBeGreaterThanOrEqual(
        limits?.ThrottlingRateLimit ?? Number.POSITIVE_INFINITY,
      );
    }
    // And no setting names a route the API does not have (API Gateway refuses the stage then)
    expect(Object.keys(settings).sort()).toEqual(named.map(({ routeKey }) => routeKey).sort());
    // And the catch-all, and any route added without a setting, has the default
    expect(stage().Properties?.DefaultRouteSettings).toEqual({
      DetailedMetricsEnabled: false,
      ThrottlingRateLimit: expect.any(Number),
      ThrottlingBurstLimit: expect.any(Number),
    });
  });

  it('is created after every route its settings name', () => {
    const byKey = new Map(routes().map(({ logicalId, routeKey }) => [routeKey, logicalId]));
    const dependsOn = stage().DependsOn ?? [];
    for (const routeKey of Object.keys(routeSettings())) {
      expect({ routeKey, waits: dependsOn.includes(byKey.get(routeKey) as string) }).toEqual({ routeKey, waits: true });
    }
  });

  it('lets reads through more often than deployments, and deployments more often than backups and restores', () => {
    const reads = Object.values(apiRoutes).filter((route) => route.method === 'GET' && route.access === 'read');
    const deploys = Object.values(apiRoutes).filter(
      (route) => route.method === 'POST' && (route.access === 'deploy' || route.access === 'approve'),
    );
    expect(reads.length).toBeGreaterThan(5);
    expect(deploys.length).toBeGreaterThan(5);
    const slowestRead = Math.min(...reads.map((route) => rateOf(route.name)));
    const fastestDeploy = Math.max(...deploys.map((route) => rateOf(route.name)));
    expect(slowestRead).toBeGreaterThan(fastestDeploy);
    expect(rateOf('takeBackup')).toBeLessThan(fastestDeploy);
    expect(rateOf('createRestore')).toBeLessThanOrEqual(rateOf('takeBackup'));
    // The webhook sits between: registries send bursts of pushes, each at most one deployment per environment.
    expect(rateOf('registryWebhook')).toBeGreaterThan(fastestDeploy);
    expect(rateOf('registryWebhook')).toBeLessThan(slowestRead);
  });
});
