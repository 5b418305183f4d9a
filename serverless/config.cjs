// Validates config/<stage>.yml while serverless.yml is resolved, so `sls package`
// and `sls offline` refuse an invalid file with its key path and reason, and writes
// config/<stage>.resolved.json, the checked JSON every function's package carries, and
// generated/openapi.json, the OpenAPI document getOpenapi's package carries, and generated/console/,
// the web console getConsole serves.
const { register } = require('tsx/cjs/api');

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const service = await resolveVariable('self:service');
  const region = await resolveVariable('self:provider.region');
  const unregister = register();
  try {
    const { writeResolvedConfig, configPathFor } = require('../lib/config/load.ts');
    const { healthAlarmResources } = require('../lib/health/alarms.ts');
    const { regionalProbeMetricRegions } = require('../lib/health/alarm-placement.ts');
    const { backupAlarmResources } = require('../lib/backup/alarms.ts');
    const { volumeFunctionName } = require('../lib/worker/launch.ts');
    const { restoreTargetPrefix } = require('../lib/backup/identifiers.ts');
    const { eventRulePatterns, eventPatternProblems } = require('../lib/events/rule-patterns.ts');
    const { broadlyAssumedAccounts } = require('../lib/config/vault-role.ts');
    const { memberExportBucketStatements } = require('../lib/backup/member-export-bucket-policy.ts');
    const config = writeResolvedConfig(stage);
    // The OpenAPI document getOpenapi ships, made here from the route registry so that function loads no zod.
    const { writeOpenApiDocument } = require('../lib/http/openapi.ts');
    const { apiRoutes } = require('../lib/http/registry.ts');
    writeOpenApiDocument(apiRoutes);
    // The web console's page and assets, which getConsole's package carries (generated/console/).
    await require('../console/build.ts').buildConsole();
    const managed = managedResources(config);
    // The rules' patterns; one that would not fit EventBridge's event pattern size stops packaging here.
    const patterns = eventRulePatterns({
      config,
      stage,
      serviceArns: eventServiceArns(config),
      repositoryNames: managed.ecrRepositoryNames,
      repositoryArns: managed.repositoryArns,
    });
    const problems = eventPatternProblems(patterns);
    if (problems.length > 0) {
      throw new Error(problems.map(({ feeds, message }) => `${configPathFor(stage)}: ${feeds}: ${message}`).join('\n'));
    }
    return {
      stage,
      tokensSecretArn: secretArn(config.auth.tokensSecret),
      // With no webhooks section the route answers 404 and may read no secret at all.
      webhookSecretArn: config.webhooks ? secretArn(config.webhooks.signingSecret) : NOTHING_SECRET,
      // With no notifications.slack section the Slack interactions route answers 404 and reads no Slack app secret.
      slackAppSecretArns: config.notifications.slack
        ? [config.notifications.slack.signingSecret, config.notifications.slack.botTokenSecret]
            .filter((secret) => secret !== undefined)
            .map(secretArn)
        : [NOTHING_SECRET],
      ...managed,
      // The alarms generated from the health checks: an environment's in another region are that region's stack's.
      healthAlarms: { Resources: healthAlarmResources(config, stage, { Ref: 'NotificationsTopic' }, region) },
      // Where runProbes puts the metrics of environments in other regions of this account; none, and no statement.
      regionalProbeMetrics: regionalProbeMetrics(regionalProbeMetricRegions(config, region)),
      eventPatterns: Object.fromEntries(patterns.map(({ rule, pattern }) => [rule, pattern])),
      probeSchedule: config.probes.schedule,
      backupAlarms: { Resources: backupAlarmResources(config, stage, { Ref: 'NotificationsTopic' }) },
      // One schedule per database (and per drill), each passing {database} as its event.
      backupScheduleEvents: Object.entries(config.databases).map(([database, db]) => ({
        schedule: { rate: [db.schedule], input: { database } },
      })),
      drillScheduleEvents: [
        ...Object.entries(config.databases).flatMap(([database, db]) => [
          ...(db.restoreDrill ? [{ schedule: { rate: [db.restoreDrill.schedule], input: { database } } }] : []),
          ...(db.dump?.restoreDrill
            ? [{ schedule: { rate: [db.dump.restoreDrill.schedule], input: { database, dump: true } } }]
            : []),
        ]),
        ...Object.entries(config.volumes).flatMap(([volume, v]) =>
          v.restoreDrill ? [{ schedule: { rate: [v.restoreDrill.schedule], input: { volume } } }] : [],
        ),
      ],
      // One schedule per volume and per dumped database, each passing its subject as the event.
      archiveScheduleEvents: [
        ...Object.entries(config.volumes).map(([volume, v]) => ({
          schedule: { rate: [v.schedule], input: { volume } },
        })),
        ...Object.entries(config.databases).flatMap(([database, db]) =>
          db.dump ? [{ schedule: { rate: [db.dump.schedule], input: { database } } }] : [],
        ),
      ],
      ...workerResources(config, stage, volumeFunctionName),
      ...rdsResources(config, restoreTargetPrefix),
      ...backupBucketValues(config, service, stage),
      backupBucketExportStatements: memberExportBucketStatements(config),
      ...vaultBucketValues(config),
      ...accountResources(config, broadlyAssumedAccounts(config)),
      ...vaultResources(config),
      ...vaultHomeRestoreResources(config, restoreTargetPrefix),
      // Secrets the probes read header values from, and the Slack webhook: nothing else is readable.
      probeSecretArns: probeSecrets(config),
      slackSecretArn: config.notifications.slackWebhookSecret
        ? secretArn(config.notifications.slackWebhookSecret)
        : NOTHING_SECRET,
      // A name, never a value: the worker reads the webhook from Secrets Manager.
      slackWebhookSecret: config.notifications.slackWebhookSecret ?? '',
    };
  } catch (error) {
    // Serverless prints the message; the cause (a zod error) is noise here.
    throw new Error(error.message);
  } finally {
    unregister();
  }
};

