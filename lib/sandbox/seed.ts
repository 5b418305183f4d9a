import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SlipwayConfig } from '../config/schema';
import { ecrRepository } from '../deploy/ecs';
import { type AlarmDefinition, alarmRecord } from './alarms';
import { createRepository, pushTag, repositoryUri } from './ecr';
import { clusterNameOf, ecsOperations } from './ecs';
import { rdsOperations } from './rds';
import type { Simulation } from './simulation';
import { emptyState, type Millis, type SandboxState } from './state';
import type { Json } from './wire';

/**
 * The AWS account a fresh sandbox starts with, made from the stage's config through the same operations
 * a user's account was set up with: each app's ECR repository with two images, each environment's Fargate
 * service running the first of them (its deployment completed an hour before the start), each database's
 * RDS instance (or Aurora cluster) in a DB subnet group of a private VPC, each volume's files, and each
 * environment's alarms OK. What happened before the start sends no event: Slipway was not listening yet.
 */

export const DEFAULT_ACCOUNT = '123456789012';
export const DEFAULT_REGION = 'us-east-1';

/** The images each repository starts with: the first runs everywhere, the second waits to be deployed. */
export const SEED_TAGS = ['develop-41', 'develop-42'] as const;

const HOUR = 3_600_000;

/** The account and home region the config's repositories and clusters name, else the defaults. */
export function placeOfConfig(config: SlipwayConfig, env: Record<string, string | undefined> = process.env) {
  for (const app of Object.values(config.apps)) {
    const ecr = ecrRepository(app.repository);
    if (ecr) return { account: ecr.registryId, region: ecr.region };
  }
  return { account: DEFAULT_ACCOUNT, region: env.AWS_REGION || env.AWS_DEFAULT_REGION || DEFAULT_REGION };
}

interface Network {
  vpcId: string;
  subnetIds: string[];
  tasksGroup: string;
}

function network(state: SandboxState, region: string): Network {
  const zones = ['a', 'b'].map((letter) => `${region}${letter}`);
  // The default VPC, where RDS puts what names no subnet group (its "default" DB subnet group).
  state.network.vpcs.push('vpc-0defa017c0ffee001', 'vpc-0a11ce5a4db0c0de1');
  state.network.subnets.push(
    { id: 'subnet-0defa017c0ffee0a1', vpcId: 'vpc-0defa017c0ffee001', availabilityZone: zones[0] as string },
    { id: 'subnet-0defa017c0ffee0b1', vpcId: 'vpc-0defa017c0ffee001', availabilityZone: zones[1] as string },
    { id: 'subnet-0a11ce5a4db0c0da1', vpcId: 'vpc-0a11ce5a4db0c0de1', availabilityZone: zones[0] as string },
    { id: 'subnet-0a11ce5a4db0c0db1', vpcId: 'vpc-0a11ce5a4db0c0de1', availabilityZone: zones[1] as string },
  );
  state.network.securityGroups.push(
    { id: 'sg-0defa017c0ffee001', vpcId: 'vpc-0defa017c0ffee001', name: 'default' },
    { id: 'sg-0a11ce5a4db0c0de1', vpcId: 'vpc-0a11ce5a4db0c0de1', name: 'default' },
    { id: 'sg-0a11ce5a4db0c0de2', vpcId: 'vpc-0a11ce5a4db0c0de1', name: 'tasks' },
    { id: 'sg-0a11ce5a4db0c0de3', vpcId: 'vpc-0a11ce5a4db0c0de1', name: 'databases' },
  );
  state.rds.subnetGroups.push({
    region,
    name: 'default',
    description: 'default',
    vpcId: 'vpc-0defa017c0ffee001',
    subnetIds: ['subnet-0defa017c0ffee0a1', 'subnet-0defa017c0ffee0b1'],
  });
  return {
    vpcId: 'vpc-0a11ce5a4db0c0de1',
    subnetIds: ['subnet-0a11ce5a4db0c0da1', 'subnet-0a11ce5a4db0c0db1'],
    tasksGroup: 'sg-0a11ce5a4db0c0de2',
  };
}

/** A revision as a team registers one: roles, secrets by reference, awslogs, a health check (test/fixtures/ecs). */
function taskDefinition(account: string, region: string, family: string, containers: string[], image: string): Json {
  return {
    family,
    taskRoleArn: `arn:aws:iam::${account}:role/${family}-task`,
    executionRoleArn: `arn:aws:iam::${account}:role/${family}-execution`,
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '512',
    memory: '1024',
    runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
    containerDefinitions: containers.map((name, index) => ({
      name,
      image,
      essential: index === 0,
      portMappings: index === 0 ? [{ containerPort: 8000, protocol: 'tcp', name: 'http', appProtocol: 'http' }] : [],
      environment: [{ name: 'APP_ENV', value: family }],
      secrets: [
        {
          name: 'DATABASE_URL',
          valueFrom: `arn:aws:secretsmanager:${region}:${account}:secret:${family}/database-url-AbCdEf`,
        },
      ],
      logConfiguration: {
        logDriver: 'awslogs',
        options: { 'awslogs-group': `/ecs/${family}`, 'awslogs-region': region, 'awslogs-stream-prefix': 'ecs' },
      },
      healthCheck: {
        command: ['CMD-SHELL', 'curl -f http://localhost:8000/health/live || exit 1'],
        interval: 30,
        timeout: 5,
        retries: 3,
        startPeriod: 10,
      },
    })),
    tags: [
      { key: 'app', value: family },
      { key: 'created-by', value: 'slipway-sandbox' },
    ],
  };
}

