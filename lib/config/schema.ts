import * as z from 'zod';
import { TOKEN_NAME_PATTERN } from '../auth/principal';
import { SIGNATURE_SCHEMES } from '../release/webhooks';
import { NAME_PATTERN } from './names';
import { account, placementIssues } from './sections/accounts';
import { app } from './sections/apps';
import { authSection } from './sections/auth';
import { CLUSTER_DATABASE_NAME_MAX, DATABASE_NAME_PATTERN, DATABASE_NAME_RULE, database } from './sections/databases';
import { article, boundedInt, expects, NAME_RULE, scheduleExpression, secretReference } from './sections/values';
import { vaultIssues, vaultKeys } from './sections/vault';
import { vaultBucket, vaultBucketIssues } from './sections/vault-bucket';
import { volume } from './sections/volumes';
import { worker } from './sections/worker';

/**
 * The one schema of config/<stage>.yml, assembled from its sections (lib/config/sections/). Every
 * message reads "expected …, received …" so that a failing file names the key path, what was wanted
 * and what was found.
 */

const named = <T extends z.ZodType>(what: string, value: T, key = NAME_PATTERN, rule = NAME_RULE) =>
  z.record(
    z.string().regex(key, expects(`${article(what)} ${what} name of ${rule}`)),
    value,
    expects(`a map of ${what}s`),
  );

export const configSchema = z
  .strictObject(
    {
      auth: authSection,
      backups: z
        .strictObject(
          {
            manualSnapshotQuota: boundedInt(1, 10_000)
              .default(100)
              .describe('Manual snapshots allowed per region (the RDS quota); 80 % notifies, 100 % refuses'),
            maxCopiesInFlight: boundedInt(1, 20)
              .default(5)
              .describe(
                'Snapshot copies at once, to copyToRegion and into the backup vault together; the rest wait in a queue',
              ),
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
            ...vaultKeys,
            vaultBucket: vaultBucket
              .optional()
              .describe(
                "A bucket in another account (accounts.<name>) that volume archives and dumps, manifests included, are written to instead of the backup bucket, and read back from for restores and drills. The account's member template creates it with S3 Object Lock (COMPLIANCE, lockDays) and a bucket policy that lets Slipway's worker roles put and read objects and denies everyone deletes and lock changes: Slipway never deletes there, and archive retention only marks a record DELETED, leaving the objects to the vault's lifecycle rule (expireDays). Absent: archives and dumps go to the backup bucket",
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
        .strictObject(
          {
            slackWebhookSecret: secretReference.optional(),
            slack: z
              .strictObject(
                {
                  signingSecret: secretReference.describe(
                    "The secret (name or ARN) holding the Slack app's signing secret, which signs every button press",
                  ),
                  approvers: z
                    .record(
                      z.string().regex(/^[UW][A-Z0-9]{2,}$/, expects('a Slack user id such as U012AB3CD')),
                      z.string().regex(TOKEN_NAME_PATTERN, expects('a token name')),
                    )
                    .default({})
                    .describe(
                      "Slack user id to the name of a token in the tokens secret: a Slack user approves or rejects as that token, with its roles and scope; anyone else's press is refused",
                    ),
                  botTokenSecret: secretReference
                    .optional()
                    .describe(
                      "The secret (name or ARN) holding the Slack app's bot token (xoxb-, scopes users:read, users:read.email and chat:write): with it a user missing from approvers is looked up by their confirmed e-mail (approversByEmail), and a press on a deployment already decided is answered in the message's thread",
                    ),
                  approversByEmail: z
                    .record(
                      z
                        .string()
                        .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, expects('an e-mail address such as bob@example.com')),
                      z.string().regex(TOKEN_NAME_PATTERN, expects('a token name')),
                    )
                    .default({})
                    .describe(
                      "A Slack user's confirmed e-mail (as Slack's users.info gives it, compared without case) to the name of a token in the tokens secret, for users not in approvers; needs botTokenSecret",
                    ),
                },
                expects('a slack section {signingSecret, approvers, botTokenSecret, approversByEmail}'),
              )
              .refine(
                (slack) => Object.keys(slack.approversByEmail).length === 0 || slack.botTokenSecret !== undefined,
                {
                  path: ['approversByEmail'],
                  message: 'needs notifications.slack.botTokenSecret: e-mails are read through Slack users.info',
                },
              )
              .optional()
              .describe(
                'Approve and Reject buttons on the Slack messages of deployments waiting for approval, answered at POST /v1/slack/interactions',
              ),
          },
          expects('a notifications section'),
        )
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
      accounts: named('account', account)
        .default({})
        .describe(
          "Other AWS accounts Slipway acts in, by a name of your choosing, each through a role it assumes. Absent: only the control plane's own account",
        ),
      organizationId: z
        .string()
        // Organizations API Reference, Organization: Id.
        .regex(/^o-[a-z0-9]{10,32}$/, expects('an AWS Organizations id: o- and 10 to 32 lowercase letters or digits'))
        .optional()
        .describe(
          "The AWS Organizations organization the accounts under accounts belong to: the control plane's event bus then takes their events only from principals of that organization too (aws:PrincipalOrgID). Absent: the accounts alone decide",
        ),
      // An input default: release policies compile their globs, and zod leaves an output default out of the JSON Schema.
      apps: named('app', app).prefault({}),
      databases: named('database', database, DATABASE_NAME_PATTERN, DATABASE_NAME_RULE).default({}),
      // An input default, as for apps: volumes compile their sqlite globs.
      volumes: named('volume', volume).prefault({}),
      worker: worker
        .optional()
        .describe('Where volume archives and database dumps run: the worker task and the volume functions'),
    },
    expects('a Slipway configuration with auth, apps, databases and volumes'),
  )
  .superRefine((config, ctx) => {
    for (const { path, message } of placementIssues(config)) ctx.addIssue({ code: 'custom', path, message });
    if (config.organizationId !== undefined && Object.keys(config.accounts).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['organizationId'],
        message: 'applies only with accounts, which are absent: the bus takes no other account’s events without them',
      });
    }
    for (const { path, message } of vaultIssues(config)) ctx.addIssue({ code: 'custom', path, message });
    for (const { path, message } of vaultBucketIssues(config)) ctx.addIssue({ code: 'custom', path, message });
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
