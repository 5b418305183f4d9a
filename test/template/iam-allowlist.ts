/**
 * Actions that have no resource-level permissions in IAM, so `Resource: "*"` is
 * the only form AWS accepts for them. Anything else must name its resources.
 */
export const ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = new Set([
  // The worker task's image pull starts with a registry token, which is not a resource.
  'ecr:GetAuthorizationToken',
  // Metrics are scoped by the cloudwatch:namespace condition instead.
  'cloudwatch:PutMetricData',
  // ListClusters cannot be scoped: readiness asks ECS for one cluster name.
  'ecs:ListClusters',
  // Task definition reads and (de)registrations are not scoped by resource in IAM.
  'ecs:DescribeTaskDefinition',
  'ecs:RegisterTaskDefinition',
  'ecs:DeregisterTaskDefinition',
  // ListTasks is scoped by the ecs:cluster condition key instead (see serverless/iam/statements.yml).
  'ecs:ListTasks',
  // RDS list and describe calls made without an identifier (all manual snapshots, export tasks).
  'rds:DescribeDBInstances',
  'rds:DescribeDBClusters',
  'rds:DescribeDBSnapshots',
  'rds:DescribeDBClusterSnapshots',
  'rds:DescribeExportTasks',
  // Amazon Inspector's findings are listed with filters, not per resource (Service Authorization Reference).
  'inspector2:ListFindings',
  // X-Ray trace submission (Lambda active tracing).
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
]);

/** Granted without being required: written by serverless-iam-roles-per-function into every role it makes. */
export const TOLERATED_GRANTS = new Set([
  // The stack creates each function's log group; the plugin still allows the function to create it.
  'logs:CreateLogGroup',
]);

/** The one managed policy a role may carry: a function in a VPC creates its network interfaces with it. */
export const VPC_ACCESS_POLICY = 'AWSLambdaVPCAccessExecutionRole';

/**
 * Calls the call graph reaches from a handler that no run of that function makes, left ungranted on
 * purpose, per handler file. The analysis follows calls, not values: each entry says which value
 * rules the path out. The test fails when an entry is no longer reached, or is granted after all.
 */
// lib/restore/vault-restore.ts shares a vault copy and describes a cluster's copy in the vault account, always as the
// vault's role (rdsFor with backups.vaultAccount); a drill never restores a vault copy (drillNow takes the database's own snapshots).
const VAULT_RESTORE_CALLS = {
  'rds:ModifyDBSnapshotAttribute': "a vault copy is shared for a restore as the vault's role, never the function's",
  'rds:ModifyDBClusterSnapshotAttribute':
    "a vault copy is shared for a restore as the vault's role, never the function's",
  'rds:DescribeDBClusterSnapshots': "a cluster's vault copy is described in the vault, as the vault's role",
};
const VAULT_UNSHARE_ON_EVENT =
  "onTargetEvent settles only restores in the control plane's own account (account absent) that hold no vault share (vaultShare absent: a vault copy restored there is the reconciler's); the reconciler removes shares, as the vault's role";

export const INFEASIBLE_CALLS: Record<string, Record<string, string>> = {
  // RecordStore (lib/store/backups.ts) writes backup and restore records alike; which, is the store's kind.
  'functions/http/take-backup.ts': {
    'dynamodb:PutItem (RESTORE#)': 'takeBackup creates backups (Backups#take, Archives#take): BackupStore only',
    'dynamodb:UpdateItem (RESTORE#)': 'launch and failJob update a restore only for a restore job; take starts backups',
  },
  'functions/schedules/take-archive.ts': {
    'dynamodb:PutItem (RESTORE#)': 'takeArchive creates archives and dumps (Archives#take): BackupStore only',
    'dynamodb:UpdateItem (RESTORE#)': 'launch and failJob update a restore only for a restore job; take starts backups',
  },
  'functions/schedules/backup-database.ts': {
    'dynamodb:PutItem (RESTORE#)': 'backupDatabase creates snapshot records (Backups#take): BackupStore only',
  },
  'functions/http/create-restore.ts': {
    ...VAULT_RESTORE_CALLS,
    'dynamodb:PutItem (BACKUP#)':
      'createRestore creates restores (Restores#request, Archives#restore): RestoreStore only',
    'dynamodb:UpdateItem (BACKUP#)':
      'launch and failJob update a backup only for a backup job; restore starts restores',
  },
  'functions/schedules/restore-drill.ts': {
    ...VAULT_RESTORE_CALLS,
    'dynamodb:PutItem (BACKUP#)': 'a drill creates a restore (Restores#drill, Archives#drill): RestoreStore only',
    'dynamodb:UpdateItem (BACKUP#)': 'launch and failJob update a backup only for a backup job; a drill is a restore',
  },
  'functions/schedules/reconcile-backups.ts': {
    'dynamodb:PutItem (RESTORE#)':
      'the reconcilers create only copies and exports of snapshots (Backups#queueFollowUps)',
  },
  'functions/events/rds-event.ts': {
    'dynamodb:PutItem (RESTORE#)': 'an RDS event creates only copies and exports of snapshots (Backups#queueFollowUps)',
    'rds:ModifyDBSnapshotAttribute': VAULT_UNSHARE_ON_EVENT,
    'rds:ModifyDBClusterSnapshotAttribute': VAULT_UNSHARE_ON_EVENT,
  },
  // putNew (lib/store/conditional.ts) creates waiting and refused releases, and webhook deliveries.
  'functions/events/ecr-image-action.ts': {
    'dynamodb:PutItem (DELIVERY#)': 'only the registry webhook remembers deliveries; an ECR event has no delivery id',
  },
  // The worker's command line also prunes and drills under a prefix an operator names, for hosts with no control
  // plane; the task on AWS runs only run-job, the command the launcher gives it (lib/worker/launch.ts).
  'lib/worker/cli.ts': {
    's3:ListBucket (operator prefix)':
      'prune and the drills list a prefix on the command line only; the task runs run-job',
    's3:DeleteObject (operator prefix)': 'prune deletes on the command line only; the task runs run-job',
  },
  'functions/workers/volume-worker.ts': {
    // runJob also runs dumps, which read the database's credentials; Archives launches dumps on the
    // ECS task only (runner ecs: pg_dump is in the worker image, not in the function).
    'secretsmanager:GetSecretValue (worker)':
      'dump jobs run on the worker task only; a volume function runs volume jobs',
  },
};

/**
 * Modules a function loads whose AWS requests no function's handler reaches, because another process
 * makes them. An unreached request anywhere else fails the test: it is a hole in the call graph.
 */
export const NOT_CALLED_BY_FUNCTIONS: Record<string, string> = {};
