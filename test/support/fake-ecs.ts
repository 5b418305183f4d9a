import { readFileSync } from 'node:fs';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  ECRClient,
  type EnhancedImageScanFinding,
  type ImageDetail,
  ImageNotFoundException,
} from '@aws-sdk/client-ecr';
import {
  type Deployment,
  type DeploymentConfiguration,
  DeregisterTaskDefinitionCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type ServiceDeployment,
  type Tag,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * ECS and ECR as the API reference describes them, kept in memory so a flow of
 * several requests sees the effects of the earlier ones: RegisterTaskDefinition adds
 * a revision, UpdateService starts a PRIMARY deployment, DescribeServices reports them.
 * Every call is still an aws-sdk-client-mock call, so tests assert exact inputs.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
/** The control plane's own account and region, where the fake's services and events are. */
export const HOME = { account: ACCOUNT, region: REGION };
export const REPOSITORY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/shop-backend`;
export const digest = (char: string) => `sha256:${char.repeat(64)}`;

const mockEcs = () => mockClient(ECSClient);
const mockEcr = () => mockClient(ECRClient);
export type EcsStub = ReturnType<typeof mockEcs>;
export type EcrStub = ReturnType<typeof mockEcr>;

interface FakeService {
  cluster: string;
  name: string;
  taskDefinition: string;
  desiredCount: number;
  controller: 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL';
  deployments: Deployment[];
  currentServiceDeployment?: string;
  /** The service's deployment settings, when a test gives it others than the rolling update default. */
  deploymentConfiguration?: DeploymentConfiguration;
}

export interface FakeAws {
  ecs: EcsStub;
  ecr: EcrStub;
  /** tag → digest in the shop-backend repository. */
  images: Map<string, string>;
  /** digest → when it was pushed (default 2026-11-20T12:00:00Z). */
  pushedAt: Map<string, Date>;
  /** digest → its completed basic scan's finding counts; absent: no scan result yet. */
  scans: Map<string, Record<string, number>>;
  /** digest → enhanced scanning's findings (status ACTIVE), as DescribeImageScanFindings lists them. */
  enhanced: Map<string, EnhancedImageScanFinding[]>;
  /** digest of an image index → its manifest; the images it lists are in the repository, untagged. */
  indexes: Map<string, string>;
  taskDefinitions: Map<string, { taskDefinition: TaskDefinition; tags: Tag[] | undefined }>;
  services: Map<string, FakeService>;
  serviceDeployments: Map<string, ServiceDeployment>;
  service(cluster: string, name?: string): FakeService;
  /** The ECS event ECS sends when the service's PRIMARY deployment ends. */
  event(
    cluster: string,
    eventName: 'SERVICE_DEPLOYMENT_COMPLETED' | 'SERVICE_DEPLOYMENT_FAILED' | 'SERVICE_DEPLOYMENT_IN_PROGRESS',
    options?: { deploymentId?: string; updatedAt?: string; reason?: string; id?: string },
  ): EcsEventShape;
  /** The circuit breaker rolling the PRIMARY deployment back: a new deployment to the previous one. */
  rollBack(cluster: string, updatedAt: string): { failed: EcsEventShape; rollback: EcsEventShape };
  restore(): void;
}

export interface EcsEventShape {
  version: '0';
  id: string;
  'detail-type': 'ECS Deployment State Change';
  source: 'aws.ecs';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: { eventType: string; eventName: string; deploymentId: string; updatedAt: string; reason?: string };
}

const serviceArn = (cluster: string, name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`;

function fixture(name: string): { taskDefinition: TaskDefinition; tags: Tag[] } {
  return JSON.parse(readFileSync(`test/fixtures/ecs/describe-task-definition.${name}.json`, 'utf8'));
}

export function fakeAws(options: { clusters?: string[]; controller?: FakeService['controller'] } = {}): FakeAws {
  const ecs = mockEcs();
  const ecr = mockEcr();
  const images = new Map<string, string>([
    ['1.4.2', digest('a')],
    ['1.5.0', digest('b')],
    ['1.6.0', digest('c')],
  ]);
  const base = fixture('fargate');
  const baseTags: Tag[] | undefined = base.tags;
  const baseArn = base.taskDefinition.taskDefinitionArn as string;
  const taskDefinitions = new Map<string, { taskDefinition: TaskDefinition; tags: Tag[] | undefined }>([
    [baseArn, { taskDefinition: base.taskDefinition, tags: baseTags }],
  ]);
  const services = new Map<string, FakeService>();
  const serviceDeployments = new Map<string, ServiceDeployment>();
  let deploymentCounter = 1000;
  const nextDeploymentId = () => {
    deploymentCounter += 1;
    return `ecs-svc/${deploymentCounter}`;
  };
  let revision = (base.taskDefinition.revision as number) + 6;
  let eventCounter = 0;

  for (const cluster of options.clusters ?? ['shop-staging', 'shop-prod']) {
    services.set(cluster, {
      cluster,
      name: 'backend',
      taskDefinition: baseArn,
      desiredCount: 2,
      controller: options.controller ?? 'ECS',
      deployments: [
        {
          id: nextDeploymentId(),
          status: 'PRIMARY',
          taskDefinition: baseArn,
          desiredCount: 2,
          runningCount: 2,
          rolloutState: 'COMPLETED',
          rolloutStateReason: 'ECS deployment completed.',
        },
      ],
    });
  }

  const describe = (fake: FakeService): Service => ({
    serviceArn: serviceArn(fake.cluster, fake.name),
    serviceName: fake.name,
    clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${fake.cluster}`,
    status: 'ACTIVE',
    desiredCount: fake.desiredCount,
    runningCount: fake.desiredCount,
    pendingCount: 0,
    launchType: 'FARGATE',
    taskDefinition: fake.taskDefinition,
    deploymentConfiguration: fake.deploymentConfiguration ?? {
      deploymentCircuitBreaker: { enable: false, rollback: false },
      maximumPercent: 200,
      minimumHealthyPercent: 100,
    },
    deploymentController: { type: fake.controller },
    deployments: fake.deployments.map((deployment) => ({ ...deployment })),
    events: [],
    ...(fake.currentServiceDeployment ? { currentServiceDeployment: fake.currentServiceDeployment } : {}),
  });

  const find = (cluster: string | undefined): FakeService => {
    const fake = services.get((cluster ?? '').split('/').at(-1) ?? '');
    if (!fake) throw new Error(`the fake has no cluster ${cluster}`);
    return fake;
  };

  ecs.on(DescribeServicesCommand).callsFake((input) => ({
    services: input.services?.map(() => describe(find(input.cluster))) ?? [],
    failures: [],
  }));
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => {
    const found = taskDefinitions.get(input.taskDefinition);
    if (!found) throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' });
    return { taskDefinition: found.taskDefinition, ...(input.include?.includes('TAGS') ? { tags: found.tags } : {}) };
  });
  ecs.on(RegisterTaskDefinitionCommand).callsFake((input: RegisterTaskDefinitionCommandInput) => {
    revision += 3;
    const taskDefinitionArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${input.family}:${revision}`;
    const { tags, ...definition } = input;
    const taskDefinition = {
      ...definition,
      taskDefinitionArn,
      revision,
      status: 'ACTIVE',
      registeredAt: new Date('2026-11-23T10:00:00Z'),
    } as TaskDefinition;
    taskDefinitions.set(taskDefinitionArn, { taskDefinition, tags });
    return { taskDefinition, tags };
  });
  const taskDefinitionArnOf = (reference: string) =>
    reference.startsWith('arn:') ? reference : `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${reference}`;
  ecs.on(UpdateServiceCommand).callsFake((input) => {
    const fake = find(input.cluster);
    if (input.desiredCount !== undefined) {
      fake.desiredCount = input.desiredCount;
      for (const deployment of fake.deployments)
        if (deployment.status === 'PRIMARY') deployment.desiredCount = input.desiredCount;
    }
    if (input.taskDefinition || input.forceNewDeployment) {
      // ECS answers the revision as a full ARN whatever form it was given in (ECS API Reference, UpdateService:
      // "family:revision" or the full ARN); moto echoes the input instead.
      if (input.taskDefinition) fake.taskDefinition = taskDefinitionArnOf(input.taskDefinition);
      for (const deployment of fake.deployments) deployment.status = 'ACTIVE';
      const id = nextDeploymentId();
      fake.deployments.unshift({
        id,
        status: 'PRIMARY',
        taskDefinition: fake.taskDefinition,
        desiredCount: fake.desiredCount,
        runningCount: 0,
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: `ECS deployment ${id} in progress.`,
      });
      fake.currentServiceDeployment = `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/${fake.cluster}/${fake.name}/${id.split('/')[1]}`;
    }
    return { service: describe(fake) };
  });
  ecs.on(DescribeServiceDeploymentsCommand).callsFake((input) => ({
    serviceDeployments: (input.serviceDeploymentArns ?? []).flatMap((arn: string) => {
      const found = serviceDeployments.get(arn);
      return found ? [found] : [];
    }),
    failures: [],
  }));
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [] });
  ecs.on(DeregisterTaskDefinitionCommand).callsFake((input) => {
    const found = taskDefinitions.get(input.taskDefinition);
    if (found) found.taskDefinition = { ...found.taskDefinition, status: 'INACTIVE' };
    return { taskDefinition: found?.taskDefinition };
  });

  const pushedAt = new Map<string, Date>();
  const scans = new Map<string, Record<string, number>>();
  const enhanced = new Map<string, EnhancedImageScanFinding[]>();
  const indexes = new Map<string, string>();
  const listed = (manifest: string) =>
    (JSON.parse(manifest) as { manifests: Array<{ digest: string }> }).manifests.map((entry) => entry.digest);
  const known = (imageDigest: string | undefined) =>
    imageDigest !== undefined &&
    ([...images.values()].includes(imageDigest) ||
      indexes.has(imageDigest) ||
      [...indexes.values()].some((manifest) => listed(manifest).includes(imageDigest)));
  const notFound = (input: { repositoryName?: string; registryId?: string }, imageTag?: string) =>
    new ImageNotFoundException({
      message: `The image with imageId {imageDigest:'null', imageTag:'${imageTag}'} does not exist within the repository with name '${input.repositoryName}' in the registry with id '${input.registryId}'`,
      $metadata: {},
    });
  ecr.on(DescribeImagesCommand).callsFake((input) => ({
    // ECR refuses the whole request when one of the images it names is not there.
    imageDetails: (input.imageIds ?? []).map((wanted: { imageTag?: string; imageDigest?: string }): ImageDetail => {
      const imageDigest = wanted.imageTag ? images.get(wanted.imageTag) : wanted.imageDigest;
      if (!imageDigest || !known(imageDigest)) throw notFound(input, wanted.imageTag);
      const scan = scans.get(imageDigest);
      const manifest = indexes.get(imageDigest);
      return {
        registryId: input.registryId,
        repositoryName: input.repositoryName,
        imageDigest,
        imageTags: [...images.entries()].filter(([, other]) => other === imageDigest).map(([tag]) => tag),
        imagePushedAt: pushedAt.get(imageDigest) ?? new Date('2026-11-20T12:00:00Z'),
        imageManifestMediaType: manifest
          ? (JSON.parse(manifest) as { mediaType: string }).mediaType
          : 'application/vnd.oci.image.manifest.v1+json',
        ...(scan
          ? {
              imageScanStatus: { status: 'COMPLETE' as const, description: 'The scan was completed successfully.' },
              imageScanFindingsSummary: { findingSeverityCounts: scan },
            }
          : {}),
        ...(enhanced.has(imageDigest) ? { imageScanStatus: { status: 'ACTIVE' as const } } : {}),
      };
    }),
  }));
  ecr.on(BatchGetImageCommand).callsFake((input) => {
    const imageDigest = input.imageIds?.[0]?.imageDigest;
    const manifest = imageDigest ? indexes.get(imageDigest) : undefined;
    const mediaType = manifest && (JSON.parse(manifest) as { mediaType: string }).mediaType;
    if (!manifest || !input.acceptedMediaTypes?.includes(mediaType)) {
      return {
        images: [],
        failures: [
          { imageId: input.imageIds?.[0], failureCode: 'ImageNotFound', failureReason: 'Requested image not found' },
        ],
      };
    }
    return {
      images: [
        {
          registryId: input.registryId,
          repositoryName: input.repositoryName,
          imageId: { imageDigest },
          imageManifest: manifest,
          imageManifestMediaType: mediaType,
        },
      ],
      failures: [],
    };
  });
  ecr.on(DescribeImageScanFindingsCommand).callsFake((input) => {
    const imageDigest = input.imageId?.imageDigest as string;
    const findings = enhanced.get(imageDigest);
    if (!findings) throw notFound(input);
    return {
      registryId: input.registryId,
      repositoryName: input.repositoryName,
      imageId: { imageDigest },
      imageScanStatus: { status: 'ACTIVE' },
      imageScanFindings: { enhancedFindings: findings },
    };
  });

  const event: FakeAws['event'] = (cluster, eventName, eventOptions = {}) => {
    const fake = find(cluster);
    const primary = fake.deployments.find((deployment) => deployment.status === 'PRIMARY');
    eventCounter += 1;
    return {
      version: '0',
      id: eventOptions.id ?? `0b0c${String(eventCounter).padStart(4, '0')}-b258-46c0-8653-e0e3a6c8d1f0`,
      'detail-type': 'ECS Deployment State Change',
      source: 'aws.ecs',
      account: ACCOUNT,
      time: eventOptions.updatedAt ?? '2026-11-23T10:05:00Z',
      region: REGION,
      resources: [serviceArn(fake.cluster, fake.name)],
      detail: {
        eventType: eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
        eventName,
        deploymentId: eventOptions.deploymentId ?? (primary?.id as string),
        updatedAt: eventOptions.updatedAt ?? '2026-11-23T10:05:00Z',
        ...(eventOptions.reason ? { reason: eventOptions.reason } : {}),
      },
    };
  };

  const rollBack: FakeAws['rollBack'] = (cluster, updatedAt) => {
    const fake = find(cluster);
    const [failing, previous] = fake.deployments;
    if (!failing || !previous) throw new Error('nothing to roll back');
    const failed = event(cluster, 'SERVICE_DEPLOYMENT_FAILED', {
      deploymentId: failing.id as string,
      updatedAt,
      reason: 'ECS deployment circuit breaker: tasks failed to start.',
    });
    failing.status = 'ACTIVE';
    failing.rolloutState = 'FAILED';
    failing.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
    const id = nextDeploymentId();
    fake.taskDefinition = previous.taskDefinition as string;
    fake.deployments.unshift({
      id,
      status: 'PRIMARY',
      taskDefinition: previous.taskDefinition,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${previous.id}.`,
    });
    const rollback = event(cluster, 'SERVICE_DEPLOYMENT_IN_PROGRESS', {
      deploymentId: id,
      updatedAt: new Date(Date.parse(updatedAt) + 1_000).toISOString().replace('.000Z', 'Z'),
      reason: `ECS deployment circuit breaker: rolling back to deploymentId ${previous.id}.`,
    });
    return { failed, rollback };
  };

  return {
    ecs,
    ecr,
    images,
    pushedAt,
    scans,
    enhanced,
    indexes,
    taskDefinitions,
    services,
    serviceDeployments,
    service: (cluster, name = 'backend') => {
      const fake = find(cluster);
      if (fake.name !== name) throw new Error(`no service ${name}`);
      return fake;
    },
    event,
    rollBack,
    restore: () => {
      ecs.restore();
      ecr.restore();
    },
  };
}
