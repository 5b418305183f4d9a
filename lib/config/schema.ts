import picomatch from 'picomatch';
import { z } from 'zod';
import {
  claimMatcherProblem,
  GITHUB_PERSON_CLAIM,
  githubRuleProblems,
  isGitHubIssuer,
  personClaimOf,
  personRuleProblem,
} from '../auth/oidc-rules';
import { ROLES } from '../auth/principal';
import { SCAN_SEVERITIES } from '../release/records';
import { SIGNATURE_SCHEMES } from '../release/webhooks';
import { NAME_PATTERN } from './names';

/**
 * The one schema of config/<stage>.yml. Every message reads "expected …, received …"
 * so that a failing file names the key path, what was wanted and what was found.
 */
function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function expects(description: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined
        ? `is required: expected ${description}`
        : `expected ${description}, received ${describeInput(issue.input)}`,
  };
}

const NAME_RULE = 'lowercase letters, digits and dashes, starting with a letter, at most 63 characters';
const nameDescription = `a name of ${NAME_RULE}`;
const article = (word: string) => (/^[aeiou]/i.test(word) ? 'an' : 'a');

const secretReference = z
  .string(expects('a Secrets Manager secret name or ARN'))
  .regex(
    /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9/_+=.@-]{1,512})$/,
    expects('a Secrets Manager secret name or ARN'),
  )
  .describe('Name or ARN of a Secrets Manager secret (never the secret value itself)');

const nonNegativeInt = (what = 'an integer >= 0') => z.number(expects(what)).int(expects(what)).min(0, expects(what));
const boundedInt = (min: number, max: number) => {
  const what = `an integer from ${min} to ${max}`;
  return z.number(expects(what)).int(expects(what)).min(min, expects(what)).max(max, expects(what));
};

const CRON_FIELDS = 6;
export const scheduleExpression = z
  .string(expects('a schedule expression such as cron(0 3 * * ? *) or rate(1 day)'))
  .refine((value) => {
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(value);
    if (rate) return Number(rate[1]) > 0 && (rate[1] === '1') === !rate[2]?.endsWith('s');
    const cron = /^cron\((.+)\)$/.exec(value);
    return Boolean(cron?.[1] && cron[1].trim().split(/\s+/).length === CRON_FIELDS);
  }, expects('a schedule expression such as cron(0 3 * * ? *) (six fields) or rate(1 day)'))
  .describe('EventBridge schedule expression: cron(min hour day-of-month month day-of-week year) or rate(N unit)');

const roleArn = z
  .string(expects('an IAM role ARN'))
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, expects('an IAM role ARN'));
const roleArns = z.array(roleArn, expects('a list of IAM role ARNs')).min(1, expects('at least one IAM role ARN'));

// An alias in a policy's Resource grants nothing: IAM authorises a key's use against the key's own ARN.
const KMS_KEY_ARN =
  /^arn:aws[a-z-]*:kms:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const kmsKeyArn = z
  .string(expects('a KMS key ARN'))
  .regex(
    KMS_KEY_ARN,
    expects(
      'a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<key id> (not an alias: Slipway grants the use of a key by its ARN, and IAM does not match a key by an alias)',
    ),
  );

const awsRegion = z
  .string(expects('an AWS region such as us-west-2'))
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, expects('an AWS region such as us-west-2'));

const imageRepository = z
  .string(expects('an image repository such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend'))
  .regex(
    /^([a-z0-9.-]+(:\d+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
    expects('an image repository without tag or digest, such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop'),
  );

const httpUrl = z.string(expects('an http(s) URL')).refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, expects('an http(s) URL'));

const headerValue = z.union(
  [
    z.string(expects('a header value')),
    z.strictObject(
      {
        fromSecret: secretReference,
        key: z
          .string(expects('a JSON key of the secret'))
          .min(1)
          .optional()
          .describe('When the secret is JSON: the key whose value is sent'),
      },
      expects('{fromSecret, key?}'),
    ),
  ],
  expects('a header value, or {fromSecret, key?} to read it from Secrets Manager'),
);

export const HEALTH_CHECK_STAGES = ['production', 'test'] as const;

const healthCheck = z.strictObject(
  {
    name: z.string(expects(nameDescription)).regex(NAME_PATTERN, expects(nameDescription)).optional(),
    url: httpUrl,
    expectStatus: boundedInt(100, 599).optional().describe('Expected HTTP status; any 2xx when absent'),
    timeoutMs: boundedInt(100, 60_000).default(5_000),
    expectJson: z
      .strictObject(
        {
          path: z
            .string(expects('a dotted path such as status or checks.db.status'))
            .min(1)
            .describe('Dotted path into the JSON body, such as status or checks.db.status'),
          equals: z
            .union([z.string(), z.number(), z.boolean(), z.null()], expects('a string, number, boolean or null'))
            .describe('The value expected at path (compared exactly)'),
        },
        expects('a JSON assertion {path, equals}'),
      )
      .optional()
      .describe('The response body is JSON and the value at path equals this'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, expects('an HTTP header name')), headerValue)
      .optional()
      .describe('Headers sent with the request; a value may come from Secrets Manager'),
    followRedirects: z
      .boolean(expects('true or false'))
      .default(false)
      .describe('Follow redirects (at most 5); otherwise a 3xx is the answer'),
    allowUntrustedCertificate: z
      .boolean(expects('true or false'))
      .default(false)
      .describe('Accept a certificate that does not verify (self-signed); its expiry is still measured'),
    stage: z
      .enum(HEALTH_CHECK_STAGES, expects(`one of ${HEALTH_CHECK_STAGES.join(', ')}`))
      .default('production')
      .describe(
        "Which listener the URL reaches. production: probed every minute, alarmed on, and by the ECS lifecycle hook at PRODUCTION_TRAFFIC_SHIFT and POST_PRODUCTION_TRAFFIC_SHIFT. test: a blue/green service's test listener, probed only by the lifecycle hook at TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT and PRE_PRODUCTION_TRAFFIC_SHIFT, when it alone reaches the new revision",
      ),
  },
  expects('a health check {url, expectStatus?, timeoutMs?, expectJson?, headers?, stage?}'),
);