// PutMetricData names no resource (Service Authorization Reference, Amazon CloudWatch): `*` held to the regions and
// namespace by its conditions, or an empty list, which unscoped-statements.cjs leaves out.
function regionalProbeMetrics(regions) {
  return { resources: regions.length > 0 ? ['*'] : [], regions };
}

// Secrets Manager appends a random six-character suffix to secret ARNs.
function secretArn(nameOrArn) {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${nameOrArn}-??????`,
  };
}

// The roles of the accounts config names, which functions may assume, and their external ids' secrets: those of the
// accounts `assumed` names (broadlyAssumedAccounts: all but the backup vault's, which only the functions reaching the
// vault assume, vaultResources, unless config places more there); none, an empty list, and unscoped-statements.cjs
// leaves the statement out.
function accountResources(config, assumed) {
  const accountIds = [...new Set(Object.values(config.accounts).map((account) => account.roleArn.split(':')[4]))];
  const accounts = assumed.map((name) => config.accounts[name]);
  return {
    // Who may put events on the default bus besides the account itself (resources/event-bus-policy.yml).
    memberAccountIds: accountIds,
    eventBusPolicy:
      accountIds.length === 0
        ? 'withoutAccounts'
        : config.organizationId
          ? 'withAccountsInOrganization'
          : 'withAccounts',
    organizationId: config.organizationId ?? '',
    accountRoleArns: [...new Set(accounts.map((account) => account.roleArn))],
    externalIdSecretArns: [
      ...new Set(accounts.flatMap((account) => (account.externalIdSecret ? [account.externalIdSecret] : []))),
    ].map(secretArn),
  };
}

// The backup vault (backups.vaultAccount): Slipway's snapshots shared with it, and the sources' keys whose use is
// granted to the vault's role alone (lib/backup/vault-copies.ts); no vault, empty lists, and no statement.
function vaultResources(config) {
  const vault = config.backups.vaultAccount === undefined ? undefined : config.accounts[config.backups.vaultAccount];
  // The reconciler's code shares snapshots whether or not a vault is configured (IAM's call graph sees the call):
  // without one, the grant names a snapshot that cannot exist (region none), and the key statements are left out.
  if (!vault) {
    return {
      vaultSharedSnapshotArns: ['arn:aws:rds:none:000000000000:snapshot:slipway-none'],
      vaultSourceKeyArns: [],
      vaultRoleArns: [],
      vaultExternalIdSecretArns: [],
    };
  }
  // The control plane's own databases: a member account's share and grant it through its role (its template).
  const databases = Object.entries(config.databases).filter(([, db]) => db.account === undefined);
  return {
    vaultSharedSnapshotArns: databases.map(([name, db]) =>
      rdsArn(db.region ?? THIS_REGION, `${db.rdsCluster ? 'cluster-snapshot' : 'snapshot'}:slipway-${name}-*`),
    ),
    vaultSourceKeyArns: [...new Set(databases.flatMap(([, db]) => (db.kmsKeyArn ? [db.kmsKeyArn] : [])))],
    // The role, assumed by the functions that reach the vault (assumeVaultRole), and the external id it requires.
    vaultRoleArns: [vault.roleArn],
    vaultExternalIdSecretArns: vault.externalIdSecret ? [secretArn(vault.externalIdSecret)] : [],
  };
}

// A vault copy restored into the control plane's own account (lib/restore/vault-restore.ts, account "@control-plane"):
// createRestore restores, by ARN, the vault's copies of each database (slipway-<database>-*, in the database's region,
// where its copy is) into new databases named by the restore rule there, and uses the vault's key of that region
// through RDS. The copies are those lib/events/member-account/vault-restores.ts names: of every database but those in
// the vault account itself. No vault, empty lists, and no statement.
function vaultHomeRestoreResources(config, restoreTargetPrefix) {
  const vaultName = config.backups.vaultAccount;
  const vault = vaultName === undefined ? undefined : config.accounts[vaultName];
  const copied = vault ? Object.entries(config.databases).filter(([, db]) => db.account !== vaultName) : [];
  const vaultId = vault?.roleArn.split(':')[4];
  const regionOf = (db) => db.region ?? THIS_REGION;
  const regions = [...new Set(copied.map(([, db]) => regionOf(db)))];
  const vaultArn = (region, resource) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:rds:${region}:${vaultId}:${resource}`,
  });
  // The vault's keys (one per region at most), used through RDS in the copies' regions: a key works in its own region
  // alone, so only a copy region's key is usable so.
  const keys = copied.length > 0 ? [config.backups.vaultKmsKey ?? []].flat() : [];
  return {
    vaultHomeRestoreCopyArns: copied.map(([name, db]) =>
      vaultArn(regionOf(db), `${db.rdsCluster ? 'cluster-snapshot' : 'snapshot'}:slipway-${name}-*`),
    ),
    vaultHomeRestoreTargetArns: copied.flatMap(([, db]) => {
      const prefix = restoreTargetPrefix(db.rdsCluster ?? db.rdsInstance);
      return db.rdsCluster
        ? [rdsArn(regionOf(db), `cluster:${prefix}*`), rdsArn(regionOf(db), `db:${prefix}*`)]
        : [rdsArn(regionOf(db), `db:${prefix}*`)];
    }),
    vaultHomeRestoreGroupArns: regions.flatMap((region) =>
      ['subgrp', 'og', 'pg', 'cluster-pg'].map((type) => rdsArn(region, `${type}:*`)),
    ),
    vaultHomeRestoreKeyArns: keys,
    // A region config names is plain text; the stack's own is substituted.
    vaultHomeRestoreKmsViaServices: regions.map((region) =>
      region === THIS_REGION ? { 'Fn::Sub': `rds.${region}.amazonaws.com` } : `rds.${region}.amazonaws.com`,
    ),
  };
}

