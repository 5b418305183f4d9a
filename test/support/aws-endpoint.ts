import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One AWS-compatible endpoint on loopback for `npm start` (AWS_ENDPOINT_URL), as LocalStack
 * would be: ECS and ECR answered here from an in-memory model over the AWS JSON 1.1 protocol
 * (operation in X-Amz-Target, timestamps as epoch seconds, errors as `{__type, message}` with
 * status 400), DynamoDB (X-Amz-Target DynamoDB_*) forwarded to dynalite and S3 to s3rver.
 * Any other service is refused with 501, so a test sees exactly what was called.
 * Shapes follow the ECS and ECR API references (DescribeServices, UpdateService, …, DescribeImages).
 */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const ECS_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
const ECR_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';

type Json = Record<string, unknown>;

interface EcsDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  taskDefinition: string;
  desiredCount: number;
  pendingCount: number;
  runningCount: number;
  failedTasks: number;
  createdAt: number;
  updatedAt: number;
  launchType: 'FARGATE';
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason: string;
}

interface EcsService {
  cluster: string;
  name: string;
  taskDefinition: string;
  desiredCount: number;
  deploymentConfiguration: Json;
  deployments: EcsDeployment[];
  events: Array<{ id: string; createdAt: number; message: string }>;
  currentServiceDeployment?: string;
  createdAt: number;
}

interface StoppedTask {
  taskArn: string;
  cluster: string;
  service: string;
  taskDefinitionArn: string;
  stoppedReason: string;
  stopCode: string;
  stoppedAt: number;
  containers: Array<{ name: string; exitCode: number; reason?: string }>;
}

export interface AwsCall {
  target: string;
  body: Json;
}

export interface AwsEndpoint {
  url: string;
  /** Every ECS and ECR call answered here, in order. */
  calls: AwsCall[];
  /** tag → digest in the app's repository. */
  images: Map<string, string>;
  /** The PRIMARY ECS deployment of a service: what a deployment event names. */
  primaryDeploymentId(cluster: string, service?: string): string | undefined;
  /** A task of the service's current revision that stopped, as ListTasks/DescribeTasks then report it. */
  stopTask(cluster: string, reason: string, exitCode: number, service?: string): void;
  close(): Promise<void>;
}

