import type { SlipwayConfig } from '../config/schema';
import { NotFound } from '../errors';
import type { DeploymentStore, Page } from '../store/deployments';
import { environmentOf, summary } from './deployments-context';
import type { DeploymentRecord } from './records';

/**
 * What is read of deployments without acting on one: a record, an environment's history, the apps with
 * their last deployments. Config and the state table only, so the routes that read (and the deploy use
 * case, for its own reads) need no ECS, ECR or SNS client for it.
 */

export interface DeploymentReadsDeps {
  config: Pick<SlipwayConfig, 'apps'>;
  store: Pick<DeploymentStore, 'get' | 'history'>;
}

export async function getDeployment(deps: Pick<DeploymentReadsDeps, 'store'>, id: string): Promise<DeploymentRecord> {
  const record = await deps.store.get(id);
  if (!record) throw new NotFound(`no deployment ${id}`);
  return record;
}

export async function deploymentHistory(
  deps: DeploymentReadsDeps,
  app: string,
  environment: string,
  page: { limit?: number; cursor?: string },
): Promise<Page<DeploymentRecord>> {
  environmentOf(deps.config, app, environment);
  return deps.store.history(app, environment, page);
}

export async function listApps(deps: DeploymentReadsDeps) {
  const apps = await Promise.all(
    Object.entries(deps.config.apps).map(async ([name, app]) => ({
      name,
      repository: app.repository,
      containers: app.containers,
      environments: await Promise.all(
        Object.entries(app.environments).map(async ([environment, env]) => {
          const [last] = (await deps.store.history(name, environment, { limit: 1 })).items;
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

/** The reads for the routes that only read, over config and the state table alone. */
export class DeploymentReads {
  constructor(private readonly deps: DeploymentReadsDeps) {}

  get(id: string): Promise<DeploymentRecord> {
    return getDeployment(this.deps, id);
  }

  history(app: string, environment: string, page: { limit?: number; cursor?: string }) {
    return deploymentHistory(this.deps, app, environment, page);
  }

  apps() {
    return listApps(this.deps);
  }
}