// IAM needs at least one resource per statement; with no app configured, this ARN matches nothing.
const NOTHING = 'arn:aws:ecs:none:000000000000:service/none/none';
const NOTHING_SECRET = 'arn:aws:secretsmanager:none:000000000000:secret:none';

// In the environment's region when it names one, else the stack's.
const ecsArn = (resource, env = {}) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ecs:${env.region ?? `\${AWS::Region}`}:\${AWS::AccountId}:${resource}`,
});

// The services whose ECS deployment events the control plane's rule hears: its own, and those of environments in
// member accounts, whose stacks forward their events to its bus as they were sent, with the member account's id in
// each service ARN (EventBridge User Guide, "Sending and receiving events between AWS accounts in Amazon
// EventBridge": the receiving bus's rules match the event itself).
function eventServiceArns(config) {
  const environments = Object.values(config.apps).flatMap((app) => Object.values(app.environments));
  const arns = environments.map((env) => {
    const service = `service/${env.cluster.split('/').at(-1)}/${env.service}`;
    if (env.account === undefined) return ecsArn(service, env);
    const account = config.accounts[env.account].roleArn.split(':')[4];
    return { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:${env.region ?? `\${AWS::Region}`}:${account}:${service}` };
  });
  return arns.length > 0 ? [...new Map(arns.map((arn) => [JSON.stringify(arn), arn])).values()] : [NOTHING];
}

