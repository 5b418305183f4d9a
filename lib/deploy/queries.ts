import { NotFound } from '../errors';
import type { Page } from '../store/deployments';
import { type DeploymentsContext, environmentOf, summary } from './deployments-context';
import { containerImages, describeService, describeTaskDefinition, digestOf } from './ecs';
import { type DeploymentRecord, isInFlight } from './records';

/** What callers read: a deployment, an environment's history, the apps, and what an environment runs now. */

export interface EnvironmentView {
  app: string;
  environment: string;
  cluster: string;
  service: string;
  approvals: number;
  promoteFrom?: string;
  running?: {
    taskDefinitionArn?: string;
    images: Record<string, string>;
    digest?: string;
    desiredCount?: number;
    runningCount?: number;
    pendingCount?: number;
    status?: string;
  };
  lastDeployment?: DeploymentRecord;
  inFlight?: DeploymentRecord;
}

export async function getDeployment(ctx: DeploymentsContext, id: string): Promise<DeploymentRecord> {
  const record = await ctx.deps.store.get(id);
  if (!record) throw new NotFound(`no deployment ${id}`);
  return record;
}

export async function deploymentHistory(
  ctx: DeploymentsContext,
  app: string,
  environment: string,
  page: { limit?: number; cursor?: string },
): Promise<Page<DeploymentRecord>> {
  environmentOf(ctx, app, environment);
  return ctx.deps.store.history(app, environment, page);
}

export async function listApps(ctx: DeploymentsContext) {
  const apps = await Promise.all(
    Object.entries(ctx.deps.config.apps).map(async ([name, app]) => ({
      name,
      repository: app.repository,
      containers: app.containers,
      environments: await Promise.all(
        Object.entries(app.environments).map(async ([environment, env]) => {
          const [last] = (await ctx.deps.store.history(name, environment, { limit: 1 })).items;
          return {
            name: environment,
            cluster: env.cluster,
            service: env.service,
            approvals: env.approvals,
            ...(env.promoteFrom ? { promoteFrom: env.promoteFrom } : {}),
            ...(last ? { lastDeployment: summary(last) } : {}),
          };
        }),
      ),
    })),
  );
  return { apps };
}

export async function environmentView(
  ctx: DeploymentsContext,
  appName: string,
  environment: string,
): Promise<EnvironmentView> {
  const { app, env } = environmentOf(ctx, appName, environment);
  const [service, page, holder] = await Promise.all([
    describeService(ctx.deps.ecs, env.cluster, env.service),
    ctx.deps.store.history(appName, environment, { limit: 1 }),
    ctx.deps.locks.holder(appName, environment),
  ]);
  const images = service.taskDefinition
    ? containerImages(
        (await describeTaskDefinition(ctx.deps.ecs, service.taskDefinition)).taskDefinition,
        app.containers,
      )
    : {};
  const inFlight = holder ? await ctx.deps.store.get(holder) : undefined;
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
  };
}
