/**
 * Amazon ECS as Slipway uses it: Fargate services deployed by rolling update, their task definitions,
 * tasks and service deployments, and the worker task RunTask starts. Answers follow the ECS API
 * Reference of each operation; the rollout follows the ECS Developer Guide's rolling update and
 * deployment circuit breaker, on the sandbox's clock.
 */
export { advanceEcs, nextEcsChange } from './advance';
export { clusterNameOf, findService } from './lookup';
export { ECS_TARGET_PREFIX, ecsOperations } from './operations';
