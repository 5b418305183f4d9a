/**
 * The Slipway sandbox: a stateful simulation of the AWS services Slipway drives (ECS, ECR, RDS,
 * CloudWatch alarms' states, EventBridge delivery) on loopback, for `npm start -- --sandbox`.
 */
export { BEHAVIOUR_LABEL, behaviourOfTag } from './behaviour';
export { type EventRule, eventRulesOf, matchesPattern, type Place, targetsOf } from './rules';
export { placeOfConfig, SEED_TAGS } from './seed';
export {
  configuredHealthPort,
  healthPath,
  ManualClock,
  type PushResult,
  SANDBOX_HEADER,
  type Sandbox,
  type SandboxClock,
  type SandboxOptions,
  startSandbox,
  systemClock,
} from './server';
export { DEFAULT_TIMINGS, type Timings } from './sim';
