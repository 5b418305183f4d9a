import type { HealthStore } from '../store/health';
import { type DeploymentsDeps, environmentOf } from './deployments-context';
import { containerImages, describeService, describeTaskDefinition, digestOf } from './ecs';
import { placeOf } from './placement';
import { type EnvironmentView, isInFlight } from './records';

/** What an environment runs now: its ECS service and task definition beside its last and in-flight deployments. */

export type { EnvironmentView };

/** Who reads an environment, and the request they read it in: the session's source identity and name in another account. */
export interface Reader {
  principal: string;
  requestId: string;
}

export async function environmentView(
  deps: Pick<DeploymentsDeps, 'config' | 'ecsFor' | 'store' | 'locks'> & { health?: Pick<HealthStore, 'get'> },
  appName: string,
  environment: string,
  reader: Reader,
): Promise<EnvironmentView> {
  const { app, env } = environmentOf(deps.config, appName, environment);
  const ecs = deps.ecsFor(placeOf(env), {
    id: reader.requestId,
    principal: reader.principal,
    app: appName,
    environment,
  });
  const [service, page, holder, health] = await Promise.all([
    describeService(ecs, env.cluster, env.service),
    deps.store.history(appName, environment, { limit: 1 }),
    deps.locks.holder(appName, environment),
    deps.health?.get(appName, environment),
  ]);
  const images = service.taskDefinition
    ? containerImages((await describeTaskDefinition(ecs, service.taskDefinition)).taskDefinition, app.containers)
    : {};
  const inFlight = holder ? await deps.store.get(holder) : undefined;
  const digest = Object.values(images).map(digestOf).find(Boolean);
  return {
    app: appName,
    environment,
    cluster: env.cluster,
    service: env.service,
    approvals: env.approvals,
    ...(env.promoteFrom ? { promoteFrom: env.promoteFrom } : {}),
    running: {
      taskDefinitionArn: service.taskDefinition,
      images,
      ...(digest ? { digest } : {}),
      desiredCount: service.desiredCount,
      runningCount: service.runningCount,
      pendingCount: service.pendingCount,
      status: service.status,
    },
    ...(page.items[0] ? { lastDeployment: page.items[0] } : {}),
    ...(inFlight && isInFlight(inFlight.state) ? { inFlight } : {}),
    ...(health ? { health } : {}),
  };
}
