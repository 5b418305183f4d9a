import { type DeploymentsContext, type DeploymentsDeps, deploymentsContext } from './deployments-context';
import { type EnvironmentView, environmentView, type Reader } from './environment-view';
import type { EcsDeploymentEvent } from './outcome';
import type { Home } from './placement';
import { deploymentHistory, getDeployment, listApps } from './queries';
import type { DeploymentRecord, Requester } from './records';
import {
  approveDeployment,
  cancelDeployment,
  type DeploymentRequest,
  type RequestOutcome,
  requestDeployment,
} from './requests';
import { onEcsEvent, reconcileDeployments } from './settlement';

export { type DeploymentsDeps, summary } from './deployments-context';
export type { EnvironmentView, Reader } from './environment-view';
export type { Home } from './placement';
export type { DeploymentRequest, DeployTarget, RequestOutcome } from './requests';
export type { DeploymentPlan } from './rollout';

/**
 * The deploy use case for callers that use several of its parts (the routes, releases, alarms):
 * requests (requests.ts), what they read (queries.ts, environment-view.ts), and how deployments end (settlement.ts),
 * over one context. A caller that needs one part only can depend on that part.
 */
export class Deployments {
  private readonly context: DeploymentsContext;

  constructor(deps: DeploymentsDeps) {
    this.context = deploymentsContext(deps);
  }

  request(input: DeploymentRequest): Promise<RequestOutcome> {
    return requestDeployment(this.context, input);
  }

  approve(id: string, approver: Requester): Promise<DeploymentRecord> {
    return approveDeployment(this.context, id, approver);
  }

  cancel(id: string, by: Requester): Promise<DeploymentRecord> {
    return cancelDeployment(this.context, id, by);
  }

  get(id: string): Promise<DeploymentRecord> {
    return getDeployment(this.context.deps, id);
  }

  history(app: string, environment: string, page: { limit?: number; cursor?: string }) {
    return deploymentHistory(this.context.deps, app, environment, page);
  }

  apps() {
    return listApps(this.context.deps);
  }

  environment(app: string, environment: string, reader: Reader): Promise<EnvironmentView> {
    return environmentView(this.context.deps, app, environment, reader);
  }

  /** Applies an ECS deployment event; anything that is not for a deployment in flight changes nothing. */
  onEcsEvent(event: EcsDeploymentEvent, home: Home) {
    return onEcsEvent(this.context, event, home);
  }

  /** Settles what events left open; see reconcileDeployments. */
  reconcile() {
    return reconcileDeployments(this.context);
  }
}