const healthAlarms = z
  .strictObject(
    {
      availabilityBelow: z
        .number(expects('a fraction from 0 to 1'))
        .min(0, expects('a fraction from 0 to 1'))
        .max(1, expects('a fraction from 0 to 1'))
        .default(1)
        .describe("Alarm when the worst check's availability in a minute is below this"),
      datapointsToAlarm: boundedInt(1, 60)
        .default(3)
        .describe('Minutes out of evaluationPeriods that must breach for the alarm to fire; at most evaluationPeriods'),
      evaluationPeriods: boundedInt(1, 60).default(5).describe('Minutes the availability alarm looks back over'),
      latencyP99AboveMs: boundedInt(1, 600_000).default(2_000).describe('Alarm when the p99 latency is above this'),
    },
    expects('health alarm thresholds {availabilityBelow, datapointsToAlarm, evaluationPeriods, latencyP99AboveMs}'),
  )
  .superRefine((thresholds, ctx) => {
    // An "M out of N" alarm: PutMetricAlarm (CloudWatch API Reference) takes DatapointsToAlarm as the M of EvaluationPeriods.
    if (thresholds.datapointsToAlarm > thresholds.evaluationPeriods) {
      ctx.addIssue({
        code: 'custom',
        path: ['datapointsToAlarm'],
        message: `expected at most evaluationPeriods (${thresholds.evaluationPeriods}), received ${thresholds.datapointsToAlarm}: an alarm fires on datapointsToAlarm of the last evaluationPeriods minutes`,
      });
    }
  });

const SEMVER_LEVELS = ['major', 'minor', 'patch', 'all'] as const;
const RELEASE_RULES = ['tags', 'regexp', 'semver'] as const;
type ReleaseRules = Partial<Record<(typeof RELEASE_RULES)[number], unknown>>;
const releaseRules = (policy: ReleaseRules) => RELEASE_RULES.filter((rule) => policy[rule] !== undefined);
const listed = (words: string[]) =>
  words.length < 2 ? (words[0] ?? 'none') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;

