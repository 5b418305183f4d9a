import type { SlipwayConfig } from '../config/schema';
import { slipwayAlarmPrefix } from '../health/alarms';

/**
 * The event patterns of the EventBridge rules config/<stage>.yml feeds, and the check that keeps each
 * within EventBridge's event pattern size (Amazon EventBridge User Guide, "Amazon EventBridge quotas":
 * event pattern size, 2,048 characters by default). Slipway's own alarm names are matched by their stage
 * prefix ("Content filtering in Amazon EventBridge event patterns", prefix matching), so they cost the
 * pattern nothing however many there are; what config names and Slipway does not (ECS services, ECR
 * repositories, alarms of your own) is listed, and measured. The handlers still check every event
 * against config: a pattern only keeps other events from invoking them.
 */

export const EVENT_PATTERN_MAX_CHARS = 2_048;

export interface RulePattern {
  /**
   * The function in serverless.yml whose eventBridge event carries the pattern; inspectorScan is ecrImageScan's
   * second one (Amazon Inspector's), which a member account forwards (member-account/release-reads.ts).
   */
  rule: 'ecsDeploymentState' | 'ecrImageAction' | 'ecrImageScan' | 'inspectorScan' | 'alarmState' | 'rdsEvent';
  pattern: Record<string, unknown>;
  /** The config keys whose values the pattern lists. */
  feeds: string;
  /** How many values it lists, and of what. */
  listed: { count: number; what: string };
}

export interface RulePatternInputs {
  config: SlipwayConfig;
  stage: string;
  /** The ARNs of the ECS services config names (serverless/config.cjs managedResources), as CloudFormation values. */
  serviceArns: unknown[];
  /** The names of the ECR repositories config names, or a name no repository has. */
  repositoryNames: string[];
  /** Their ARNs, as CloudFormation values, or an ARN no repository has. */
  repositoryArns: unknown[];
  /**
   * The RDS identifiers whose events are heard, by prefix (a member account's databases: lib/events/member-account/
   * databases.ts); absent, every RDS event of the kinds the handler reads.
   */
  rdsIdentifiers?: Array<{ prefix: string }> | undefined;
}

export function eventRulePatterns({
  config,
  stage,
  serviceArns,
  repositoryNames,
  repositoryArns,
  rdsIdentifiers,
}: RulePatternInputs): RulePattern[] {
  const prefix = slipwayAlarmPrefix(stage);
  // Alarms config names whose names the prefix already matches need no entry of their own.
  const ownAlarms = [
    ...new Set(
      Object.values(config.apps).flatMap((app) => Object.values(app.environments).flatMap((env) => env.alarms)),
    ),
  ].filter((name) => !name.startsWith(prefix));
  const repositories = { count: repositoryNames.length, what: 'repository names' };
  return [
    {
      rule: 'ecsDeploymentState',
      // Only the services config names: other services' deployments never invoke Slipway.
      pattern: { source: ['aws.ecs'], 'detail-type': ['ECS Deployment State Change'], resources: serviceArns },
      feeds: 'apps.<app>.environments.<env>.cluster and .service',
      listed: { count: serviceArns.length, what: 'service ARNs' },
    },
    {
      rule: 'ecrImageAction',
      // Successful pushes to the repositories config names; the handler still checks each field.
      pattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': repositoryNames },
      },
      feeds: 'apps.<app>.repository',
      listed: repositories,
    },
    {
      rule: 'ecrImageScan',
      pattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Scan'],
        detail: { 'repository-name': repositoryNames },
      },
      feeds: 'apps.<app>.repository',
      listed: repositories,
    },
    {
      rule: 'inspectorScan',
      // Enhanced scanning: Amazon Inspector's first scan of an image, the repository named by its ARN.
      pattern: {
        source: ['aws.inspector2'],
        'detail-type': ['Inspector2 Scan'],
        detail: { 'repository-name': repositoryArns },
      },
      feeds: 'apps.<app>.repository',
      listed: { count: repositoryArns.length, what: 'repository ARNs' },
    },
    {
      rule: 'alarmState',
      // Slipway's own alarms (health, backups) by their stage prefix, and those config names for its environments.
      pattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix }, ...ownAlarms] },
      },
      feeds: 'apps.<app>.environments.<env>.alarms',
      listed: { count: ownAlarms.length, what: `alarm names not starting with ${prefix}` },
    },
    {
      rule: 'rdsEvent',
      // Snapshots completing and restore targets changing state; the handler finds which are Slipway's.
      pattern: {
        source: ['aws.rds'],
        'detail-type': [
          'RDS DB Snapshot Event',
          'RDS DB Cluster Snapshot Event',
          'RDS DB Instance Event',
          'RDS DB Cluster Event',
        ],
        ...(rdsIdentifiers ? { detail: { SourceIdentifier: rdsIdentifiers } } : {}),
      },
      feeds: 'databases.<database>.rdsInstance, .rdsCluster and .account',
      listed: { count: rdsIdentifiers?.length ?? 0, what: 'identifier prefixes' },
    },
  ];
}

// The longest values CloudFormation substitutes for the pseudo parameters a pattern may hold, so that a
// size measured here holds in every partition and region: aws-us-gov, us-isof-south-1, a 12-digit account.
const LONGEST_PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws-us-gov',
  'AWS::Region': 'us-isof-south-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com.cn',
};

function resolved(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolved);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only && only[0] === 'Fn::Sub' && typeof only[1] === 'string') {
    return only[1].replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
      const longest = LONGEST_PSEUDO_PARAMETERS[name];
      if (longest === undefined) throw new Error(`an event pattern substitutes ${whole}, whose length is unknown`);
      return longest;
    });
  }
  if (entries.length === 1 && only && (only[0] === 'Ref' || only[0].startsWith('Fn::'))) {
    throw new Error(`an event pattern holds ${JSON.stringify(value)}, whose length is unknown`);
  }
  return Object.fromEntries(entries.map(([key, inner]) => [key, resolved(inner)]));
}

/** The characters of a pattern as CloudFormation passes it on (compact JSON), at its longest once deployed. */
export function eventPatternSize(pattern: unknown): number {
  return JSON.stringify(resolved(pattern)).length;
}

/** Why each pattern that would not fit cannot, naming the rule, its size and the config keys that feed it. */
export function eventPatternProblems(patterns: RulePattern[]): Array<{ feeds: string; message: string }> {
  return patterns.flatMap(({ rule, pattern, feeds, listed }) => {
    const size = eventPatternSize(pattern);
    if (size <= EVENT_PATTERN_MAX_CHARS) return [];
    return [
      {
        feeds,
        message: `the event pattern of the ${rule} rule would be ${size} characters, over EventBridge's ${EVENT_PATTERN_MAX_CHARS} (event pattern size quota): it lists ${listed.count} ${listed.what}; split them across stages`,
      },
    ];
  });
}
