/**
 * Actions that have no resource-level permissions in IAM, so `Resource: "*"` is
 * the only form AWS accepts for them. Anything else must name its resources.
 */
export const ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = new Set([
  // ListClusters cannot be scoped: readiness asks ECS for one cluster name.
  'ecs:ListClusters',
  // X-Ray trace submission (Lambda active tracing).
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
]);
