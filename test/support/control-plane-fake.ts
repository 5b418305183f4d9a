import type { DeploymentRecord } from '../../lib/deploy/records';

/** A control plane in memory, as the CLI's fetch sees it: each route answers from the test's script; every request is recorded. */

export type Route = (request: { method: string; url: URL; body: unknown }) => { status: number; body: unknown };

export function controlPlane(routes: Record<string, Route>) {
  const requests: Array<{ method: string; path: string; query: string; body: unknown; authorization: string }> = [];
  const fake = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const headers = (init?.headers ?? {}) as Record<string, string>;
    requests.push({ method, path: url.pathname, query: url.search, body, authorization: headers.authorization ?? '' });
    const route = routes[`${method} ${url.pathname}`];
    const answer = route
      ? route({ method, url, body })
      : { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route for ${method} ${url.pathname}` } } };
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  }) as typeof fetch;
  return { fake, requests };
}

/** A deployment of shop/staging as the control plane answers it, at the state and steps given; a failed one with its diagnosis. */
export function deploymentRecord(
  state: DeploymentRecord['state'],
  steps: DeploymentRecord['timeline'],
): DeploymentRecord {
  return {
    id: 'dep-1',
    app: 'shop',
    environment: 'staging',
    kind: 'deploy',
    state,
    requestedBy: { name: 'ci', kind: 'token' },
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: steps.at(-1)?.at ?? '2026-11-23T10:00:00.000Z',
    cluster: 'shop-staging',
    service: 'backend',
    from: { images: {} },
    to: { images: {}, digest: `sha256:${'b'.repeat(64)}`, tag: '1.5.0' },
    registeredTaskDefinition: true,
    approvals: { required: 0, by: [] },
    timeline: steps,
    ...(state === 'FAILED'
      ? {
          failure: {
            reason: 'ECS deployment circuit breaker: tasks failed to start.',
            serviceEvents: [],
            stoppedTasks: [],
          },
        }
      : {}),
  };
}
