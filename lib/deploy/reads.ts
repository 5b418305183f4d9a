import type { AppConfig, EnvironmentConfig, SlipwayConfig } from '../config/schema';
import { NotFound } from '../errors';
import type { DeploymentStore, Page } from '../store/deployments';
import type { DeploymentRecord } from './records';

/** An app environment config names, or NotFound saying which of the two it does not. */
export function environmentOf(
  config: Pick<SlipwayConfig, 'apps'>,
  appName: string,
  environment: string,
): { app: AppConfig; env: EnvironmentConfig } {
  const app = Object.hasOwn(config.apps, appName) ? config.apps[appName] : undefined;
  if (!app) throw new NotFound(`no app named ${appName}`, { details: { app: appName } });
  const env = Object.hasOwn(app.environments, environment) ? app.environments[environment] : undefined;
  if (!env) {
    throw new NotFound(`app ${appName} has no environment named ${environment}`, {
      details: { app: appName, environment, environments: Object.keys(app.environments) },
    });
  }
  return { app, env };
}

/** The fields of a record a notification or a listing shows. */
export function summary(record: DeploymentRecord) {
  return {
    id: record.id,
    app: record.app,
    environment: record.environment,
    kind: record.kind,
    state: record.state,
    requestedBy: record.requestedBy.name,
    ...(record.reason ? { reason: record.reason } : {}),
    cluster: record.cluster,
    service: record.service,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    fromDigest: record.from.digest ?? null,
    toDigest: record.to.digest ?? null,
    ...(record.ecsDeploymentId ? { ecsDeploymentId: record.ecsDeploymentId } : {}),
    ...(record.failure ? { failureReason: record.failure.reason } : {}),
  };
}

export interface DeploymentReadsDeps {
  config: Pick<SlipwayConfig, 'apps'>;
  store: Pick<DeploymentStore, 'get' | 'history'>;
}

/**
 * What is read of deployments without acting on one: a record, an environment's history, the apps with
 * their last deployments. Config and the state table only, so the routes that read (and the deploy use
 * case, for its own reads) need no ECS, ECR or SNS client for it.
 */
export class DeploymentReads {
  constructor(private readonly deps: DeploymentReadsDeps) {}

  async get(id: string): Promise<DeploymentRecord> {
    const record = await this.deps.store.get(id);
    if (!record) throw new NotFound(`no deployment ${id}`);
    return record;
  }

  async history(
    app: string,
    environment: string,
    page: { limit?: number; cursor?: string },
  ): Promise<Page<DeploymentRecord>> {
    environmentOf(this.deps.config, app, environment);
    return this.deps.store.history(app, environment, page);
  }

  async apps() {
    const apps = await Promise.all(
      Object.entries(this.deps.config.apps).map(async ([name, app]) => ({
        name,
        repository: app.repository,
        containers: app.containers,
        environments: await Promise.all(
          Object.entries(app.environments).map(async ([environment, env]) => {
            const [last] = (await this.deps.store.history(name, environment, { limit: 1 })).items;
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
}