/** Why a tag glob cannot be used, or undefined when it can (unbalanced brackets, braces and parentheses are refused). */
export function globProblem(glob: string): string | undefined {
  try {
    picomatch.makeRe(glob, { strictBrackets: true });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const releasePolicy = z
  .strictObject(
    {
      tags: z
        .string(expects('a tag glob such as "develop-*"'))
        .min(1, expects('a tag glob such as "develop-*"'))
        .superRefine((glob, ctx) => {
          const problem = globProblem(glob);
          // picomatch's hint about escaping is for code, not for a YAML file: keep what is wrong.
          if (problem) {
            ctx.addIssue({
              code: 'custom',
              message: `expected a valid tag glob, received ${describeInput(glob)} (${problem.replace(/ - use .*$/, '')})`,
            });
          }
        })
        .optional(),
      regexp: z
        .string(expects('a regular expression'))
        .refine((pattern) => {
          try {
            new RegExp(pattern);
            return true;
          } catch {
            return false;
          }
        }, expects('a valid regular expression'))
        .optional(),
      semver: z.enum(SEMVER_LEVELS, expects(`one of ${SEMVER_LEVELS.join(', ')}`)).optional(),
      force: z.boolean(expects('true or false')).optional(),
      prerelease: z.boolean(expects('true or false')).optional(),
      minAgeMinutes: boundedInt(0, 10_080)
        .optional()
        .describe('Minutes an image must have been pushed before it deploys (soak)'),
      maxFindings: z
        .partialRecord(
          z.enum(SCAN_SEVERITIES, expects(`one of ${SCAN_SEVERITIES.join(', ')}`)),
          nonNegativeInt(),
          expects('a map of severity to the most findings allowed, such as {CRITICAL: 0, HIGH: 5}'),
        )
        .optional()
        .describe(
          'Most image scan findings allowed per severity, basic or enhanced scanning; the push waits for the scan',
        ),
      scanTimeoutMinutes: boundedInt(1, 1_440)
        .optional()
        .describe('Minutes to wait for the image scan before the release is refused; default 60'),
    },
    expects('a release policy such as {tags: "develop-*"} or {semver: minor}'),
  )
  .refine((policy) => releaseRules(policy).length === 1, {
    error: (issue) =>
      `expected exactly one of tags, regexp or semver, received ${listed(releaseRules(issue.input as ReleaseRules))}`,
  });

const environment = z.strictObject(
  {
    cluster: z.string(expects('an ECS cluster name or ARN')).min(1, expects('an ECS cluster name or ARN')),
    service: z.string(expects('an ECS service name')).min(1, expects('an ECS service name')),
    approvals: nonNegativeInt().default(0).describe('Distinct approvers needed before a deployment starts'),
    release: releasePolicy.optional(),
    promoteFrom: z.string(expects(nameDescription)).optional(),
    bakeMinutes: nonNegativeInt().default(0).describe('Minutes after a deployment during which an alarm rolls it back'),
    // An alarm combines at most 10 metrics; one is the expression over the checks.
    health: z
      .array(healthCheck, expects('a list of health checks'))
      .max(9, expects('at most 9 health checks per environment'))
      .default([]),
    healthAlarms: healthAlarms
      .default({ availabilityBelow: 1, datapointsToAlarm: 3, evaluationPeriods: 5, latencyP99AboveMs: 2_000 })
      .describe('Thresholds of the alarms generated from the health checks'),
    lifecycleHook: z
      .strictObject(
        {
          requiredPasses: boundedInt(1, 100)
            .default(3)
            .describe('Consecutive passing probe runs that let the hook succeed'),
          maxAttempts: boundedInt(1, 1_000)
            .default(20)
            .describe('Probe runs allowed before the hook fails and ECS rolls back'),
          callBackDelaySeconds: boundedInt(1, 900)
            .default(30)
            .describe('Seconds ECS waits before invoking the hook again'),
        },
        expects('lifecycle hook settings {requiredPasses, maxAttempts, callBackDelaySeconds}'),
      )
      .default({ requiredPasses: 3, maxAttempts: 20, callBackDelaySeconds: 30 })
      .describe('The ECS blue/green lifecycle hook: consecutive passing runs needed, runs allowed, delay between'),
    alarms: z.array(z.string(expects('a CloudWatch alarm name')), expects('a list of alarm names')).default([]),
    maxDesiredCount: boundedInt(0, 5_000)
      .default(10)
      .describe('Upper bound for POST .../scale: the most tasks this environment may be scaled to'),
    passRoles: roleArns
      .optional()
      .describe(
        "The service's task role and task execution role. A deployment registers a copy of the running task definition, with its roles, and ECS needs them passed: with passRoles in every environment, Slipway's iam:PassRole names only these roles, and a task definition with any other role is refused before anything is registered. Absent in any environment: iam:PassRole covers every role of the account, still only towards ecs-tasks.amazonaws.com.",
      ),
    lifecycleHookRoles: roleArns
      .optional()
      .describe(
        "Roles the service's ECS lifecycle hooks name (deploymentConfiguration.lifecycleHooks[].roleArn); Slipway passes them back on UpdateService and may pass only these",
      ),
  },
  expects('an environment {cluster, service, ...}'),
);

const app = z.strictObject(
  {
    repository: imageRepository,
    containers: z
      .array(
        z.string(expects('a container name')).min(1, expects('a container name')),
        expects('a list of container names'),
      )
      .min(1, expects('at least one container name')),
    environments: z
      .record(
        z.string().regex(NAME_PATTERN, expects(`an environment name of ${NAME_RULE}`)),
        environment,
        expects('a map of environments'),
      )
      .refine((envs) => Object.keys(envs).length > 0, expects('at least one environment')),
  },
  expects('an app {repository, containers, environments}'),
);

const retention = z.strictObject(
  {
    daily: nonNegativeInt().default(7),
    weekly: nonNegativeInt().default(4),
    monthly: nonNegativeInt().default(0),
  },
  expects('a retention policy {daily, weekly, monthly}'),
);

const archiveDrill = z
  .strictObject({ schedule: scheduleExpression }, expects('a restore drill {schedule}'))
  .optional()
  .describe('Restore the newest archive into scratch on a schedule, verify it and clean up, to prove it restores');

const database = z
  .strictObject(
    {
      rdsInstance: z
        .string(expects('an RDS DB instance identifier'))
        .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, expects('an RDS DB instance identifier'))
        .optional(),
      rdsCluster: z
        .string(expects('an RDS DB cluster identifier'))
        .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, expects('an RDS DB cluster identifier'))
        .optional(),
      schedule: scheduleExpression.default('cron(0 3 * * ? *)'),
      retention: retention.default({ daily: 7, weekly: 4, monthly: 0 }),
      copyToRegion: awsRegion.optional(),
      copyKmsKeyId: kmsKeyArn
        .optional()
        .describe(
          'ARN of the KMS key in copyToRegion for copies of encrypted snapshots (required when the source is encrypted)',
        ),
      exportToS3: z.boolean(expects('true or false')).default(false),
      exportRoleArn: roleArn
        .optional()
        .describe('Role RDS assumes to write the export to the backup bucket (required with exportToS3)'),
      exportKmsKeyId: kmsKeyArn
        .optional()
        .describe('ARN of the KMS key the export is encrypted with (required with exportToS3)'),
      kmsKeyArn: kmsKeyArn
        .optional()
        .describe(
          "The KMS key (its ARN) the source and its snapshots are encrypted with. Required when the source is encrypted: restores and drills need kms:CreateGrant and kms:DescribeKey on it, which Slipway's restore roles get for this key only, and a restore of an encrypted source whose key is not this one is refused (422; a drill ends FAILED) before anything is created. Slipway reads the key from the source (StorageEncrypted, KmsKeyId) and the snapshot, and cannot tell the AWS managed key aws/rds from a customer managed one without a KMS call of its own: for a source on aws/rds, give that key's ARN (aws kms describe-key --key-id alias/aws/rds).",
        ),
      restoreDrill: z
        .strictObject(
          {
            schedule: scheduleExpression,
            instanceClass: z
              .string(expects('an instance class such as db.t4g.small'))
              .min(1)
              .optional()
              .describe("The scratch instance's class; default: the source's"),
            timeoutMinutes: boundedInt(10, 720)
              .default(120)
              .describe('A drill whose scratch database is not available after this long fails'),
          },
          expects('a restore drill {schedule, instanceClass?, timeoutMinutes?}'),
        )
        .optional()
        .describe('Restore the newest snapshot into a scratch instance on a schedule, to prove it restores'),
      dump: z
        .strictObject(
          {
            credentialsSecret: secretReference.describe(
              'Secrets Manager secret in the RDS format {host, port, username, password, dbname} the dump connects with',
            ),
            schedule: scheduleExpression.default('cron(0 4 * * ? *)'),
            retention: retention.default({ daily: 7, weekly: 4, monthly: 0 }),
            restoreDrill: archiveDrill,
          },
          expects('a dump {credentialsSecret, schedule, retention, restoreDrill?}'),
        )
        .optional()
        .describe('Logical PostgreSQL dumps (pg_dump -Fc) to S3, run by the worker task'),
    },
    expects('a database {rdsInstance | rdsCluster, schedule, retention, ...}'),
  )
  .superRefine((db, ctx) => {
    const copyKeyRegion = db.copyKmsKeyId?.split(':')[3];
    if (db.copyToRegion && copyKeyRegion && copyKeyRegion !== db.copyToRegion) {
      ctx.addIssue({
        code: 'custom',
        path: ['copyKmsKeyId'],
        message: `is a key in ${copyKeyRegion}, not in copyToRegion ${db.copyToRegion}: a copy is encrypted in its destination region`,
      });
    }
    if (db.exportToS3 && (!db.exportRoleArn || !db.exportKmsKeyId)) {
      ctx.addIssue({
        code: 'custom',
        path: [db.exportRoleArn ? 'exportKmsKeyId' : 'exportRoleArn'],
        message: 'is required with exportToS3: true (StartExportTask needs a role and a KMS key)',
      });
    }
  })
  .refine((db) => (db.rdsInstance === undefined) !== (db.rdsCluster === undefined), {
    error: (issue) =>
      `expected exactly one of rdsInstance or rdsCluster, received ${
        (issue.input as { rdsInstance?: string } | undefined)?.rdsInstance === undefined ? 'neither' : 'both'
      }`,
  });

