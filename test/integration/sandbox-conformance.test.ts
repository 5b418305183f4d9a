import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  CopyDBSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  CreateDBSubnetGroupCommand,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { parseConfig } from '../../lib/config/load';
import { ManualClock, type Sandbox, startSandbox } from '../../lib/sandbox';
import { answerOf, missingShape } from '../support/answer-shapes';
import { motoEndpoint, resetMoto } from '../support/moto';
import {
  ACCOUNT,
  createNetwork,
  createRepository,
  DEFAULT_DEPLOYMENT_CONFIGURATION,
  ec2Client,
  fixtureRegistration,
  type Network,
  pushImage,
  REGION,
} from '../support/moto-aws';

/**
 * The sandbox answers what moto answers. The same request sequences (a Fargate service created and
 * updated to a new revision, images pushed and described, an RDS instance snapshotted and restored, and
 * the errors each service answers for what does not exist) run through the SDK's clients against moto's
 * server and against the sandbox; every key moto answers, at any depth, the sandbox answers with a value
 * of the same type, and deterministic values are equal. Where moto is wrong per AWS's own documents the
 * test names the document and holds the sandbox to AWS instead (MOTO_IS_WRONG): a short list, each entry
 * checked, never a skip.
 */

/**
 * moto 5.2.1 makes an instance "available" at once, so it answers what RDS answers only later: RDS answers a
 * new instance "creating", with no endpoint yet ("The endpoint might not be shown for instances with the
 * status of creating", RDS API Reference, DBInstance) and no point in time to restore to before its first
 * backup (DBInstance: LatestRestorableTime).
 */
const CREATING_INSTANCE = ['DBInstance.Endpoint', 'DBInstance.LatestRestorableTime'];

/** Keys moto answers that AWS does not, each with the document that says so. */
const MOTO_IS_WRONG: Record<string, string> = {
  'service.taskSets':
    'ECS API Reference, Service: taskSets "are only returned when a service uses the CODE_DEPLOY or EXTERNAL deployment controller"',
  'services[].taskSets': 'the same, in DescribeServices',
  'service.tags':
    'ECS API Reference, DescribeServices: include TAGS, "If this field is omitted, tags aren\'t included in the response"',
};

interface Side {
  name: 'moto' | 'sandbox';
  ecs: ECSClient;
  ecr: ECRClient;
  rds: RDSClient;
  network: Network;
}

const clock = new ManualClock(Date.parse('2026-11-20T09:00:00Z'));
let sandbox: Sandbox;
let stateDir: string;
let moto: Side;
let sim: Side;

/** Runs the same request on both; compares moto's answer's shape with the sandbox's, and returns both. */
async function both<T extends object>(request: (side: Side) => Promise<T>, skip: string[] = []) {
  const [fromMoto, fromSandbox] = [answerOf(await request(moto)), answerOf(await request(sim))];
  const gaps = missingShape(fromMoto, fromSandbox).filter(
    (gap) =>
      !skip.some((path) => gap.startsWith(`${path}:`)) &&
      !Object.keys(MOTO_IS_WRONG).some((path) => gap.startsWith(`${path}:`)),
  );
  expect(gaps).toEqual([]);
  return { moto: fromMoto, sandbox: fromSandbox };
}

/** The error each answers, by name: the same on both. */
async function bothRefuse(request: (side: Side) => Promise<unknown>): Promise<string> {
  const names = await Promise.all(
    [moto, sim].map((side) =>
      request(side).then(
        () => `${side.name} accepted`,
        (error: Error) => error.name,
      ),
    ),
  );
  expect(names[1]).toBe(names[0]);
  return names[0] as string;
}

