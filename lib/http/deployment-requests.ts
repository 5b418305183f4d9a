import type * as z from 'zod/mini';
import type { AuditRecorder } from '../audit/trail';
import type { Principal } from '../auth/principal';
import type { DeploymentRequest, Deployments, RequestOutcome } from '../deploy/deployments';
import type { Requester } from '../deploy/records';
import type { Idempotency } from '../store/idempotency';
import { idempotencyKey } from './idempotency-key';
import { auditedRoute, type RouteDeps, type RouteRequest, type RouteResult } from './route-chain';

/** What a route that asks for a deployment is built from. */
export interface DeploymentRequestDeps extends RouteDeps {
  audit: AuditRecorder;
  deployments: Pick<Deployments, 'request'>;
  idempotency: Idempotency;
}

/** Who asked, as the deployment records it: the principal's name, and the person behind an OIDC caller. */
export function requesterOf(principal: Principal | undefined): Requester {
  return {
    name: principal?.name ?? 'anonymous',
    kind: 'token',
    ...(principal?.person ? { person: principal.person } : {}),
  };
}

/** 202 with the record and where to follow it, or 200 with the plan of a dry run. */
export function outcomeResponse(outcome: RequestOutcome): RouteResult {
  if (outcome.dryRun) return { status: 200, body: { dryRun: true, plan: outcome.plan } };
  return {
    status: 202,
    body: { deployment: outcome.deployment },
    headers: { location: `/v1/deployments/${outcome.deployment.id}` },
  };
}

/**
 * A route that asks for a deployment (deploy, promote, rollback, restart, scale):
 * permission deploy, the request made idempotent by its Idempotency-Key, 202 or a dry-run plan.
 */
export function deploymentRequestRoute<
  Body extends z.core.$ZodType,
  Path extends z.core.$ZodType | undefined = undefined,
>(
  spec: { name: string; access: 'deploy'; scope: 'body' | 'path' | 'promotion'; body: Body; path?: Path },
  deps: DeploymentRequestDeps,
  toRequest: (
    request: RouteRequest<
      z.core.output<Body>,
      Path extends z.core.$ZodType ? z.core.output<Path> : undefined,
      undefined
    >,
  ) => Omit<DeploymentRequest, 'requestedBy'>,
) {
  return auditedRoute(spec, deps, async (request) => {
    const requestedBy = requesterOf(request.principal);
    return deps.idempotency({
      scope: spec.name,
      caller: requestedBy.name,
      key: idempotencyKey(request.headers),
      payload: { path: request.path ?? null, body: request.body },
      context: request.context,
      // Body and Path are zod types here, so the chain's inferred request is exactly toRequest's parameter.
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