const volume = z.strictObject(
  {
    fileSystemId: z
      .string(expects('an EFS file system id such as fs-0123456789abcdef0'))
      .regex(/^fs-[0-9a-f]{8,40}$/, expects('an EFS file system id such as fs-0123456789abcdef0')),
    accessPointId: z
      .string(expects('an EFS access point id such as fsap-0123456789abcdef0'))
      .regex(/^fsap-[0-9a-f]{8,40}$/, expects('an EFS access point id such as fsap-0123456789abcdef0')),
    schedule: scheduleExpression.default('cron(30 3 * * ? *)'),
    retention: retention.default({ daily: 7, weekly: 4, monthly: 0 }),
    runner: z
      .enum(['lambda', 'ecs'], expects('lambda or ecs'))
      .default('lambda')
      .describe(
        'lambda: a function with the volume mounted (up to 15 minutes); ecs: the worker task, for volumes that take longer',
      ),
    compression: z
      .enum(['gzip', 'zstd'], expects('gzip or zstd'))
      .default('gzip')
      .describe('zstd is faster and smaller; it needs Node 22.15 or later in the runner'),
    restoreDrill: archiveDrill,
  },
  expects('a volume {fileSystemId, accessPointId, schedule, retention, runner, compression}'),
);

const subnetId = z
  .string(expects('a subnet id such as subnet-0123456789abcdef0'))
  .regex(/^subnet-[0-9a-f]{8,17}$/, expects('a subnet id such as subnet-0123456789abcdef0'));