/** Whether an answer has a key at all (a key AWS leaves out is absent, not undefined). */
function hasOwn(value: unknown, key: string) {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, key);
}

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  const motoEnv = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION };
  moto = {
    name: 'moto',
    ecs: createEcsClient(motoEnv),
    ecr: createEcrClient(motoEnv),
    rds: createRdsClient(motoEnv),
    network: await createNetwork(ec2Client(motoEnv), 'conformance'),
  };
  // An empty account: a config with no apps seeds only the network RDS needs.
  stateDir = await mkdtemp(join(tmpdir(), 'slipway-sandbox-conformance-'));
  sandbox = await startSandbox({
    stateDir,
    config: parseConfig('auth:\n  tokensSecret: slipway/api-tokens\n', 'conformance.yml'),
    stage: 'conformance',
    rules: [],
    deliver: async () => undefined,
    clock,
    healthPort: 0,
  });
  const sandboxEnv = { AWS_ENDPOINT_URL: sandbox.endpoint, AWS_REGION: REGION };
  sim = {
    name: 'sandbox',
    ecs: createEcsClient(sandboxEnv),
    ecr: createEcrClient(sandboxEnv),
    rds: createRdsClient(sandboxEnv),
    network: {
      vpcId: 'vpc-0a11ce5a4db0c0de1',
      subnetIds: ['subnet-0a11ce5a4db0c0da1', 'subnet-0a11ce5a4db0c0db1'],
      securityGroupId: 'sg-0a11ce5a4db0c0de3',
    },
  };
});

afterAll(async () => {
  await sandbox?.close();
  await rm(stateDir, { recursive: true, force: true });
});

const REPOSITORY = 'shop-backend';
const imageOf = (digest: string) => `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${REPOSITORY}@${digest}`;
const digests: Record<Side['name'], string[]> = { moto: [], sandbox: [] };

describe('ECR, on moto and in the sandbox', () => {
  it('pushes images whose digest is the SHA-256 of the manifest, and describes them by tag', async () => {
    // Given a repository scanning on push, and two images pushed as docker push ends (PutImage)
    await both((side) => createRepository(side.ecr, REPOSITORY).then(() => ({})));
    for (const side of [moto, sim]) {
      digests[side.name].push(await pushImage(side.ecr, REPOSITORY, 'develop-1', 'first'));
      digests[side.name].push(await pushImage(side.ecr, REPOSITORY, 'develop-2', 'second'));
    }
    // The manifests are the same bytes, so the digests are the same
    expect(digests.sandbox).toEqual(digests.moto);

    // When the tag is described
    const described = await both((side) =>
      side.ecr.send(new DescribeImagesCommand({ repositoryName: REPOSITORY, imageIds: [{ imageTag: 'develop-2' }] })),
    );

    // Then both name the same image under the same tag
    for (const answer of [described.moto, described.sandbox]) {
      expect(answer.imageDetails?.[0]).toMatchObject({
        registryId: ACCOUNT,
        repositoryName: REPOSITORY,
        imageDigest: digests.moto[1],
        imageTags: ['develop-2'],
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      });
    }
  });

  it('reads a manifest back with BatchGetImage', async () => {
    const read = await both((side) =>
      side.ecr.send(new BatchGetImageCommand({ repositoryName: REPOSITORY, imageIds: [{ imageTag: 'develop-1' }] })),
    );
    expect(read.sandbox.images?.[0]?.imageManifest).toBe(read.moto.images?.[0]?.imageManifest);
    expect(read.sandbox.failures).toEqual([]);
  });

  it('scans on push, where moto does not', async () => {
    // moto 5.2.1 starts no scan on push: DescribeImageScanFindings answers ScanNotFoundException. ECR does
    // ("Scan images for software vulnerabilities in Amazon ECR", ECR User Guide: scan on push), and the sandbox does.
    await expect(
      moto.ecr.send(
        new DescribeImageScanFindingsCommand({ repositoryName: REPOSITORY, imageId: { imageTag: 'develop-1' } }),
      ),
    ).rejects.toHaveProperty('name', 'ScanNotFoundException');
    clock.advance(5_000);
    await sandbox.advance();
    const scanned = await sim.ecr.send(
      new DescribeImageScanFindingsCommand({ repositoryName: REPOSITORY, imageId: { imageTag: 'develop-1' } }),
    );
    expect(scanned.imageScanStatus?.status).toBe('COMPLETE');
    expect(scanned.imageScanFindings?.findingSeverityCounts).toEqual({});
  });

  it.each([
    ['a tag no image has', { repositoryName: REPOSITORY, imageIds: [{ imageTag: 'nope' }] }, 'ImageNotFoundException'],
    [
      'a repository that does not exist',
      { repositoryName: 'nope', imageIds: [{ imageTag: 'x' }] },
      'RepositoryNotFoundException',
    ],
  ])('refuses to describe %s alike', async (_what, input, error) => {
    expect(await bothRefuse((side) => side.ecr.send(new DescribeImagesCommand(input)))).toBe(error);
  });
});

