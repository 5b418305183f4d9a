import { accountIdOf } from '../../config/account-ids';
import type { EnvironmentConfig } from '../../config/schema';
import { inAccount, sub, unique } from './cloudformation';

type Json = Record<string, unknown>;

/** An environment config places in the account, with its region and cluster's name. */
export interface Placed {
  app: string;
  environment: string;
  env: EnvironmentConfig;
  region: string;
  clusterName: string;
}

/** What the deploy statements read of the account: its id, its placed environments and their repositories there. */
interface DeployFacts {
  id: string;
  placed: Placed[];
  /** The account's ECR repositories the placed environments deploy from, by region. */
  repositories: Map<string, string[]>;
}

/** What a deployment calls in the account, on its environments' resources (serverless/iam/statements.yml's model). */
export function deployStatements(facts: DeployFacts): Json[] {
  const { placed } = facts;
  if (placed.length === 0) return [];
  const services = unique(
    placed.map(({ region, clusterName, env }) => inAccount('ecs', region, `service/${clusterName}/${env.service}`)),
  );
  const envRegions = unique(placed.map(({ region }) => region)).sort();
  const ownRoles = (roles: string[] | undefined) => (roles ?? []).filter((role) => accountIdOf(role) === facts.id);
  const taskRoles = placed.every(({ env }) => env.passRoles)
    ? unique(placed.flatMap(({ env }) => ownRoles(env.passRoles)))
    : [sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/*`)];
  const hookRoles = unique(placed.flatMap(({ env }) => ownRoles(env.lifecycleHookRoles)));
  const repositories = [...facts.repositories].flatMap(([region, names]) =>
    names.map((name) => inAccount('ecr', region, `repository/${name}`)),
  );
  const inRegions = { StringEquals: { 'aws:RequestedRegion': envRegions } };
  return [
    ...(repositories.length > 0
      ? [{ Sid: 'DescribeImages', Effect: 'Allow', Action: ['ecr:DescribeImages'], Resource: repositories }]
      : []),
    {
      Sid: 'DescribeAndUpdateServices',
      Effect: 'Allow',
      Action: ['ecs:DescribeServices', 'ecs:UpdateService'],
      Resource: services,
    },
    // How a rollout ended and why it failed, as the reconciler, the ECS events and the diagnosis ask it.
    {
      Sid: 'WatchServiceDeployments',
      Effect: 'Allow',
      Action: ['ecs:DescribeServiceDeployments'],
      Resource: [
        ...services,
        ...unique(
          placed.map(({ region, clusterName, env }) =>
            inAccount('ecs', region, `service-deployment/${clusterName}/${env.service}/*`),
          ),
        ),
      ],
    },
    // ListTasks names no resource (Service Authorization Reference, Amazon ECS): held to the clusters by ecs:cluster.
    {
      Sid: 'ListTasksOfTheirClusters',
      Effect: 'Allow',
      Action: ['ecs:ListTasks'],
      Resource: '*',
      Condition: {
        ArnEquals: {
          'ecs:cluster': unique(
            placed.map(({ region, clusterName }) => inAccount('ecs', region, `cluster/${clusterName}`)),
          ),
        },
      },
    },
    {
      Sid: 'DescribeStoppedTasks',
      Effect: 'Allow',
      Action: ['ecs:DescribeTasks'],
      Resource: unique(placed.map(({ region, clusterName }) => inAccount('ecs', region, `task/${clusterName}/*`))),
    },
    // DescribeTaskDefinition and DeregisterTaskDefinition name no resource (Service Authorization Reference, Amazon ECS): held to the regions.
    {
      Sid: 'ReadAndPruneTaskDefinitions',
      Effect: 'Allow',
      Action: ['ecs:DescribeTaskDefinition', 'ecs:DeregisterTaskDefinition'],
      Resource: '*',
      Condition: inRegions,
    },
    // A revision's family is the running one's, which config does not name.
    {
      Sid: 'RegisterTaskDefinitions',
      Effect: 'Allow',
      Action: ['ecs:RegisterTaskDefinition'],
      Resource: envRegions.map((region) => inAccount('ecs', region, 'task-definition/*')),
    },
    {
      Sid: 'TagRegisteredTaskDefinitions',
      Effect: 'Allow',
      Action: ['ecs:TagResource'],
      Resource: envRegions.map((region) => inAccount('ecs', region, 'task-definition/*')),
      Condition: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
    },
    {
      Sid: 'PassTaskRoles',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: taskRoles,
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    },
    ...(hookRoles.length > 0
      ? [
          {
            Sid: 'PassLifecycleHookRoles',
            Effect: 'Allow',
            Action: ['iam:PassRole'],
            Resource: hookRoles,
            Condition: { StringEquals: { 'iam:PassedToService': 'ecs.amazonaws.com' } },
          },
        ]
      : []),
  ];
}
