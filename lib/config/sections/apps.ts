import * as z from 'zod';
import { SCAN_SEVERITIES } from '../../release/records';
import { compileReleasePolicy, globProblem } from '../glob-compile';
import { NAME_PATTERN } from '../names';
import { ENVIRONMENT_PLACEMENT, placementKeys } from './accounts';
import {
  boundedInt,
  describeInput,
  expects,
  NAME_RULE,
  nameDescription,
  nonNegativeInt,
  roleArns,
  secretReference,
} from './values';

/** apps: each app's image repository and containers, and its environments with their release policy and health checks. */

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
  })
  // The functions match tags with the regular expression compiled here, without picomatch.
  .transform(compileReleasePolicy);

const environment = z.strictObject(
  {
    cluster: z.string(expects('an ECS cluster name or ARN')).min(1, expects('an ECS cluster name or ARN')),
    service: z.string(expects('an ECS service name')).min(1, expects('an ECS service name')),
    ...placementKeys("the environment's ECS service, cluster and alarms", ENVIRONMENT_PLACEMENT),
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

export const app = z.strictObject(
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