describe('ECS, on moto and in the sandbox', () => {
  const arns: Record<Side['name'], string> = { moto: '', sandbox: '' };

  it('registers and describes a task definition with its tags', async () => {
    const registered = await both(async (side) => {
      const answer = await side.ecs.send(
        new RegisterTaskDefinitionCommand(fixtureRegistration(imageOf(digests[side.name][0] as string))),
      );
      arns[side.name] = answer.taskDefinition?.taskDefinitionArn as string;
      return answer;
    });
    expect(registered.sandbox.taskDefinition?.taskDefinitionArn).toBe(
      registered.moto.taskDefinition?.taskDefinitionArn,
    );
    expect(registered.sandbox.taskDefinition).toMatchObject({ revision: 1, status: 'ACTIVE', family: 'shop-backend' });
    // moto 5.2.1 answers RegisterTaskDefinition without the tags; ECS answers them (ECS API Reference, RegisterTaskDefinition: Response Elements, tags)
    expect(registered.moto.tags).toBeUndefined();
    expect(registered.sandbox.tags).toEqual(fixtureRegistration('x').tags);
    // ECS also answers when and by whom it was registered (ECS API Reference, TaskDefinition), which moto leaves out
    expect(hasOwn(registered.moto.taskDefinition, 'registeredAt')).toBe(false);
    expect(registered.sandbox.taskDefinition?.registeredAt).toBeInstanceOf(Date);

    const described = await both((side) =>
      side.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'shop-backend:1', include: ['TAGS'] })),
    );
    expect(described.sandbox.taskDefinition?.containerDefinitions).toEqual(
      described.moto.taskDefinition?.containerDefinitions,
    );
    expect(described.sandbox.tags).toEqual(described.moto.tags);
  });

  it('creates a Fargate service that reports its first deployment', async () => {
    await both((side) => side.ecs.send(new CreateClusterCommand({ clusterName: 'shop-staging' })));
    const created = await both((side) =>
      side.ecs.send(
        new CreateServiceCommand({
          cluster: 'shop-staging',
          serviceName: 'backend',
          taskDefinition: arns[side.name],
          desiredCount: 2,
          launchType: 'FARGATE',
          deploymentConfiguration: DEFAULT_DEPLOYMENT_CONFIGURATION,
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: side.network.subnetIds,
              securityGroups: [side.network.securityGroupId],
              assignPublicIp: 'DISABLED',
            },
          },
        }),
      ),
    );
    for (const answer of [created.moto, created.sandbox]) {
      expect(answer.service).toMatchObject({
        serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/shop-staging/backend`,
        status: 'ACTIVE',
        desiredCount: 2,
        taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/shop-backend:1`,
        deploymentController: { type: 'ECS' },
      });
      expect(answer.service?.deployments?.map((deployment) => [deployment.status, deployment.rolloutState])).toEqual([
        ['PRIMARY', 'IN_PROGRESS'],
      ]);
    }
    // moto 5.2.1 drops CreateService's deploymentConfiguration; ECS keeps it (ECS API Reference, Service)
    expect(created.moto.service?.deploymentConfiguration).toBeUndefined();
    expect(created.sandbox.service?.deploymentConfiguration).toEqual(DEFAULT_DEPLOYMENT_CONFIGURATION);
    await both((side) => side.ecs.send(new ListClustersCommand({})));
  });

  it('starts a new PRIMARY deployment of the full revision ARN on UpdateService, where moto starts none', async () => {
    // Given a second revision
    await both((side) =>
      side.ecs.send(new RegisterTaskDefinitionCommand(fixtureRegistration(imageOf(digests[side.name][1] as string)))),
    );
    const before = await both((side) =>
      side.ecs.send(new DescribeServicesCommand({ cluster: 'shop-staging', services: ['backend'] })),
    );

    // When the service is updated to it by family:revision, with the circuit breaker
    const updated = await both((side) =>
      side.ecs.send(
        new UpdateServiceCommand({
          cluster: 'shop-staging',
          service: 'backend',
          taskDefinition: 'shop-backend:2',
          deploymentConfiguration: {
            ...DEFAULT_DEPLOYMENT_CONFIGURATION,
            deploymentCircuitBreaker: { enable: true, rollback: true },
          },
        }),
      ),
    );

    // Then moto echoes the reference as given and keeps the old deployment PRIMARY (moto 5.2.1), where ECS
    // answers the revision's ARN and starts a new PRIMARY deployment, the previous one ACTIVE (ECS API
    // Reference, UpdateService: "a new deployment is triggered"; Deployment: status PRIMARY, ACTIVE)
    const previous = before.sandbox.services?.[0]?.deployments?.[0]?.id;
    expect(updated.moto.service?.taskDefinition).toBe('shop-backend:2');
    expect(updated.moto.service?.deployments?.map((deployment) => deployment.id)).toEqual([
      before.moto.services?.[0]?.deployments?.[0]?.id,
    ]);
    expect(updated.sandbox.service?.taskDefinition).toBe(
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/shop-backend:2`,
    );
    expect(
      updated.sandbox.service?.deployments?.map((deployment) => [deployment.status, deployment.rolloutState]),
    ).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'IN_PROGRESS'],
    ]);
    expect(updated.sandbox.service?.deployments?.[1]?.id).toBe(previous);
    expect(updated.sandbox.service?.currentServiceDeployment).toMatch(
      new RegExp(`^arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/shop-staging/backend/\\w+$`),
    );
    // moto answers the service's tags, which AWS answers only when asked to include them (MOTO_IS_WRONG)
    expect(hasOwn(updated.moto.service, 'tags')).toBe(true);
    expect(hasOwn(updated.sandbox.service, 'tags')).toBe(false);
    expect(updated.sandbox.service?.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({
      enable: true,
      rollback: true,
    });
  });

  it('reports service deployments, which moto does not serve', async () => {
    const { services } = await sim.ecs.send(
      new DescribeServicesCommand({ cluster: 'shop-staging', services: ['backend'] }),
    );
    const arn = services?.[0]?.currentServiceDeployment as string;
    // moto 5.2.1 has no DescribeServiceDeployments; ECS does (ECS API Reference, DescribeServiceDeployments)
    await expect(
      moto.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })),
    ).rejects.toThrow();
    const { serviceDeployments, failures } = await sim.ecs.send(
      new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }),
    );
    expect(failures).toEqual([]);
    expect(serviceDeployments?.[0]).toMatchObject({ serviceDeploymentArn: arn, status: 'IN_PROGRESS' });
  });

  it('describes the service as it now is, leaving out what AWS leaves out', async () => {
    const described = await both((side) =>
      side.ecs.send(new DescribeServicesCommand({ cluster: 'shop-staging', services: ['backend', 'nope'] })),
    );
    for (const answer of [described.moto, described.sandbox]) {
      expect(answer.failures).toEqual([{ arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/nope`, reason: 'MISSING' }]);
    }
    // moto answers taskSets, which AWS answers for CODE_DEPLOY and EXTERNAL services only (MOTO_IS_WRONG)
    expect(hasOwn(described.moto.services?.[0], 'taskSets')).toBe(true);
    expect(hasOwn(described.sandbox.services?.[0], 'taskSets')).toBe(false);
  });

  it('deregisters a revision, which stays describable as INACTIVE', async () => {
    const deregistered = await both((side) =>
      side.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'shop-backend:1' })),
    );
    expect(deregistered.sandbox.taskDefinition?.status).toBe('INACTIVE');
    expect(deregistered.moto.taskDefinition?.status).toBe('INACTIVE');
  });

  it.each([
    [
      'a service of a cluster that does not exist',
      (side: Side) => side.ecs.send(new DescribeServicesCommand({ cluster: 'nope', services: ['backend'] })),
    ],
    [
      'a task definition that does not exist',
      (side: Side) => side.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nope:1' })),
    ],
    [
      'an update of a service that does not exist',
      (side: Side) =>
        side.ecs.send(new UpdateServiceCommand({ cluster: 'shop-staging', service: 'nope', desiredCount: 1 })),
    ],
  ])('refuses %s alike', async (_what, request) => {
    expect(await bothRefuse(request)).toMatch(/Exception$/);
  });
});

