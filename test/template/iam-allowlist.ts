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
  // ListTasks is scoped by the ecs:cluster condition key instead (see serverless.yml).
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

/**
 * What an action the code calls needs besides itself (test/template/iam-actions.test.ts): AWS
 * authorises these on the caller's role as part of the same request. Each is required of, and
 * allowed to, exactly the functions that can call its trigger. A qualifier in parentheses is the
 * condition the grant must carry (iam:PassedToService, ecs:CreateAction) or, for KMS, the key: the
 * topic's or the bucket's as the template encrypts them (dropped where it encrypts with no key of its own).
 */
export const IMPLIED_ACTIONS: Record<string, readonly string[]> = {
  // The notifications topic is encrypted with its own key: Publish encrypts the message with it.
  'sns:Publish': ['kms:GenerateDataKey (topic key)', 'kms:Decrypt (topic key)'],
  // Where the backup bucket encrypts with a key of the stack, S3 uses it as the caller: a put (and each
  // part of a multipart upload) generates a data key, a multipart upload and a get decrypt one.
  's3:PutObject': ['kms:GenerateDataKey (bucket key)', 'kms:Decrypt (bucket key)'],
  's3:GetObject': ['kms:Decrypt (bucket key)'],
  // Enhanced scanning's findings live in Amazon Inspector: ECR reads them as the caller, who needs
  // ListFindings too (ECR user guide, "IAM permissions required for enhanced scanning").
  'ecr:DescribeImageScanFindings': ['inspector2:ListFindings'],
  // A copied revision keeps the task and execution roles and the tags of the one it copies.
  'ecs:RegisterTaskDefinition': ['ecs:TagResource (RegisterTaskDefinition)', 'iam:PassRole (ecs-tasks.amazonaws.com)'],
  // The worker task is tagged with its job and runs with the worker's task and execution roles.
  'ecs:RunTask': ['ecs:TagResource (RunTask)', 'iam:PassRole (ecs-tasks.amazonaws.com)'],
  // Snapshots are created with Slipway's tags.
  'rds:CreateDBSnapshot': ['rds:AddTagsToResource'],
  'rds:CreateDBClusterSnapshot': ['rds:AddTagsToResource'],
  // Copies keep their tags (CopyTags) and are re-encrypted with the destination region's key.
  'rds:CopyDBSnapshot': ['rds:AddTagsToResource', 'kms:CreateGrant', 'kms:DescribeKey'],
  'rds:CopyDBClusterSnapshot': ['rds:AddTagsToResource', 'kms:CreateGrant', 'kms:DescribeKey'],
  // An export runs as the configured export role and encrypts with the configured key.
  'rds:StartExportTask': ['iam:PassRole (export.rds.amazonaws.com)', 'kms:CreateGrant', 'kms:DescribeKey'],
  // Restore targets are created with the source's tags and Slipway's.
  'rds:RestoreDBInstanceFromDBSnapshot': ['rds:AddTagsToResource'],
  'rds:RestoreDBInstanceToPointInTime': ['rds:AddTagsToResource'],
  'rds:RestoreDBClusterFromSnapshot': ['rds:AddTagsToResource'],
  'rds:RestoreDBClusterToPointInTime': ['rds:AddTagsToResource'],
  'rds:CreateDBInstance': ['rds:AddTagsToResource'],
};

/**
 * Actions a function's configuration needs, whatever its code does: Lambda itself calls them with
 * the function's role. Required of every function the condition holds for.
 */
export const CONFIGURATION_ACTIONS = {
  // Every function writes its logs (the stack creates the log groups).
  always: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  // TracingConfig Active: Lambda sends the traces with the role, and refuses the role at deploy without them.
  activeTracing: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
  // An on-failure destination on the dead-letter queue: Lambda sends the failed event with the role.
  onFailureQueue: ['sqs:SendMessage'],
  // FileSystemConfigs: Lambda mounts the access point (read-write) with the role.
  fileSystem: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
} as const;

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
export const INFEASIBLE_CALLS: Record<string, Record<string, string>> = {
  'functions/http/approve-deployment.ts': {
    // Deployments#finish diagnoses only FAILED and ROLLED_BACK; approve ends a record as EXPIRED, or as
    // FAILED with diagnose: false (it could not start, so ECS has nothing to tell).
    'ecs:ListTasks': 'Deployments#finish diagnoses FAILED/ROLLED_BACK only; approve passes EXPIRED or diagnose: false',
    'ecs:DescribeTasks':
      'Deployments#finish diagnoses FAILED/ROLLED_BACK only; approve passes EXPIRED or diagnose: false',
  },
  'functions/http/cancel-deployment.ts': {
    // cancel ends a record as CANCELLED (or, past its deadline, EXPIRED): no diagnosis, no pruning.
    'ecs:DescribeServices': 'Deployments#finish diagnoses FAILED/ROLLED_BACK only; cancel passes CANCELLED or EXPIRED',
    'ecs:ListTasks': 'Deployments#finish diagnoses FAILED/ROLLED_BACK only; cancel passes CANCELLED or EXPIRED',
    'ecs:DescribeTasks': 'Deployments#finish diagnoses FAILED/ROLLED_BACK only; cancel passes CANCELLED or EXPIRED',
    'ecs:DeregisterTaskDefinition': 'Deployments#finish prunes revisions on SUCCEEDED only; cancel never succeeds',
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