const epoch = (date: Date | string = new Date()) => new Date(date).getTime() / 1000;
const serviceArn = (cluster: string, name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`;
const clusterArn = (cluster: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${cluster}`;
const clusterName = (cluster: unknown) =>
  String(cluster ?? 'default')
    .split('/')
    .at(-1) as string;

class AwsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function loadTaskDefinition(): { taskDefinition: Json; tags: Json[] } {
  const fixture = JSON.parse(readFileSync('test/fixtures/ecs/describe-task-definition.fargate.json', 'utf8'));
  const taskDefinition = { ...fixture.taskDefinition, registeredAt: epoch(fixture.taskDefinition.registeredAt) };
  return { taskDefinition, tags: fixture.tags ?? [] };
}

export async function startAwsEndpoint(options: {
  dynamodb: string;
  s3: string;
  repository?: string;
  clusters?: string[];
  service?: string;
}): Promise<AwsEndpoint> {
  const repositoryName = options.repository ?? 'shop-backend';
  const calls: AwsCall[] = [];
  const images = new Map<string, string>();
  const taskDefinitions = new Map<string, { taskDefinition: Json; tags: Json[] }>();
  const services = new Map<string, EcsService>();
  const stopped: StoppedTask[] = [];
  // ECS deployment ids are `ecs-svc/` and 19 digits: beyond a double's precision, so counted as a bigint.
  let deploymentCounter = 4815162342081516000n;
  const nextDeploymentId = () => {
    deploymentCounter += 1n;
    return `ecs-svc/${deploymentCounter}`;
  };

  const base = loadTaskDefinition();
  const baseArn = base.taskDefinition.taskDefinitionArn as string;
  taskDefinitions.set(baseArn, base);
  for (const cluster of options.clusters ?? ['shop-staging', 'shop-prod']) {
    const name = options.service ?? 'backend';
    const now = epoch();
    services.set(`${cluster}/${name}`, {
      cluster,
      name,
      taskDefinition: baseArn,
      desiredCount: 2,
      deploymentConfiguration: {
        deploymentCircuitBreaker: { enable: false, rollback: false },
        maximumPercent: 200,
        minimumHealthyPercent: 100,
      },
      deployments: [
        {
          id: nextDeploymentId(),
          status: 'PRIMARY',
          taskDefinition: baseArn,
          desiredCount: 2,
          pendingCount: 0,
          runningCount: 2,
          failedTasks: 0,
          createdAt: now,
          updatedAt: now,
          launchType: 'FARGATE',
          rolloutState: 'COMPLETED',
          rolloutStateReason: 'ECS deployment completed.',
        },
      ],
      events: [],
      createdAt: epoch('2026-03-02T10:15:22.480Z'),
    });
  }

  const findService = (cluster: unknown, name: unknown): EcsService | undefined =>
    services.get(
      `${clusterName(cluster)}/${String(name ?? '')
        .split('/')
        .at(-1)}`,
    );

  const describeService = (service: EcsService): Json => ({
    serviceArn: serviceArn(service.cluster, service.name),
    serviceName: service.name,
    clusterArn: clusterArn(service.cluster),
    status: 'ACTIVE',
    desiredCount: service.desiredCount,
    runningCount: service.desiredCount,
    pendingCount: 0,
    launchType: 'FARGATE',
    platformVersion: 'LATEST',
    taskDefinition: service.taskDefinition,
    deploymentConfiguration: service.deploymentConfiguration,
    deploymentController: { type: 'ECS' },
    deployments: service.deployments.map((deployment) => ({ ...deployment })),
    events: [...service.events],
    createdAt: service.createdAt,
    schedulingStrategy: 'REPLICA',
    ...(service.currentServiceDeployment ? { currentServiceDeployment: service.currentServiceDeployment } : {}),
  });

  const taskDefinitionOf = (reference: unknown) => {
    const wanted = String(reference ?? '');
    for (const [arn, found] of taskDefinitions) {
      const familyRevision = arn.slice(arn.lastIndexOf('/') + 1);
      if (arn === wanted || familyRevision === wanted) return found;
    }
    throw new AwsFault('ClientException', 'Unable to describe task definition.');
  };

  const ecs: Record<string, (input: Json) => Json> = {
    DescribeServices: (input) => {
      const names = (input.services as string[] | undefined) ?? [];
      const found = names.map((name) => findService(input.cluster, name));
      return {
        services: found.filter((service): service is EcsService => service !== undefined).map(describeService),
        failures: names
          .filter((_, index) => found[index] === undefined)
          .map((name) => ({ arn: serviceArn(clusterName(input.cluster), name), reason: 'MISSING' })),
      };
    },
    DescribeTaskDefinition: (input) => {
      const found = taskDefinitionOf(input.taskDefinition);
      const withTags = (input.include as string[] | undefined)?.includes('TAGS');
      return { taskDefinition: found.taskDefinition, ...(withTags ? { tags: found.tags } : {}) };
    },
    RegisterTaskDefinition: (input) => {
      const { tags, ...definition } = input;
      const family = String(definition.family);
      const revision =
        Math.max(
          0,
          ...[...taskDefinitions.values()]
            .filter((existing) => existing.taskDefinition.family === family)
            .map((existing) => Number(existing.taskDefinition.revision)),
        ) + 1;
      const taskDefinition = {
        ...definition,
        taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`,
        revision,
        status: 'ACTIVE',
        registeredAt: epoch(),
        registeredBy: `arn:aws:sts::${ACCOUNT}:assumed-role/slipway-local/slipway`,
      };
      const stored = { taskDefinition, tags: (tags as Json[] | undefined) ?? [] };
      taskDefinitions.set(taskDefinition.taskDefinitionArn, stored);
      return stored;
    },
    UpdateService: (input) => {
      const service = findService(input.cluster, input.service);
      if (!service) throw new AwsFault('ServiceNotFoundException', 'Service not found.');
      if (input.taskDefinition !== undefined) {
        service.taskDefinition = taskDefinitionOf(input.taskDefinition).taskDefinition.taskDefinitionArn as string;
      }
      if (typeof input.desiredCount === 'number') service.desiredCount = input.desiredCount;
      if (input.deploymentConfiguration) service.deploymentConfiguration = input.deploymentConfiguration as Json;
      if (input.taskDefinition !== undefined || input.forceNewDeployment === true) {
        const now = epoch();
        for (const deployment of service.deployments) deployment.status = 'ACTIVE';
        const id = nextDeploymentId();
        service.deployments.unshift({
          id,
          status: 'PRIMARY',
          taskDefinition: service.taskDefinition,
          desiredCount: service.desiredCount,
          pendingCount: 0,
          runningCount: 0,
          failedTasks: 0,
          createdAt: now,
          updatedAt: now,
          launchType: 'FARGATE',
          rolloutState: 'IN_PROGRESS',
          rolloutStateReason: `ECS deployment ${id} in progress.`,
        });
        service.currentServiceDeployment = `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/${service.cluster}/${service.name}/${id.split('/')[1]}`;
        service.events.unshift({
          id: randomUUID(),
          createdAt: now,
          message: `(service ${service.name}) has started 2 tasks: (task ${randomUUID().replace(/-/g, '')}).`,
        });
      }
      return { service: describeService(service) };
    },
    DescribeServiceDeployments: (input) => {
      const arns = (input.serviceDeploymentArns as string[] | undefined) ?? [];
      const serviceDeployments: Json[] = [];
      const failures: Json[] = [];
      for (const arn of arns) {
        const owner = [...services.values()].find((service) => service.currentServiceDeployment === arn);
        const primary = owner?.deployments.find((deployment) => deployment.status === 'PRIMARY');
        if (!owner || !primary) {
          failures.push({ arn, reason: 'MISSING', detail: 'The service deployment does not exist.' });
          continue;
        }
        serviceDeployments.push({
          serviceDeploymentArn: arn,
          serviceArn: serviceArn(owner.cluster, owner.name),
          clusterArn: clusterArn(owner.cluster),
          createdAt: primary.createdAt,
          startedAt: primary.createdAt,
          updatedAt: primary.updatedAt,
          targetServiceRevision: {
            arn: `${serviceArn(owner.cluster, owner.name)}/${primary.id.split('/')[1]}`,
            requestedTaskCount: primary.desiredCount,
            runningTaskCount: primary.runningCount,
            pendingTaskCount: primary.pendingCount,
          },
          status: primary.rolloutState === 'COMPLETED' ? 'SUCCESSFUL' : 'IN_PROGRESS',
          deploymentConfiguration: owner.deploymentConfiguration,
        });
      }
      return { serviceDeployments, failures };
    },
    ListTasks: (input) => {
      const wanted = input.desiredStatus === 'STOPPED';
      return {
        taskArns: wanted
          ? stopped
              .filter(
                (task) =>
                  task.cluster === clusterName(input.cluster) &&
                  (input.serviceName === undefined || task.service === input.serviceName),
              )
              .map((task) => task.taskArn)
          : [],
      };
    },
    DescribeTasks: (input) => {
      const arns = (input.tasks as string[] | undefined) ?? [];
      const found = arns.map((arn) => stopped.find((task) => task.taskArn === arn));
      return {
        tasks: found
          .filter((task): task is StoppedTask => task !== undefined)
          .map((task) => ({
            taskArn: task.taskArn,
            clusterArn: clusterArn(task.cluster),
            taskDefinitionArn: task.taskDefinitionArn,
            group: `service:${task.service}`,
            lastStatus: 'STOPPED',
            desiredStatus: 'STOPPED',
            launchType: 'FARGATE',
            stopCode: task.stopCode,
            stoppedReason: task.stoppedReason,
            stoppedAt: task.stoppedAt,
            containers: task.containers.map((container) => ({
              name: container.name,
              lastStatus: 'STOPPED',
              exitCode: container.exitCode,
              ...(container.reason ? { reason: container.reason } : {}),
            })),
          })),
        failures: arns.filter((_, index) => found[index] === undefined).map((arn) => ({ arn, reason: 'MISSING' })),
      };
    },
    DeregisterTaskDefinition: (input) => {
      const found = taskDefinitionOf(input.taskDefinition);
      found.taskDefinition = { ...found.taskDefinition, status: 'INACTIVE', deregisteredAt: epoch() };
      return { taskDefinition: found.taskDefinition };
    },
  };

  const ecr: Record<string, (input: Json) => Json> = {
    DescribeImages: (input) => {
      if (input.repositoryName !== repositoryName) {
        throw new AwsFault(
          'RepositoryNotFoundException',
          `The repository with name '${String(input.repositoryName)}' does not exist in the registry with id '${String(input.registryId ?? ACCOUNT)}'`,
        );
      }
      const ids = (input.imageIds as Array<{ imageTag?: string; imageDigest?: string }> | undefined) ?? [];
      const details = ids.map((id) => {
        const digest = id.imageTag !== undefined ? images.get(id.imageTag) : id.imageDigest;
        if (!digest || ![...images.values()].includes(digest)) {
          throw new AwsFault(
            'ImageNotFoundException',
            `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repositoryName}' in the registry with id '${String(input.registryId ?? ACCOUNT)}'`,
          );
        }
        return {
          registryId: input.registryId ?? ACCOUNT,
          repositoryName,
          imageDigest: digest,
          imageTags: [...images.entries()].filter(([, other]) => other === digest).map(([tag]) => tag),
          imageSizeInBytes: 52_428_800,
          imagePushedAt: epoch('2026-11-20T12:00:00Z'),
          imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
          artifactMediaType: 'application/vnd.oci.image.config.v1+json',
        };
      });
      return { imageDetails: details };
    },
  };

  const answer = (outgoing: ServerResponse, status: number, body: Json, type?: string) => {
    outgoing.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
      ...(type ? { 'x-amzn-errortype': type } : {}),
    });
    outgoing.end(JSON.stringify(body));
  };

  const serveJson = (incoming: IncomingMessage, outgoing: ServerResponse, target: string) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const operations = target.startsWith(ECS_PREFIX) ? ecs : ecr;
      const operation = target.slice(target.indexOf('.') + 1);
      const handler = operations[operation];
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const input = (text ? JSON.parse(text) : {}) as Json;
        calls.push({ target, body: input });
        if (!handler) throw new AwsFault('UnknownOperationException', `${target} is not served here`);
        answer(outgoing, 200, handler(input));
      } catch (error) {
        const fault =
          error instanceof AwsFault ? error : new AwsFault('ServerException', (error as Error).message, 500);
        answer(outgoing, fault.status, { __type: fault.type, message: fault.message }, fault.type);
      }
    });
  };

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse, upstreamUrl: string) => {
    const upstream = new URL(upstreamUrl);
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  };

  const server: Server = createServer((incoming, outgoing) => {
    const target = String(incoming.headers['x-amz-target'] ?? '');
    if (target.startsWith(ECS_PREFIX) || target.startsWith(ECR_PREFIX)) return serveJson(incoming, outgoing, target);
    if (target.startsWith('DynamoDB_')) return forward(incoming, outgoing, options.dynamodb);
    if (target) {
      incoming.resume();
      return answer(outgoing, 501, { __type: 'NotImplemented', message: `${target} is not served here` });
    }
    return forward(incoming, outgoing, options.s3);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    images,
    primaryDeploymentId: (cluster, service = options.service ?? 'backend') =>
      services.get(`${cluster}/${service}`)?.deployments.find((deployment) => deployment.status === 'PRIMARY')?.id,
    stopTask: (cluster, reason, exitCode, name = options.service ?? 'backend') => {
      const service = services.get(`${cluster}/${name}`);
      if (!service) throw new Error(`no service ${cluster}/${name}`);
      const id = randomUUID().replace(/-/g, '');
      stopped.push({
        taskArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${id}`,
        cluster,
        service: name,
        taskDefinitionArn: service.taskDefinition,
        stoppedReason: reason,
        stopCode: 'EssentialContainerExited',
        stoppedAt: epoch(),
        containers: [{ name: 'backend', exitCode }],
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