describe('RDS, on moto and in the sandbox', () => {
  it('creates an instance in a DB subnet group', async () => {
    await both((side) =>
      side.rds.send(
        new CreateDBSubnetGroupCommand({
          DBSubnetGroupName: 'shop-db-subnets',
          DBSubnetGroupDescription: 'shop database subnets',
          SubnetIds: side.network.subnetIds,
        }),
      ),
    );
    const created = await both(
      (side) =>
        side.rds.send(
          new CreateDBInstanceCommand({
            DBInstanceIdentifier: 'shop-db',
            Engine: 'postgres',
            EngineVersion: '16.4',
            DBInstanceClass: 'db.t4g.medium',
            AllocatedStorage: 50,
            StorageType: 'gp3',
            MasterUsername: 'shop',
            ManageMasterUserPassword: true,
            DBSubnetGroupName: 'shop-db-subnets',
            VpcSecurityGroupIds: [side.network.securityGroupId],
            BackupRetentionPeriod: 7,
            Tags: [{ Key: 'app', Value: 'shop' }],
          }),
        ),
      CREATING_INSTANCE,
    );
    expect(created.moto.DBInstance?.DBInstanceStatus).toBe('available');
    expect(created.sandbox.DBInstance?.DBInstanceStatus).toBe('creating');
    for (const answer of [created.moto, created.sandbox]) {
      expect(answer.DBInstance).toMatchObject({
        DBInstanceIdentifier: 'shop-db',
        Engine: 'postgres',
        DBInstanceClass: 'db.t4g.medium',
        AllocatedStorage: 50,
        StorageType: 'gp3',
        DBInstanceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:shop-db`,
        TagList: [{ Key: 'app', Value: 'shop' }],
      });
    }
    clock.advance(10_000);
    await sandbox.advance();
    const described = await both((side) =>
      side.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'shop-db' })),
    );
    expect(described.sandbox.DBInstances?.[0]?.DBInstanceStatus).toBe('available');
    expect(described.sandbox.DBInstances?.[0]?.DBSubnetGroup?.VpcId).toBe(sim.network.vpcId);
  });

  it('takes a manual snapshot that is creating until RDS has it, where moto has it at once', async () => {
    const taken = await both((side) =>
      side.rds.send(
        new CreateDBSnapshotCommand({
          DBSnapshotIdentifier: 'slipway-shop-db-202611200900',
          DBInstanceIdentifier: 'shop-db',
          Tags: [{ Key: 'slipway:database', Value: 'shop-db' }],
        }),
      ),
    );
    // moto 5.2.1 answers "available"; RDS answers "creating" until the snapshot is done (RDS User Guide, "Creating a DB snapshot")
    expect(taken.moto.DBSnapshot?.Status).toBe('available');
    expect(taken.sandbox.DBSnapshot?.Status).toBe('creating');
    for (const answer of [taken.moto, taken.sandbox]) {
      expect(answer.DBSnapshot).toMatchObject({
        DBSnapshotArn: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:slipway-shop-db-202611200900`,
        DBInstanceIdentifier: 'shop-db',
        SnapshotType: 'manual',
        TagList: [{ Key: 'slipway:database', Value: 'shop-db' }],
      });
    }
    clock.advance(10_000);
    await sandbox.advance();
    const described = await both((side) =>
      side.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'slipway-shop-db-202611200900' })),
    );
    expect(described.sandbox.DBSnapshots?.[0]?.Status).toBe('available');
    await both((side) => side.rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' })));
  });

  it('restores the snapshot into a new instance in the subnet group asked for', async () => {
    const restored = await both(
      (side) =>
        side.rds.send(
          new RestoreDBInstanceFromDBSnapshotCommand({
            DBInstanceIdentifier: 'shop-restored',
            DBSnapshotIdentifier: 'slipway-shop-db-202611200900',
            DBInstanceClass: 'db.t4g.medium',
            DBSubnetGroupName: 'shop-db-subnets',
            VpcSecurityGroupIds: [side.network.securityGroupId],
            Tags: [{ Key: 'slipway:restore-of', Value: 'shop-db' }],
          }),
        ),
      CREATING_INSTANCE,
    );
    for (const [side, answer] of [
      [moto, restored.moto],
      [sim, restored.sandbox],
    ] as const) {
      expect(answer.DBInstance?.DBSubnetGroup?.DBSubnetGroupName).toBe('shop-db-subnets');
      expect(answer.DBInstance?.DBSubnetGroup?.VpcId).toBe(side.network.vpcId);
      expect(answer.DBInstance?.VpcSecurityGroups?.map((group) => group.VpcSecurityGroupId)).toEqual([
        side.network.securityGroupId,
      ]);
      expect(answer.DBInstance).toMatchObject({ Engine: 'postgres', AllocatedStorage: 50, StorageType: 'gp3' });
    }
  });

  it('restores to a point in time of the source', async () => {
    const restored = await both(
      (side) =>
        side.rds.send(
          new RestoreDBInstanceToPointInTimeCommand({
            SourceDBInstanceIdentifier: 'shop-db',
            TargetDBInstanceIdentifier: 'shop-pitr',
            UseLatestRestorableTime: true,
            DBSubnetGroupName: 'shop-db-subnets',
          }),
        ),
      // moto 5.2.1 also calls the restored instance a read replica of its source; it is none ("The identifier of the
      // source DB instance if this DB instance is a read replica", RDS API Reference, DBInstance: ReadReplicaSourceDBInstanceIdentifier)
      [...CREATING_INSTANCE, 'DBInstance.ReadReplicaSourceDBInstanceIdentifier'],
    );
    expect(restored.moto.DBInstance?.ReadReplicaSourceDBInstanceIdentifier).toBe('shop-db');
    expect(restored.sandbox.DBInstance?.ReadReplicaSourceDBInstanceIdentifier).toBeUndefined();
    expect(restored.sandbox.DBInstance?.DBSubnetGroup?.DBSubnetGroupName).toBe('shop-db-subnets');
  });

  it('copies a snapshot within the region', async () => {
    const copied = await both((side) =>
      side.rds.send(
        new CopyDBSnapshotCommand({
          SourceDBSnapshotIdentifier: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:slipway-shop-db-202611200900`,
          TargetDBSnapshotIdentifier: 'slipway-shop-db-copy',
          CopyTags: true,
        }),
      ),
    );
    expect(copied.sandbox.DBSnapshot?.TagList).toEqual(copied.moto.DBSnapshot?.TagList);
  });

  it('deletes a drill instance and a snapshot', async () => {
    clock.advance(10_000);
    await sandbox.advance();
    await both((side) =>
      side.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop-restored', SkipFinalSnapshot: true })),
    );
    await both((side) => side.rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'slipway-shop-db-copy' })));
  });

  it.each([
    [
      'an instance that does not exist',
      (side: Side) => side.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'nope' })),
    ],
    [
      'a snapshot that does not exist',
      (side: Side) => side.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'nope' })),
    ],
    [
      'a restore into an identifier in use',
      (side: Side) =>
        side.rds.send(
          new RestoreDBInstanceFromDBSnapshotCommand({
            DBInstanceIdentifier: 'shop-db',
            DBSnapshotIdentifier: 'slipway-shop-db-202611200900',
          }),
        ),
    ],
  ])('refuses %s alike', async (_what, request) => {
    expect(await bothRefuse(request)).toMatch(/Fault$/);
  });
});
