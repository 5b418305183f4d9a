import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateRepositoryCommand, type ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Tag,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateDBInstanceCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { clientConfig } from '../../lib/aws/client-config';
import { createStsClient } from '../../lib/aws/clients/sts';
import type { Env } from '../../lib/aws/endpoints';
import { DESCRIBE_ONLY_FIELDS } from '../../lib/deploy/task-definition';
import { ACCOUNT, type EcsDeploymentEventName, ecsDeploymentStateChange, eventTime, REGION } from './aws-events';

/**
 * AWS seeded through its own API, on moto: what an account holds before Slipway is pointed at it,
 * and the EventBridge events AWS would send, built from what the service itself then reports.
 */

export { ACCOUNT, REGION };

/**
 * A session on `roleArn` from moto's STS, which puts it in the role's account: as Lambda gives a function its role's,
 * or as an operator seeds a member account (`as` another session).
 */
export async function sessionOn(
  env: Env,
  roleArn: string,
  name: string,
  as?: AwsCredentialIdentity,
): Promise<AwsCredentialIdentity> {
  const { Credentials } = await createStsClient(env, as).send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: name }),
  );
  return {
    accessKeyId: Credentials?.AccessKeyId as string,
    secretAccessKey: Credentials?.SecretAccessKey as string,
    sessionToken: Credentials?.SessionToken as string,
  };
}

/** moto serves every service on one endpoint; EC2 only seeds the network, so it is not in Slipway's factory. */
export function ec2Client(env: Env): EC2Client {
  return new EC2Client(clientConfig('ecs', env));
}

export interface Network {
  vpcId: string;
  subnetIds: string[];
  securityGroupId: string;
}

/** A VPC with two subnets in two zones and a security group: what a Fargate service and an RDS subnet group sit in. */
export async function createNetwork(ec2: EC2Client, name: string, region = REGION): Promise<Network> {
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const vpcId = Vpc?.VpcId as string;
  const subnetIds: string[] = [];
  for (const [index, zone] of [`${region}a`, `${region}b`].entries()) {
    const { Subnet } = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.20.${index + 1}.0/24`, AvailabilityZone: zone }),
    );
    subnetIds.push(Subnet?.SubnetId as string);
  }
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: name, Description: `${name} (Slipway tests)` }),
  );
  return { vpcId, subnetIds, securityGroupId: GroupId as string };
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * Pushes an image manifest under a tag, as `docker push` ends. ECR's digest is the SHA-256 of the
 * manifest's bytes: PutImage takes it as imageDigest, "the image digest of the image manifest", and answers
 * ImageDigestDoesNotMatchException when it is not what ECR calculated (ECR API Reference, PutImage). moto
 * 5.2.1 instead hashes the layers' digests joined, so the real digest is passed; AWS accepts the same call.
 */
export async function pushImage(ecr: ECRClient, repositoryName: string, tag: string, seed: string): Promise<string> {
  const config = JSON.stringify({ architecture: 'arm64', os: 'linux', config: { Labels: { seed } } });
  const layer = `layer of ${seed}`;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: `sha256:${createHash('sha256').update(config).digest('hex')}`,
      size: Buffer.byteLength(config),
    },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: `sha256:${createHash('sha256').update(layer).digest('hex')}`,
        size: Buffer.byteLength(layer),
      },
    ],
  });
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const { image } = await ecr.send(
    new PutImageCommand({
      repositoryName,
      imageManifest: manifest,
      imageManifestMediaType: OCI_MANIFEST,
      imageTag: tag,
      imageDigest: digest,
    }),
  );
  if (image?.imageId?.imageDigest !== digest) {
    throw new Error(`ECR stored ${tag} as ${image?.imageId?.imageDigest}, not the manifest's digest ${digest}`);
  }
  return digest;
}

export async function createRepository(ecr: ECRClient, repositoryName: string): Promise<void> {
  await ecr.send(new CreateRepositoryCommand({ repositoryName, imageScanningConfiguration: { scanOnPush: true } }));
}

/** The running revision of test/fixtures/ecs (roles, secrets, log configuration, health check, ...) as it was registered. */
export function fixtureRegistration(image: string): RegisterTaskDefinitionCommandInput {
  const fixture = JSON.parse(readFileSync('test/fixtures/ecs/describe-task-definition.fargate.json', 'utf8')) as {
    taskDefinition: TaskDefinition;
    tags: Tag[];
  };
  const registration: Record<string, unknown> = { ...fixture.taskDefinition };
  for (const field of DESCRIBE_ONLY_FIELDS) delete registration[field];
  const containerDefinitions = (fixture.taskDefinition.containerDefinitions ?? []).map((definition) =>
    definition.name === 'backend' ? { ...definition, image } : definition,
  );
  return {
    ...(registration as unknown as RegisterTaskDefinitionCommandInput),
    containerDefinitions,
    tags: fixture.tags,
  };
}

/** The deployment settings ECS gives a service that names none (ECS API Reference, DeploymentConfiguration). */
export const DEFAULT_DEPLOYMENT_CONFIGURATION = {
  deploymentCircuitBreaker: { enable: false, rollback: false },
  maximumPercent: 200,
  minimumHealthyPercent: 100,
};