// The ECS services and ECR repositories config/<stage>.yml names: what the deploy functions may touch. An
// environment in another account is acted on as a session on that account's role, which its own policy
// authorises: the functions' roles get nothing on it (nor pass its roles).
function managedResources(config) {
  const environments = Object.values(config.apps)
    .flatMap((app) => Object.values(app.environments))
    .filter((env) => env.account === undefined);
  const clusterName = (cluster) => cluster.split('/').at(-1);
  const unique = (values) => [...new Map(values.map((value) => [JSON.stringify(value), value])).values()];
  const orNothing = (values) => (values.length > 0 ? unique(values) : [NOTHING]);
  const repositories = Object.values(config.apps).flatMap((app) => {
    const match = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(.+)$/.exec(app.repository);
    return match ? [{ 'Fn::Sub': `arn:\${AWS::Partition}:ecr:${match[2]}:${match[1]}:repository/${match[3]}` }] : [];
  });
  return {
    serviceArns: orNothing(
      environments.map((env) => ecsArn(`service/${clusterName(env.cluster)}/${env.service}`, env)),
    ),
    clusterArns: orNothing(environments.map((env) => ecsArn(`cluster/${clusterName(env.cluster)}`, env))),
    // The services and their service deployments: DescribeServiceDeployments is authorised against both
    // (Service Authorization Reference, Amazon ECS).
    watchedDeploymentArns: orNothing(
      environments.flatMap((env) => [
        ecsArn(`service/${clusterName(env.cluster)}/${env.service}`, env),
        ecsArn(`service-deployment/${clusterName(env.cluster)}/${env.service}/*`, env),
      ]),
    ),
    taskArns: orNothing(environments.map((env) => ecsArn(`task/${clusterName(env.cluster)}/*`, env))),
    // Revisions are registered, and tagged, in each environment's region: the stack's own always, as before.
    taskDefinitionArns: unique([
      ecsArn('task-definition/*'),
      ...environments.map((env) => ecsArn('task-definition/*', env)),
    ]),
    // The roles copied revisions carry, when every environment names them (passRoles); else any role of the account;
    // none when every environment is in another account (an empty list drops the statement).
    taskRoleArns:
      environments.length === 0
        ? []
        : environments.every((env) => env.passRoles)
          ? unique(environments.flatMap((env) => env.passRoles))
          : [{ 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/*` }],
    // The roles the services' ECS lifecycle hooks name, passed back on UpdateService; none listed, none passed.
    lifecycleHookRoleArns: unique(environments.flatMap((env) => env.lifecycleHookRoles ?? [])),
    repositoryArns: repositories.length > 0 ? unique(repositories) : ['arn:aws:ecr:none:000000000000:repository/none'],
    // The ECR repository names pushes are heard for (the rule's pattern); a name no repository has when there is none.
    ecrRepositoryNames: unique(
      Object.values(config.apps).flatMap((app) => {
        const match = /^\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/(.+)$/.exec(app.repository);
        return match ? [match[1]] : [];
      }),
    ).concat(repositories.length > 0 ? [] : ['slipway-no-repository']),
  };
}

function probeSecrets(config) {
  const references = Object.values(config.apps).flatMap((app) =>
    Object.values(app.environments).flatMap((env) =>
      env.health.flatMap((check) =>
        Object.values(check.headers ?? {}).flatMap((value) => (typeof value === 'object' ? [value.fromSecret] : [])),
      ),
    ),
  );
  const unique = [...new Set(references)];
  return unique.length > 0 ? unique.map(secretArn) : [NOTHING_SECRET];
}

const rdsArn = (region, resource) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:rds:${region}:\${AWS::AccountId}:${resource}`,
});

// CloudFormation's own region, substituted by Fn::Sub.
const THIS_REGION = `\${AWS::Region}`;

// What the backup functions may touch: the configured instances and clusters, and the snapshots,
// copies and drill databases Slipway names itself; KMS keys and the export role named in config. Each in
// the database's region (absent: the stack's); a database in another account is acted on as a session on
// that account's role, which its own policy authorises (lib/events/member-account/databases.ts): the
// functions' roles get nothing on it.
function rdsResources(config, restoreTargetPrefix) {
  const owned = Object.entries(config.databases).filter(([, db]) => db.account === undefined);
  const databases = owned.map(([, db]) => db);
  const regionOf = (db) => db.region ?? THIS_REGION;
  const homes = [...new Set(databases.map(regionOf))];
  const regions = [
    ...new Set([THIS_REGION, ...homes, ...databases.flatMap((db) => (db.copyToRegion ? [db.copyToRegion] : []))]),
  ];
  const sources = databases.map((db) =>
    db.rdsCluster ? rdsArn(regionOf(db), `cluster:${db.rdsCluster}`) : rdsArn(regionOf(db), `db:${db.rdsInstance}`),
  );
  const snapshots = regions.flatMap((region) => [
    rdsArn(region, 'snapshot:slipway-*'),
    rdsArn(region, 'cluster-snapshot:slipway-*'),
  ]);
  const keys = [...new Set(databases.flatMap((db) => [db.copyKmsKeyId, db.exportKmsKeyId].filter(Boolean)))];
  const roles = [...new Set(databases.flatMap((db) => (db.exportRoleArn ? [db.exportRoleArn] : [])))];
  const restoreKeys = [...new Set(databases.flatMap((db) => (db.kmsKeyArn ? [db.kmsKeyArn] : [])))];
  const drills = (homes.length > 0 ? homes : [THIS_REGION]).flatMap((region) => [
    rdsArn(region, 'db:slipway-drill-*'),
    rdsArn(region, 'cluster:slipway-drill-*'),
  ]);
  // lib/backup/identifiers.ts names them slipway-<database>-<yyyymmddhhmm>, a cluster's as cluster snapshots.
  const sourceSnapshots = owned.map(([name, db]) =>
    rdsArn(regionOf(db), `${db.rdsCluster ? 'cluster-snapshot' : 'snapshot'}:slipway-${name}-*`),
  );
  // What a restore may create, by lib/backup/identifiers.ts's rule: an Aurora cluster's writer is an instance.
  const restoreTargets = databases.flatMap((db) => {
    const prefix = restoreTargetPrefix(db.rdsCluster ?? db.rdsInstance);
    return db.rdsCluster
      ? [rdsArn(regionOf(db), `cluster:${prefix}*`), rdsArn(regionOf(db), `db:${prefix}*`)]
      : [rdsArn(regionOf(db), `db:${prefix}*`)];
  });
  return {
    rdsSourceArns: sources.length > 0 ? sources : [rdsArn(THIS_REGION, 'db:slipway-none')],
    // Restores run in the database's region: from the snapshots Slipway takes of a configured source, or its own history.
    rdsRestoreSourceArns: [...sources, ...sourceSnapshots],
    rdsRestoreTargetArns: [...restoreTargets, ...drills],
    rdsRestoreGroupArns: (homes.length > 0 ? homes : [THIS_REGION]).flatMap((region) =>
      ['subgrp', 'og', 'pg', 'cluster-pg'].map((type) => rdsArn(region, `${type}:*`)),
    ),
    rdsSnapshotArns: snapshots,
    rdsDrillArns: drills,
    backupKmsKeys: keys.length > 0 ? keys : ['arn:aws:kms:none:000000000000:key/none'],
    exportRoleArns: roles.length > 0 ? roles : ['arn:aws:iam::000000000000:role/slipway-none'],
    // The customer managed keys sources are encrypted with, which restores use; none named, no grant.
    restoreKmsKeyArns: restoreKeys,
    // RDS in the regions restores run in, through which alone those keys are used.
    restoreKmsViaServices: (homes.length > 0 ? homes : [THIS_REGION]).map((region) => ({
      'Fn::Sub': `rds.${region}.amazonaws.com`,
    })),
  };
}

// The backup bucket (resources/backup-bucket.yml): its Object Lock, and who its policy lets read objects.
// Placeholders where there is no lock: the properties using them are conditioned away (BackupObjectLock).
function backupBucketValues(config, service, stage) {
  const lock = config.backups.objectLock;
  const exportRoles = [
    ...new Set(
      Object.values(config.databases).flatMap((db) => (db.exportToS3 && db.exportRoleArn ? [db.exportRoleArn] : [])),
    ),
  ];
  return {
    backupObjectLockEnabled: lock ? 'true' : 'false',
    backupObjectLockMode: lock?.mode ?? 'GOVERNANCE',
    backupObjectLockDays: lock?.days ?? 1,
    // serverless-iam-roles-per-function names each function's role <service>-<stage>-<function>-<region>-lambdaRole;
    // the account root is the break-glass reader; RDS writes (and reads back) exports as the configured roles.
    backupReaderArns: [
      { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${service}-${stage}-*` },
      { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root` },
      ...exportRoles,
    ],
  };
}

// The vault bucket (backups.vaultBucket), in another account: the worker roles put, read and list there, and never
// delete (its policy, lib/events/member-account/vault-bucket.ts, denies it anyway). Empty lists: no statement.
function vaultBucketValues(config) {
  const vault = config.backups.vaultBucket;
  if (!vault) return { vaultArchiveArns: [], vaultBucketArns: [], vaultWorkerPolicy: { Resources: {} } };
  const arn = (resource) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${vault.name}${resource}` });
  const writes = (prefixes) => ({
    Effect: 'Allow',
    Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
    Resource: prefixes.map((prefix) => arn(`/${prefix}/*`)),
  });
  const lists = {
    Effect: 'Allow',
    Action: ['s3:ListBucket'],
    Resource: [arn('')],
    Condition: { StringLike: { 's3:prefix': ['volumes/*', 'dumps/*'] } },
  };
  return {
    vaultArchiveArns: [arn('/volumes/*')],
    vaultBucketArns: [arn('')],
    // The worker task's grant, beside its role (resources/worker.yml), which names the vault in no static file.
    vaultWorkerPolicy: {
      Resources: config.worker
        ? {
            WorkerVaultBucketPolicy: {
              Type: 'AWS::IAM::Policy',
              Condition: 'WorkerEnabled',
              Properties: {
                PolicyName: 'vault-bucket',
                Roles: [{ Ref: 'WorkerTaskRole' }],
                PolicyDocument: { Version: '2012-10-17', Statement: [writes(['volumes', 'dumps']), lists] },
              },
            },
          }
        : {},
    },
  };
}

const efsArn = (resource) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:elasticfilesystem:\${AWS::Region}:\${AWS::AccountId}:${resource}`,
});
// serverless checks fileSystemConfig.arn as a string or a Join, not a Sub.
const accessPointJoin = (id) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':elasticfilesystem:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:access-point/${id}`,
    ],
  ],
});
const NOTHING_FILE_SYSTEM = 'arn:aws:elasticfilesystem:none:000000000000:file-system/fs-00000000';
const NOTHING_ACCESS_POINT = 'arn:aws:elasticfilesystem:none:000000000000:access-point/fsap-00000000';

// The worker task (resources/worker.yml) and one function per volume (serverless/volume-workers.cjs).
function workerResources(config, stage, volumeFunctionName) {
  const worker = config.worker;
  const volumes = Object.entries(config.volumes);
  const onTask = volumes.filter(([, v]) => v.runner === 'ecs');
  // A volume the worker task runs needs no function of its own.
  const onLambda = volumes.filter(([, v]) => v.runner === 'lambda');
  const camel = (name) => name.replace(/-([a-z0-9])/g, (_, next) => next.toUpperCase());
  const workerSecrets = [
    ...new Set([
      ...Object.values(config.databases).flatMap((db) => (db.dump ? [db.dump.credentialsSecret] : [])),
      ...(config.notifications.slackWebhookSecret ? [config.notifications.slackWebhookSecret] : []),
    ]),
  ];
  const functions = Object.fromEntries(
    onLambda.map(([volume, v]) => [
      camel(`volume-${volume}`),
      {
        name: volumeFunctionName('slipway', stage, volume),
        volume,
        fileSystemId: v.fileSystemId,
        accessPointArn: accessPointJoin(v.accessPointId),
      },
    ]),
  );
  return {
    workerEnabled: worker ? 'true' : 'false',
    // Placeholders where there is no worker: every resource using them is conditioned away.
    workerImage: worker?.image ?? 'public.ecr.aws/docker/library/node:22-bookworm-slim',
    workerCpu: String(worker?.cpu ?? 1024),
    workerMemory: String(worker?.memory ?? 2048),
    workerEphemeralStorageGiB: worker?.ephemeralStorageGiB ?? 21,
    workerSubnetIds: worker?.subnetIds ?? [],
    workerSecurityGroupIds: worker?.securityGroupIds ?? [],
    workerVolumes: onTask.map(([volume, v]) => ({
      Name: volume,
      EFSVolumeConfiguration: {
        FilesystemId: v.fileSystemId,
        TransitEncryption: 'ENABLED',
        AuthorizationConfig: { AccessPointId: v.accessPointId, IAM: 'ENABLED' },
      },
    })),
    workerMountPoints: onTask.map(([volume]) => ({
      SourceVolume: volume,
      ContainerPath: `/mnt/${volume}`,
      ReadOnly: false,
    })),
    workerFileSystemArns:
      onTask.length > 0
        ? [...new Set(onTask.map(([, v]) => v.fileSystemId))].map((id) => efsArn(`file-system/${id}`))
        : [NOTHING_FILE_SYSTEM],
    workerAccessPointArns:
      onTask.length > 0 ? onTask.map(([, v]) => efsArn(`access-point/${v.accessPointId}`)) : [NOTHING_ACCESS_POINT],
    workerSecretArns: workerSecrets.length > 0 ? workerSecrets.map(secretArn) : [NOTHING_SECRET],
    volumeWorkerFunctions: functions,
    volumeFunctionArns:
      onLambda.length > 0
        ? onLambda.map(([volume]) => ({
            'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${volumeFunctionName('slipway', stage, volume)}`,
          }))
        : ['arn:aws:lambda:none:000000000000:function:slipway-none'],
  };
}

// For the unit tests of what the bucket and the roles are given.
module.exports.backupBucketValues = backupBucketValues;
module.exports.vaultBucketValues = vaultBucketValues;
module.exports.managedResources = managedResources;
module.exports.rdsResources = rdsResources;
module.exports.accountResources = accountResources;
module.exports.eventServiceArns = eventServiceArns;
module.exports.vaultResources = vaultResources;
module.exports.vaultHomeRestoreResources = vaultHomeRestoreResources;