/** A few files for each volume to archive and restore. */
export function seedVolumes(config: SlipwayConfig, volumeRoot: string): void {
  for (const volume of Object.keys(config.volumes)) {
    const root = join(volumeRoot, volume);
    mkdirSync(join(root, 'uploads', '2026'), { recursive: true });
    writeFileSync(join(root, 'README.txt'), `Files of volume ${volume}, made by the Slipway sandbox.\n`);
    for (let index = 1; index <= 3; index += 1) {
      writeFileSync(join(root, 'uploads', '2026', `invoice-${index}.txt`), `invoice ${index} of volume ${volume}\n`);
    }
  }
}

export interface SeedInputs {
  config: SlipwayConfig;
  alarms: AlarmDefinition[];
  now: Millis;
  /** Builds a simulation over a state; the seed runs through it like any request. */
  simulation: (state: SandboxState) => Simulation;
}

export function seedState({ config, alarms, now, simulation }: SeedInputs): SandboxState {
  const { account, region } = placeOfConfig(config);
  const state = emptyState(account, region);
  const net = network(state, region);
  const sim = simulation(state);
  const start = now - HOUR;
  const call = (region: string, operations: typeof ecsOperations, name: string, input: Json, at = start) =>
    sim.run(at, region, (context) => (operations[name] as (typeof operations)[string]).handle(input, context));

  for (const [appName, app] of Object.entries(config.apps)) {
    const ecr = ecrRepository(app.repository);
    let image = app.repository;
    if (ecr) {
      const repo = sim.run(start - HOUR, ecr.region, (context) => {
        const found = context.state.ecr.repositories.find(
          (each) =>
            each.region === ecr.region && each.registryId === ecr.registryId && each.name === ecr.repositoryName,
        );
        return (
          found ?? createRepository(context, { name: ecr.repositoryName, scanOnPush: true, registryId: ecr.registryId })
        );
      });
      const [first] = SEED_TAGS.map((tag, index) =>
        sim.run(start - HOUR + index * 60_000, ecr.region, (context) => pushTag(context, repo, tag)),
      );
      image = `${repositoryUri(repo)}@${first?.digest}`;
    }
    for (const [environment, env] of Object.entries(app.environments)) {
      const clusterRegion = env.cluster.startsWith('arn:') ? (env.cluster.split(':')[3] ?? region) : region;
      const family = `${appName}-${environment}`;
      call(clusterRegion, ecsOperations, 'CreateCluster', { clusterName: clusterNameOf(env.cluster) });
      const registered = call(
        clusterRegion,
        ecsOperations,
        'RegisterTaskDefinition',
        taskDefinition(account, clusterRegion, family, app.containers, image),
      );
      call(clusterRegion, ecsOperations, 'CreateService', {
        cluster: clusterNameOf(env.cluster),
        serviceName: env.service,
        taskDefinition: (registered.taskDefinition as Json).taskDefinitionArn,
        desiredCount: 2,
        launchType: 'FARGATE',
        // The circuit breaker with rollback, as teams that deploy often turn on.
        deploymentConfiguration: {
          deploymentCircuitBreaker: { enable: true, rollback: true },
          maximumPercent: 200,
          minimumHealthyPercent: 100,
        },
        networkConfiguration: {
          awsvpcConfiguration: { subnets: net.subnetIds, securityGroups: [net.tasksGroup], assignPublicIp: 'DISABLED' },
        },
        tags: [{ key: 'app', value: appName }],
      });
    }
  }

  const groups = new Set<string>();
  for (const [database, db] of Object.entries(config.databases)) {
    const groupName = `${database}-subnets`;
    if (!groups.has(groupName)) {
      call(region, rdsOperations, 'CreateDBSubnetGroup', {
        DBSubnetGroupName: groupName,
        DBSubnetGroupDescription: `${database} (private subnets)`,
        SubnetIds: net.subnetIds,
      });
      groups.add(groupName);
    }
    const common = {
      Engine: db.rdsCluster ? 'aurora-postgresql' : 'postgres',
      EngineVersion: '16.4',
      MasterUsername: 'app',
      ManageMasterUserPassword: true,
      DBSubnetGroupName: groupName,
      VpcSecurityGroupIds: ['sg-0a11ce5a4db0c0de3'],
      BackupRetentionPeriod: 7,
      CopyTagsToSnapshot: true,
      ...(db.kmsKeyArn ? { StorageEncrypted: true, KmsKeyId: db.kmsKeyArn } : {}),
      Tags: [{ Key: 'database', Value: database }],
    };
    if (db.rdsCluster) {
      call(region, rdsOperations, 'CreateDBCluster', { ...common, DBClusterIdentifier: db.rdsCluster });
      call(region, rdsOperations, 'CreateDBInstance', {
        DBInstanceIdentifier: `${db.rdsCluster}-instance-1`,
        DBClusterIdentifier: db.rdsCluster,
        DBInstanceClass: 'db.t4g.medium',
        Engine: 'aurora-postgresql',
      });
    } else if (db.rdsInstance) {
      call(region, rdsOperations, 'CreateDBInstance', {
        ...common,
        DBInstanceIdentifier: db.rdsInstance,
        DBInstanceClass: 'db.t4g.micro',
        AllocatedStorage: 20,
        StorageType: 'gp3',
      });
    }
  }

  sim.run(now, region, (context) => {
    for (const definition of alarms) alarmRecord({ ...context, now: start }, definition);
  });
  // Nothing before the start is delivered: Slipway was not listening yet.
  state.outbox = [];
  return state;
}
