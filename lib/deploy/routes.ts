import type { z } from 'zod';
import { idempotencyKey } from '../http/idempotency';
import { auditedRoute, type RouteRequest } from '../http/route';
import type { DeploymentRouteDeps } from '../runtime/deployments';
import { outcomeResponse, requesterOf } from './api';
import type { DeploymentRequest } from './deployments';

/**
 * A route that asks for a deployment (deploy, promote, rollback, restart, scale):
 * permission deploy, the request made idempotent by its Idempotency-Key, 202 or a dry-run plan.
 */
export function deploymentRequestRoute<Body extends z.ZodType, Path extends z.ZodType | undefined = undefined>(
  spec: { name: string; body: Body; path?: Path },
  deps: DeploymentRouteDeps,
  toRequest: (
    request: RouteRequest<z.output<Body>, Path extends z.ZodType ? z.output<Path> : undefined, undefined>,
  ) => Omit<DeploymentRequest, 'requestedBy'>,
) {
  return auditedRoute({ ...spec, access: 'deploy' }, deps, async (request) => {
    const requestedBy = requesterOf(request.principal);
    return deps.idempotency({
      scope: spec.name,
      caller: requestedBy.name,
      key: idempotencyKey(request.headers),
      payload: { path: request.path ?? null, body: request.body },
      context: request.context,
      // Body and Path are zod types here, so httpRoute's inferred request is exactly toRequest's parameter.
      run: async () =>
        outcomeResponse(
          await deps.deployments.request({ ...toRequest(request as Parameters<typeof toRequest>[0]), requestedBy }),
        ),
    });
  });
}

/** reason and dryRun, as every request body may carry them. */
export function common(body: { reason?: string | undefined; dryRun?: boolean | undefined }) {
  return { ...(body.reason ? { reason: body.reason } : {}), ...(body.dryRun ? { dryRun: true } : {}) };
}