const securityGroupId = z
  .string(expects('a security group id such as sg-0123456789abcdef0'))
  .regex(/^sg-[0-9a-f]{8,17}$/, expects('a security group id such as sg-0123456789abcdef0'));
const imageReference = z
  .string(
    expects('an image with a tag or digest, such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0'),
  )
  .regex(
    /^([a-z0-9.-]+(:\d+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/,
    expects('an image with a tag or digest, such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0'),
  );
// Fargate's valid memory sizes (MiB) for each cpu (vCPU units), up to 4 vCPU.
const steps = (from: number, to: number) =>
  Array.from({ length: (to - from) / 1_024 + 1 }, (_, index) => from + index * 1_024);
const FARGATE_MEMORY: Record<number, number[]> = {
  256: [512, 1_024, 2_048],
  512: steps(1_024, 4_096),
  1024: steps(2_048, 8_192),
  2048: steps(4_096, 16_384),
  4096: steps(8_192, 30_720),
};

const worker = z
  .strictObject(
    {
      image: imageReference.describe('The worker image built from the Dockerfile in this repository'),
      subnetIds: z
        .array(subnetId, expects('a list of subnet ids'))
        .min(1, expects('at least one subnet id'))
        .describe('Subnets the worker task and the volume functions run in: they must reach EFS, the databases and S3'),
      securityGroupIds: z
        .array(securityGroupId, expects('a list of security group ids'))
        .min(1, expects('at least one security group id'))
        .describe(
          'Security groups of the worker task and the volume functions: outbound to EFS (2049), the databases and HTTPS',
        ),
      assignPublicIp: z.boolean(expects('true or false')).default(false),
      cpu: z
        .union(
          [z.literal(256), z.literal(512), z.literal(1_024), z.literal(2_048), z.literal(4_096)],
          expects('256, 512, 1024, 2048 or 4096'),
        )
        .default(1_024),
      memory: z
        .number(expects('MiB of memory'))
        .int(expects('MiB of memory'))
        .default(2_048)
        .describe('MiB of memory of the worker task; Fargate allows sizes that depend on cpu'),
      ephemeralStorageGiB: boundedInt(21, 200)
        .default(21)
        .describe('Scratch disk of the worker task: a PostgreSQL restore downloads the dump there first'),
      timeoutMinutes: boundedInt(15, 1_440)
        .default(360)
        .describe('A worker job with no outcome after this long is recorded FAILED, and its task stopped'),
    },
    expects('a worker section {image, subnetIds, securityGroupIds, cpu?, memory?}'),
  )
  .superRefine((value, ctx) => {
    const allowed = FARGATE_MEMORY[value.cpu] ?? [];
    if (!allowed.includes(value.memory)) {
      const described =
        allowed.length <= 3 ? allowed.join(', ') : `${allowed[0]} to ${allowed.at(-1)} in steps of 1024`;
      ctx.addIssue({
        code: 'custom',
        path: ['memory'],
        message: `expected a Fargate memory size for cpu ${value.cpu} (${described} MiB), received ${value.memory}`,
      });
    }
  });

// ---- auth.oidc: callers that prove who they are with a JWT from an OIDC issuer -------------------------------

const httpsIssuer = z
  .string(expects('an https issuer URL such as https://token.actions.githubusercontent.com'))
  .refine((value) => {
    if (/[?#\s]/.test(value)) return false;
    try {
      const url = new URL(value);
      return url.protocol === 'https:' && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, expects(
    'an https issuer URL (no query, fragment or credentials) such as https://token.actions.githubusercontent.com',
  ))
  .describe(
    "Exactly the iss claim of the issuer's tokens; its keys are found through <issuer>/.well-known/openid-configuration",
  );

const audience = z
  .string(expects('an audience such as slipway'))
  .min(1, expects('an audience such as slipway'))
  .max(256, expects('an audience of at most 256 characters'))
  .refine(
    (value) => value !== 'sts.amazonaws.com',
    // A token a workflow gets for AWS STS would be good here too: Slipway needs an audience of its own.
    expects("an audience of Slipway's own, such as slipway (sts.amazonaws.com is what tokens for AWS carry)"),
  )
  .describe('The aud claim tokens must carry: GitHub Actions mints it with core.getIDToken(audience)');

const claimName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/, expects('a claim name such as repository'));

const claimMatcher = z
  .string(expects('a claim value, or a glob such as refs/heads/release-*'))
  .min(1, expects('a claim value, or a glob such as refs/heads/release-*'))
  .max(512, expects('a claim value or glob of at most 512 characters'))
  .superRefine((matcher, ctx) => {
    const problem = claimMatcherProblem(matcher);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a claim value or glob, received ${describeInput(matcher)}: ${problem}`,
      });
    }
  });

const scopeNames = (what: string) =>
  z
    .array(
      z
        .string(expects(`${article(what)} ${what} name`))
        .regex(NAME_PATTERN, expects(`${article(what)} ${what} name of ${NAME_RULE}`)),
      expects(`a list of ${what} names`),
    )
    .min(1, expects(`at least one ${what} name; leave the key out for every ${what}`));

const oidcRule = z
  .strictObject(
    {
      claims: z
        .record(claimName, claimMatcher, expects('a map of claim names to values or globs'))
        .refine((claims) => Object.keys(claims).length > 0, expects('at least one claim to match, such as repository'))
        .describe('Claims the token must carry, each an exact value or a picomatch glob; all must match'),
      roles: z
        .array(z.enum(ROLES, expects(`one of ${ROLES.join(', ')}`)), expects('a list of roles'))
        .min(1, expects(`at least one role of ${ROLES.join(', ')}`))
        .describe('What a matching caller may do, as the roles of a token'),
      apps: scopeNames('app').optional().describe('The apps a matching caller may act on; absent: every app'),
      environments: scopeNames('environment')
        .optional()
        .describe('The environments a matching caller may act on; absent: every environment'),
      excludeEnvironments: scopeNames('environment')
        .optional()
        .describe('Environments a matching caller may never act on, whatever environments allows'),
    },
    expects('a rule {claims, roles, apps?, environments?, excludeEnvironments?}'),
  )
  .superRefine((rule, ctx) => {
    for (const name of rule.excludeEnvironments ?? []) {
      if (rule.environments?.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['excludeEnvironments'],
          message: `lists ${name}, which environments allows: keep it in one of the two`,
        });
      }
    }
  });

const oidcIssuer = z
  .strictObject(
    {
      issuer: httpsIssuer,
      audience,
      maxTokenAgeSeconds: boundedInt(60, 3_600)
        .default(3_600)
        .describe('Tokens issued (iat) longer ago than this are refused, whatever their expiry'),
      personClaim: claimName
        .optional()
        .describe(
          `The claim naming the person behind a token, by which approvals are counted and which rules granting approver or admin must pin: always ${GITHUB_PERSON_CLAIM} for GitHub's issuer; default sub for others (set user_id for GitLab, whose sub names a project and branch)`,
        ),
      rules: z
        .array(oidcRule, expects('a list of rules'))
        .min(1, expects('at least one rule: a token no rule matches is refused'))
        .describe('Checked in order: the first whose claims all match decides the roles and the scope'),
    },
    expects('an OIDC issuer {issuer, audience, rules}'),
  )
  .superRefine((entry, ctx) => {
    const github = isGitHubIssuer(entry.issuer);
    if (github && entry.personClaim !== undefined && entry.personClaim !== GITHUB_PERSON_CLAIM) {
      ctx.addIssue({
        code: 'custom',
        path: ['personClaim'],
        message: `is ${entry.personClaim}, but GitHub's tokens name a person only by ${GITHUB_PERSON_CLAIM} (actor is a login that can change hands, sub changes with branch and environment): leave it out`,
      });
    }
    const personClaim = personClaimOf(entry);
    entry.rules.forEach((rule, index) => {
      const problems = github ? githubRuleProblems(rule) : [];
      const personProblem = personRuleProblem(rule, personClaim);
      if (personProblem) problems.push({ path: ['claims'], message: personProblem });
      for (const { path, message } of problems) {
        ctx.addIssue({ code: 'custom', path: ['rules', index, ...path], message });
      }
    });
  });

const oidcIssuers = z
  .array(oidcIssuer, expects('a list of OIDC issuers {issuer, audience, rules}'))
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      if (seen.has(entry.issuer)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'issuer'],
          message: `lists ${entry.issuer} a second time: put all of its rules in one entry`,
        });
      }
      seen.add(entry.issuer);
    });
  });

