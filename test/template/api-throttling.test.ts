import { rmSync } from 'node:fs';
import { apiRoutes } from '../../lib/http/registry';
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

const isLimit = (value: unknown) => Number.isInteger(value) && (value as number) > 0;

// A route's rate per instance of its function: a refusal for bad credentials takes under 20 ms.
const REFUSALS_PER_SECOND = 50;
// "Lambda quotas" and "Configuring reserved concurrency" (AWS Lambda Developer Guide): 1,000 concurrent
// executions per Region by default, of which reservations may leave no fewer than 100 unreserved.
const DEFAULT_ACCOUNT_CONCURRENCY = 1_000;
const LAMBDA_MINIMUM_UNRESERVED = 100;

/** serverless' logical id of a function: createRestore → CreateRestoreLambdaFunction. */
const logicalIdOf = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}LambdaFunction`;
const reservedOf = (name: string) => {
  const value = template.Resources[logicalIdOf(name)]?.Properties?.ReservedConcurrentExecutions;
  if (!isLimit(value)) throw new Error(`function ${name} reserves no concurrency`);
  return value as number;
};

describe('the HTTP API stage (stage prod)', () => {
  it('throttles every route with its own rate and burst, and any other request by default', () => {
    // Given the stage serverless makes and the routes it serves
    const settings = routeSettings();
    const named = routes().filter(({ routeKey }) => routeKey !== '$default');
    // (every operation of the API, and the console's page at /console and /console/{proxy+})
    expect(named.length).toBe(Object.keys(apiRoutes).length + 2);

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

  it("gives each route a rate of 50 x its function's reserved concurrency and a burst of twice that", () => {
    // Given each route's function and what it reserves (a request refused for its credentials takes under 20 ms)
    for (const route of Object.values(apiRoutes)) {
      const reserved = reservedOf(route.name);
      const limits = routeSettings()[routeKeyOf(route.name)];

      // Then anonymous traffic runs out the function's concurrency before its route's throttle
      expect({ route: route.name, rate: limits?.ThrottlingRateLimit, burst: limits?.ThrottlingBurstLimit }).toEqual({
        route: route.name,
        rate: REFUSALS_PER_SECOND * reserved,
        burst: 2 * REFUSALS_PER_SECOND * reserved,
      });
    }
    // And the catch-all as its function, notFound
    expect(stage().Properties?.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: REFUSALS_PER_SECOND * reservedOf('notFound'),
      ThrottlingBurstLimit: 2 * REFUSALS_PER_SECOND * reservedOf('notFound'),
    });
  });

  it('reserves concurrency for every API function and the console, 108 in all, leaving the unreserved pool to the other functions', () => {
    // Given every function of the stack
    const functions = Object.entries(template.Resources).filter(
      ([, resource]) => resource.Type === 'AWS::Lambda::Function',
    );
    const api = new Set([
      ...Object.values(apiRoutes).map((route) => logicalIdOf(route.name)),
      logicalIdOf('notFound'),
      logicalIdOf('getConsole'),
    ]);

    // Then each API function reserves some, and no event, schedule, hook or worker function does
    const reserved = functions.map(([logicalId, resource]) => ({
      logicalId,
      api: api.has(logicalId),
      reserves: resource.Properties?.ReservedConcurrentExecutions !== undefined,
    }));
    expect(reserved).toEqual(reserved.map((fn) => ({ ...fn, reserves: fn.api })));
    expect(api.size).toBeGreaterThan(20);

    // And they sum to 108 of the default 1,000 (Slack's presses took 2; the console, /v1/me and the restores' listing 2 each), leaving far more than the 100 Lambda requires unreserved
    const sum = [...api].reduce(
      (total, logicalId) => total + Number(template.Resources[logicalId]?.Properties?.ReservedConcurrentExecutions),
      0,
    );
    expect(sum).toBe(108);
    expect(DEFAULT_ACCOUNT_CONCURRENCY - sum).toBeGreaterThan(LAMBDA_MINIMUM_UNRESERVED);
  });

  it('reserves the least for what starts the costliest work: restores and backups below deployments', () => {
    expect(reservedOf('createRestore')).toBeLessThan(reservedOf('createDeployment'));
    expect(reservedOf('takeBackup')).toBeLessThan(reservedOf('createDeployment'));
    expect(reservedOf('createDeployment')).toBeLessThanOrEqual(reservedOf('getDeployment'));
  });
});
