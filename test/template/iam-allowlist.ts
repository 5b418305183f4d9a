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
  // X-Ray trace submission (Lambda active tracing).
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
]);