/** A cluster and a Fargate service running a revision, in the network's subnets and security group. */
export async function createService(
  ecs: ECSClient,
  options: { cluster: string; service: string; taskDefinitionArn: string; network: Network },
): Promise<void> {
  await ecs.send(new CreateClusterCommand({ clusterName: options.cluster }));
  await ecs.send(
    new CreateServiceCommand({
      cluster: options.cluster,
      serviceName: options.service,
      taskDefinition: options.taskDefinitionArn,
      desiredCount: 2,
      launchType: 'FARGATE',
      deploymentConfiguration: DEFAULT_DEPLOYMENT_CONFIGURATION,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: options.network.subnetIds,
          securityGroups: [options.network.securityGroupId],
          assignPublicIp: 'DISABLED',
        },
      },
    }),
  );
  // moto 5.2.1 drops CreateService's deploymentConfiguration (DescribeServices then has none, where ECS reports
  // the service's settings, defaults included: ECS API Reference, Service.deploymentConfiguration). It keeps what
  // UpdateService sets, so the same settings are set again that way; on ECS this call changes nothing.
  await ecs.send(
    new UpdateServiceCommand({
      cluster: options.cluster,
      service: options.service,
      deploymentConfiguration: DEFAULT_DEPLOYMENT_CONFIGURATION,
    }),
  );
}

export async function registerTaskDefinition(
  ecs: ECSClient,
  registration: RegisterTaskDefinitionCommandInput,
): Promise<string> {
  const { taskDefinition } = await ecs.send(new RegisterTaskDefinitionCommand(registration));
  return taskDefinition?.taskDefinitionArn as string;
}

/** The event ECS sends for the service's PRIMARY deployment, built from what DescribeServices reports now: moto emits no events. */
export async function ecsDeploymentEvent(
  ecs: ECSClient,
  cluster: string,
  service: string,
  eventName: EcsDeploymentEventName,
  options: { account?: string } = {},
) {
  const { services } = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const described = services?.[0];
  const primary = described?.deployments?.find((deployment) => deployment.status === 'PRIMARY');
  if (!described?.serviceArn || !primary?.id)
    throw new Error(`ECS reports no PRIMARY deployment of ${cluster}/${service}`);
  const verb = {
    SERVICE_DEPLOYMENT_IN_PROGRESS: 'in progress',
    SERVICE_DEPLOYMENT_COMPLETED: 'completed',
    SERVICE_DEPLOYMENT_FAILED: 'failed',
  }[eventName];
  return ecsDeploymentStateChange({
    serviceArn: described.serviceArn,
    eventName,
    deploymentId: primary.id,
    reason: `ECS deployment ${primary.id} ${verb}.`,
    ...options,
  });
}

/**
 * RDS-EVENT-0042, "Manual snapshot created" (Amazon RDS User Guide, "Amazon RDS event categories and
 * event messages"; events/rds.snapshot-created.json), built from DescribeDBSnapshots: moto emits no events.
 */
export async function rdsSnapshotCreatedEvent(rds: RDSClient, snapshotIdentifier: string, claimedAccount?: string) {
  const { DBSnapshots } = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotIdentifier }));
  const snapshot = DBSnapshots?.[0];
  if (!snapshot?.DBSnapshotArn) throw new Error(`RDS reports no snapshot ${snapshotIdentifier}`);
  const now = new Date();
  // Sent in the snapshot's own account and region (its ARN's), unless a forged one claims another account.
  const [, , , region, account] = snapshot.DBSnapshotArn.split(':');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'RDS DB Snapshot Event',
    source: 'aws.rds',
    account: claimedAccount ?? account,
    time: eventTime(now),
    region,
    resources: [snapshot.DBSnapshotArn],
    detail: {
      EventCategories: ['creation'],
      SourceType: 'SNAPSHOT',
      SourceArn: snapshot.DBSnapshotArn,
      Date: now.toISOString(),
      Message: 'Manual snapshot created',
      SourceIdentifier: snapshotIdentifier,
      EventID: 'RDS-EVENT-0042',
    },
  };
}

/**
 * A PostgreSQL instance `identifier` in a DB subnet group `subnetGroup` of the network's subnets, behind its
 * security group, its master password managed by RDS; encrypted with `kmsKeyId` when one is given.
 */
export async function createPostgresInstance(
  rds: RDSClient,
  network: Network,
  options: { identifier: string; subnetGroup: string; username: string; instanceClass: string; kmsKeyId?: string },
): Promise<void> {
  await rds.send(
    new CreateDBSubnetGroupCommand({
      DBSubnetGroupName: options.subnetGroup,
      DBSubnetGroupDescription: `${options.identifier} subnets`,
      SubnetIds: network.subnetIds,
    }),
  );
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: options.identifier,
      Engine: 'postgres',
      EngineVersion: '16.4',
      DBInstanceClass: options.instanceClass,
      AllocatedStorage: 20,
      MasterUsername: options.username,
      ManageMasterUserPassword: true,
      DBSubnetGroupName: options.subnetGroup,
      VpcSecurityGroupIds: [network.securityGroupId],
      ...(options.kmsKeyId ? { StorageEncrypted: true, KmsKeyId: options.kmsKeyId } : {}),
    }),
  );
}
