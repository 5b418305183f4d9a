import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import {
  type DeploymentConfiguration,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  type Service,
  type Tag,
  type TaskDefinition,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { Conflict, SlipwayError, Unavailable, Unprocessable, UpstreamFailed } from '../errors';
import type { EcrFor } from './deployments-context';
import { rolesNotListed } from './task-definition';

/** The ECR and ECS reads and inputs a deployment is made of. */

const ECR_URI = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(.+)$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface EcrRepository {
  registryId: string;
  region: string;
  repositoryName: string;
}

export function ecrRepository(uri: string): EcrRepository | undefined {
  const match = ECR_URI.exec(uri);
  return match?.[1] && match[2] && match[3]
    ? { registryId: match[1], region: match[2], repositoryName: match[3] }
    : undefined;
}

/** The digest an image reference is pinned to (`repo@sha256:…`), if it is. */
export function digestOf(image: string | undefined): string | undefined {
  const digest = image?.split('@')[1];
  return digest && DIGEST.test(digest) ? digest : undefined;
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');

export const AWS_NOT_REACHABLE =
  'ECS and ECR are not reachable from this machine: set AWS credentials, AWS_ENDPOINT_URL, or start with --sandbox';

/**
 * An ECS or ECR call that failed without an answer from AWS. With no endpoint and no credentials the SDK's
 * default chain throws CredentialsProviderError before sending anything (AWS SDK for JavaScript v3 Developer
 * Guide, "Setting credentials in Node.js"): a 503 saying what to set, not a 502 blaming AWS.
 */
export function awsCallFailed(what: string, error: unknown): SlipwayError {
  // Slipway's own, from the client's credentials: an account's role that cannot be assumed (AssumeRoleFailed).
  if (error instanceof SlipwayError) return error;
  if (errorName(error) === 'CredentialsProviderError') return new Unavailable(AWS_NOT_REACHABLE, { cause: error });
  return new UpstreamFailed(`${what} failed (${errorName(error)})`, { cause: error });
}

/**
 * The digest to deploy. A tag is resolved once, here, so what is approved is what runs;
 * a digest is checked to exist. Repositories outside ECR can be deployed by digest only.
 */
export async function resolveImage(
  ecrFor: EcrFor,
  repository: string,
  reference: { tag: string } | { digest: string },
  session?: Parameters<EcrFor>[1],
): Promise<{ digest: string; tag?: string }> {
  const ecr = ecrRepository(repository);
  if (!ecr) {
    if ('digest' in reference) return { digest: reference.digest };
    throw new Unprocessable(
      `${repository} is not an ECR repository, so tag ${reference.tag} cannot be resolved; deploy by digest`,
      { details: { repository, tag: reference.tag } },
    );
  }
  const imageId = 'tag' in reference ? { imageTag: reference.tag } : { imageDigest: reference.digest };
  const what = 'tag' in reference ? `tag ${reference.tag}` : `digest ${reference.digest}`;
  try {
    const { imageDetails } = await ecrFor(ecr.region, session).send(
      new DescribeImagesCommand({
        registryId: ecr.registryId,
        repositoryName: ecr.repositoryName,
        imageIds: [imageId],
      }),
    );
    const digest = imageDetails?.[0]?.imageDigest;
    if (!digest) throw new Unprocessable(`repository ${ecr.repositoryName} has no image with ${what}`);
    return 'tag' in reference ? { digest, tag: reference.tag } : { digest };
  } catch (error) {
    if (error instanceof Unprocessable) throw error;
    const name = errorName(error);
    if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') {
      throw new Unprocessable(
        name === 'RepositoryNotFoundException'
          ? `repository ${ecr.repositoryName} does not exist in registry ${ecr.registryId} (${ecr.region})`
          : `repository ${ecr.repositoryName} has no image with ${what}`,
        { cause: error, details: { repository: ecr.repositoryName, ...imageId } },
      );
    }
    throw awsCallFailed('ECR DescribeImages', error);
  }
}

export async function describeService(ecs: ECSClient, cluster: string, service: string): Promise<Service> {
  let described: Service | undefined;
  try {
    const { services } = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    described = services?.[0];
  } catch (error) {
    throw awsCallFailed('ECS DescribeServices', error);
  }
  if (!described || described.status === 'INACTIVE') {
    throw new Unprocessable(`ECS service ${service} does not exist in cluster ${cluster}`, {
      details: { cluster, service },
    });
  }
  return described;
}

/** Slipway drives rolling updates; a service whose deployments another controller owns is refused. */
export function assertRollingUpdates(service: Service): void {
  const controller = service.deploymentController?.type ?? 'ECS';
  if (controller === 'CODE_DEPLOY' || controller === 'EXTERNAL') {
    throw new Conflict(
      `service ${service.serviceName} uses the ${controller} deployment controller; Slipway deploys only services with the ECS (rolling update) controller`,
      { details: { deploymentController: controller } },
    );
  }
}

export function primaryDeploymentId(service: Service): string | undefined {
  return service.deployments?.find((deployment) => deployment.status === 'PRIMARY')?.id;
}

export async function describeTaskDefinition(
  ecs: ECSClient,
  taskDefinition: string,
): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] | undefined }> {
  try {
    const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }));
    if (!described.taskDefinition) throw new Error('DescribeTaskDefinition returned no task definition');
    return { taskDefinition: described.taskDefinition, tags: described.tags };
  } catch (error) {
    throw awsCallFailed(`ECS DescribeTaskDefinition for ${taskDefinition}`, error);
  }
}

/** Images of the named containers, as the task definition has them. */
export function containerImages(taskDefinition: TaskDefinition, containers: string[]): Record<string, string> {
  const images: Record<string, string> = {};
  for (const definition of taskDefinition.containerDefinitions ?? []) {
    if (definition.name && definition.image && containers.includes(definition.name)) {
      images[definition.name] = definition.image;
    }
  }
  return images;
}

/**
 * The deployment settings for UpdateService: the service's own, with the circuit breaker
 * rolling back on failure and the environment's alarms, so ECS itself undoes a bad release.
 * UpdateService replaces what it is given, so the service's own breaker settings
 * (thresholdConfiguration, resetOnHealthyTask) and alarm names are sent back with ours
 * (ECS API Reference, DeploymentConfiguration, DeploymentCircuitBreaker, DeploymentAlarms).
 */
export function deploymentConfiguration(
  service: Service,
  alarmNames: string[],
): NonNullable<UpdateServiceCommandInput['deploymentConfiguration']> {
  const current = service.deploymentConfiguration ?? {};
  const alarms = current.alarms;
  return {
    ...current,
    deploymentCircuitBreaker: { ...current.deploymentCircuitBreaker, enable: true, rollback: true },
    ...(alarmNames.length > 0
      ? {
          alarms: {
            ...alarms,
            alarmNames: [...new Set([...(alarms?.alarmNames ?? []), ...alarmNames])],
            enable: true,
            rollback: true,
          },
        }
      : {}),
  };
}

/**
 * The roles the service's lifecycle hooks name that `lifecycleHookRoles` does not list (every one
 * without it). UpdateService sends the hooks back, and ECS needs each hook's role passed to it
 * (ECS API Reference, DeploymentLifecycleHook roleArn).
 */
export function unlistedHookRoles(
  configuration: Pick<DeploymentConfiguration, 'lifecycleHooks'> | undefined,
  lifecycleHookRoles: readonly string[] | undefined,
): string[] {
  return rolesNotListed(
    (configuration?.lifecycleHooks ?? []).map((hook) => hook.roleArn),
    lifecycleHookRoles ?? [],
  );
}