const named = <T extends z.ZodType>(what: string, value: T, key = NAME_PATTERN, rule = NAME_RULE) =>
  z.record(
    z.string().regex(key, expects(`${article(what)} ${what} name of ${rule}`)),
    value,
    expects(`a map of ${what}s`),
  );

// Snapshots are named slipway-<database>-<yyyymmddhhmm>, and RDS refuses an identifier that ends with
// a hyphen or holds two in a row (CreateDBSnapshot, CreateDBClusterSnapshot: RDS API Reference).
const DATABASE_NAME_PATTERN = /^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$/;
const DATABASE_NAME_RULE = `${NAME_RULE}, not ending with a dash nor holding two in a row (RDS snapshot identifiers cannot)`;
// A DB cluster snapshot identifier has at most 63 characters (CreateDBClusterSnapshot): slipway-<name>-<12 digits>.
const CLUSTER_DATABASE_NAME_MAX = 63 - 'slipway-'.length - '-yyyymmddhhmm'.length;

export const configSchema = z
  .strictObject(
    {
      auth: z.strictObject(
        {
          tokensSecret: secretReference,
          tokenCacheSeconds: boundedInt(0, 3_600)
            .default(60)
            .describe('How long a read of the tokens secret is reused'),
          oidc: oidcIssuers
            .optional()
            .describe(
              'OIDC issuers (GitHub Actions and others) whose signed tokens are accepted, with no stored secret',
            ),
        },
        expects('an auth section {tokensSecret}'),
      ),
      backups: z
        .strictObject(
          {
            manualSnapshotQuota: boundedInt(1, 10_000)
              .default(100)
              .describe('Manual snapshots allowed per region (the RDS quota); 80 % notifies, 100 % refuses'),
            maxCopiesInFlight: boundedInt(1, 20).default(5).describe('Cross-region snapshot copies at once'),
            // "Up to five concurrent DB snapshot export tasks in progress per account" (RDS User Guide, Exporting DB snapshot data to Amazon S3).
            maxExportsInFlight: boundedInt(1, 5)
              .default(5)
              .describe(
                "Slipway's snapshot exports to S3 at once. RDS runs at most 5 export tasks per account: an export also waits while the account has 5 running, whoever started them, and one RDS refuses for that limit goes back to the queue",
              ),
            objectLock: z
              .strictObject(
                {
                  mode: z
                    .enum(['GOVERNANCE', 'COMPLIANCE'], expects('GOVERNANCE or COMPLIANCE'))
                    .describe(
                      'GOVERNANCE: only the account root user (s3:BypassGovernanceRetention, denied to everyone else by the bucket policy) can shorten a lock or delete a locked version early; COMPLIANCE: nobody can, not even the root user, until the days have passed',
                    ),
                  // S3's longest default retention is 100 years.
                  days: boundedInt(1, 36_500).describe(
                    'Days each object version written to the bucket stays locked, counted from when it is written',
                  ),
                },
                expects('an object lock {mode: GOVERNANCE or COMPLIANCE, days}'),
              )
              .optional()
              .describe(
                'S3 Object Lock on the backup bucket, so that no one who gets into the account can erase backups (absent: no lock). Every object version written (archives, dumps, manifests, drill files, RDS exports) is locked for `days`. A retention or failed-backup delete then only adds a delete marker: the backup leaves Slipway and the listings, but its data stays, and is billed, until its lock has ended and the noncurrent-version lifecycle (30 days after the delete) removes it. Decide before the first deploy of a stage: CloudFormation has planned adding or removing ObjectLockEnabled on an existing bucket as a replacement (a new, empty bucket; the old one is retained, out of reach of Slipway), so read the change set. S3 never turns Object Lock off again.',
              ),
          },
          expects('a backups section {manualSnapshotQuota, maxCopiesInFlight, maxExportsInFlight}'),
        )
        .default({ manualSnapshotQuota: 100, maxCopiesInFlight: 5, maxExportsInFlight: 5 }),
      probes: z
        .strictObject(
          {
            schedule: scheduleExpression.default('rate(1 minute)'),
            concurrency: boundedInt(1, 512).default(32).describe('Checks run at the same time'),
          },
          expects('a probes section {schedule, concurrency}'),
        )
        .default({ schedule: 'rate(1 minute)', concurrency: 32 }),
      deployments: z
        .strictObject(
          {
            keepRevisions: boundedInt(2, 1_000)
              .default(10)
              .describe('Task definition revisions Slipway registered that it keeps per environment'),
            timeoutMinutes: boundedInt(10, 1_440)
              .default(60)
              .describe('A deployment with no outcome after this long ends TIMED_OUT'),
            settleAfterMinutes: boundedInt(1, 120)
              .default(10)
              .describe('The reconciler asks ECS about in-flight deployments older than this'),
            approvalHours: boundedInt(1, 720)
              .default(24)
              .describe('A deployment waiting for approval longer than this ends EXPIRED'),
          },
          expects('a deployments section {keepRevisions, timeoutMinutes, settleAfterMinutes, approvalHours}'),
        )
        .default({ keepRevisions: 10, timeoutMinutes: 60, settleAfterMinutes: 10, approvalHours: 24 }),
      notifications: z
        .strictObject({ slackWebhookSecret: secretReference.optional() }, expects('a notifications section'))
        .default({}),
      audit: z
        .strictObject(
          {
            retentionDays: boundedInt(30, 3_650)
              .default(400)
              .describe(
                'Days each audit entry (a mutating request or an automatic action) is kept before DynamoDB expires it',
              ),
          },
          expects('an audit section {retentionDays}'),
        )
        .default({ retentionDays: 400 }),
      webhooks: z
        .strictObject(
          {
            signingSecret: secretReference.describe(
              'Secrets Manager secret holding the HMAC key registry webhooks are signed with',
            ),
            toleranceSeconds: boundedInt(30, 3_600)
              .default(300)
              .describe(
                "How far from now an X-Slipway-Signature timestamp, or a GitHub delivery's package.updated_at, may be before the request is refused as a replay",
              ),
            schemes: z
              .array(
                z.enum(SIGNATURE_SCHEMES, expects(`one of ${SIGNATURE_SCHEMES.join(', ')}`)),
                expects('a list of signature schemes'),
              )
              .min(1, expects(`at least one of ${SIGNATURE_SCHEMES.join(', ')}`))
              .refine((schemes) => new Set(schemes).size === schemes.length, expects('each scheme once'))
              .default([...SIGNATURE_SCHEMES])
              .describe(
                "The signatures accepted: slipway (X-Slipway-Signature, timestamped) and github (GitHub's X-Hub-Signature-256, for GitHub package events, each X-GitHub-Delivery taken once); leave github out to refuse it",
              ),
          },
          expects('a webhooks section {signingSecret}'),
        )
        .optional(),
      apps: named('app', app).default({}),
      databases: named('database', database, DATABASE_NAME_PATTERN, DATABASE_NAME_RULE).default({}),
      volumes: named('volume', volume).default({}),
      worker: worker
        .optional()
        .describe('Where volume archives and database dumps run: the worker task and the volume functions'),
    },
    expects('a Slipway configuration with auth, apps, databases and volumes'),
  )
  .superRefine((config, ctx) => {
    const needsWorker = [
      ...Object.keys(config.volumes).map((name) => `volume ${name}`),
      ...Object.entries(config.databases).flatMap(([name, db]) => (db.dump ? [`the dump of database ${name}`] : [])),
    ];
    // Alarms are named after their subject: a database, `<database>-dump`, `volume-<volume>`; two must never share one.
    const subjects = new Map<string, string>();
    const claim = (key: string, path: Array<string | number>, what: string) => {
      const other = subjects.get(key);
      if (other) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `${what} would share its alarm names (slipway-<stage>-${key}-…) with ${other}; rename one`,
        });
      } else subjects.set(key, what);
    };
    for (const [name, db] of Object.entries(config.databases)) {
      if (db.rdsCluster && name.length > CLUSTER_DATABASE_NAME_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: ['databases', name],
          message: `expected a database name of at most ${CLUSTER_DATABASE_NAME_MAX} characters for a DB cluster: its snapshots are named slipway-${name}-<yyyymmddhhmm>, and RDS takes at most 63`,
        });
      }
      claim(name, ['databases', name], `database ${name}`);
      if (db.dump) claim(`${name}-dump`, ['databases', name, 'dump'], `the dumps of database ${name}`);
    }
    for (const name of Object.keys(config.volumes)) claim(`volume-${name}`, ['volumes', name], `volume ${name}`);

    if (needsWorker.length > 0 && config.worker === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['worker'],
        message: `is required: ${needsWorker.join(', ')} ${needsWorker.length === 1 ? 'runs' : 'run'} in your VPC, through the worker (image, subnetIds, securityGroupIds)`,
      });
    }
    for (const [appName, appConfig] of Object.entries(config.apps)) {
      for (const [envName, env] of Object.entries(appConfig.environments)) {
        if (env.promoteFrom === undefined) continue;
        if (env.promoteFrom === envName || !Object.hasOwn(appConfig.environments, env.promoteFrom)) {
          const others = Object.keys(appConfig.environments).filter((name) => name !== envName);
          ctx.addIssue({
            code: 'custom',
            path: ['apps', appName, 'environments', envName, 'promoteFrom'],
            message: `expected ${
              others.length === 0
                ? `another environment of app ${appName}, but it has no other`
                : `another environment of app ${appName} (${others.length === 1 ? '' : 'one of '}${others.join(', ')})`
            }, received ${JSON.stringify(env.promoteFrom)}`,
          });
        }
      }
    }
  });

export type SlipwayConfig = z.output<typeof configSchema>;
export type AppConfig = SlipwayConfig['apps'][string];
export type EnvironmentConfig = AppConfig['environments'][string];
export type DatabaseConfig = SlipwayConfig['databases'][string];
export type VolumeConfig = SlipwayConfig['volumes'][string];
export type DumpConfig = NonNullable<DatabaseConfig['dump']>;
export type WorkerConfig = NonNullable<SlipwayConfig['worker']>;
export type HealthCheckConfig = EnvironmentConfig['health'][number];
export type HealthAlarmsConfig = EnvironmentConfig['healthAlarms'];
export type ReleasePolicy = NonNullable<EnvironmentConfig['release']>;
