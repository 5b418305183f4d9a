import type { SlipwayConfig } from '../../config/schema';
import { ConfigError } from '../../errors';
import { eventPatternProblems, eventRulePatterns, type RulePattern } from '../rule-patterns';
import { camel, inAccount } from './cloudformation';
import type { Placed } from './deploy';

/**
 * The EventBridge rules forwarding one region's events to the control plane's default event bus, with their
 * dead-letter queue, and the role EventBridge forwards them with: what a member account's template
 * (lib/events/member-account-template.ts) and a regional stack of the control plane's own account
 * (lib/events/region-template.ts) hold alike. Pure functions of config.
 */

type Json = Record<string, unknown>;

export interface ForwardedRegion {
  config: SlipwayConfig;
  stage: string;
  /** What the stack is for, in an error: `account staging, eu-west-1`. */
  where: string;
  region: string;
  /** The environments in the region. */
  placed: Placed[];
  /** The ECR repositories of the stack's account in the region whose pushes and basic scans are forwarded. */
  repositoryNames: string[];
  /** Those whose Amazon Inspector scans are forwarded, by ARN. */
  scannedArns: unknown[];
  /** The RDS identifiers whose events are forwarded, by prefix; undefined for none. */
  rdsIdentifiers: Array<{ prefix: string }> | undefined;
  /** The bus the rules' target is, as a CloudFormation value. */
  busArn: unknown;
  /** The forwarding role's ARN, and the logical id the rules wait for when it is made in the same stack by name. */
  roleArn: unknown;
  dependsOn?: string[] | undefined;
  /** The condition each resource is made under: the stack's region is this one. */
  condition: string;
}

/**
 * One region's rules, dead-letter queue and queue policy. Each rule's target is the control plane's default bus,
 * reached with a role of the stack's account: another account's bus takes the events by its policy
 * (resources/event-bus-policy.yml; EventBridge User Guide, "Sending and receiving events between AWS accounts in
 * Amazon EventBridge"), another region's of the same account by the role's alone ("Sending and receiving events
 * between AWS Regions in Amazon EventBridge"). What cannot be delivered goes to the queue ("Using dead-letter queues
 * to process undelivered events in EventBridge"), one per region, as a rule's dead-letter queue is in its own region.
 */
export function forwardingResources(forwarded: ForwardedRegion): Json {
  const { config, stage, region, placed, repositoryNames, scannedArns, condition } = forwarded;
  // The rules' patterns are the control plane's own (lib/events/rule-patterns.ts), for this region's resources.
  const regional: SlipwayConfig = {
    ...config,
    apps: Object.fromEntries(
      [...new Set(placed.map(({ app }) => app))].map((app) => [
        app,
        {
          ...(config.apps[app] as SlipwayConfig['apps'][string]),
          environments: Object.fromEntries(
            placed.filter((one) => one.app === app).map(({ environment, env }) => [environment, env]),
          ),
        },
      ]),
    ),
  };
  const patterns = eventRulePatterns({
    config: regional,
    stage,
    serviceArns: placed.map(({ region: at, clusterName, env }) =>
      inAccount('ecs', at, `service/${clusterName}/${env.service}`),
    ),
    repositoryNames,
    // Amazon Inspector's scans are heard only of the repositories a release policy holds to maxFindings.
    repositoryArns: scannedArns,
    rdsIdentifiers: forwarded.rdsIdentifiers,
  }).filter(
    ({ rule, pattern }) =>
      (rule === 'ecsDeploymentState' && placed.length > 0) ||
      ((rule === 'ecrImageAction' || rule === 'ecrImageScan') && repositoryNames.length > 0) ||
      (rule === 'inspectorScan' && scannedArns.length > 0) ||
      (rule === 'alarmState' && placed.length > 0) ||
      (rule === 'rdsEvent' && pattern.detail !== undefined),
  );
  const problems = eventPatternProblems(patterns);
  if (problems.length > 0) {
    throw new ConfigError(problems.map(({ feeds, message }) => `${forwarded.where}: ${feeds}: ${message}`).join('\n'));
  }
  const suffix = camel(region);
  const queue = `EventForwardingDeadLetterQueue${suffix}`;
  const ruleId = (pattern: RulePattern) => `${camel(pattern.rule)}Forwarding${suffix}`;
  const rules = Object.fromEntries(
    patterns.map((pattern) => [
      ruleId(pattern),
      {
        Type: 'AWS::Events::Rule',
        Condition: condition,
        ...(forwarded.dependsOn ? { DependsOn: forwarded.dependsOn } : {}),
        Properties: {
          Description: `Forwards ${pattern.pattern['detail-type']} events of Slipway stage ${stage} to its control plane`,
          EventPattern: pattern.pattern,
          Targets: [
            {
              Id: 'control-plane',
              Arn: forwarded.busArn,
              RoleArn: forwarded.roleArn,
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
            },
          ],
        },
      },
    ]),
  );
  return {
    [queue]: {
      Type: 'AWS::SQS::Queue',
      Condition: condition,
      Properties: { MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true },
    },
    [`${queue}Policy`]: {
      Type: 'AWS::SQS::QueuePolicy',
      Condition: condition,
      Properties: {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'UndeliveredEvents',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
              Condition: {
                ArnEquals: { 'aws:SourceArn': patterns.map((pattern) => ({ 'Fn::GetAtt': [ruleId(pattern), 'Arn'] })) },
              },
            },
          ],
        },
      },
    },
    ...rules,
  };
}

/** The role EventBridge forwards the stack's account's events with: PutEvents on the control plane's bus alone. */
export function forwardingRole(options: {
  roleName: string;
  description: string;
  condition: string;
  busArn: unknown;
}): Json {
  return {
    Type: 'AWS::IAM::Role',
    Condition: options.condition,
    Properties: {
      RoleName: options.roleName,
      Description: options.description,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
            // Only this account's rules may have EventBridge act with it (IAM User Guide, "The confused deputy problem").
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
      Policies: [
        {
          PolicyName: 'PutEventsOnTheControlPlane',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: options.busArn }],
          },
        },
      ],
    },
  };
}
