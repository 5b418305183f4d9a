import { readFileSync } from 'node:fs';
import { type Deployment, ServiceDeploymentStatus } from '@aws-sdk/client-ecs';
import {
  type EcsDeploymentEvent,
  ecsDeploymentEvent,
  rollbackTargetOf,
  serviceFromArn,
  stateFromServiceDeployments,
  stateOfServiceDeployment,
  verdictForEvent,
} from '../../../lib/deploy/outcome';
import {
  DEPLOYMENT_STATES,
  type DeploymentRecord,
  type DeploymentState,
  transition,
} from '../../../lib/deploy/records';

// The story the samples in events/ tell: ECS_PREVIOUS completed, ECS_OURS (Slipway's deployment) failed,
// and the circuit breaker started ECS_ROLLBACK to go back to ECS_PREVIOUS.
const ECS_PREVIOUS = 'ecs-svc/1234567890123456789';
const ECS_OURS = 'ecs-svc/4815162342081516234';
const ECS_ROLLBACK = 'ecs-svc/2718281828459045235';
const ECS_STRANGER = 'ecs-svc/9081726354453627180';
const ROLLING_BACK = `ECS deployment circuit breaker: rolling back to deploymentId ${ECS_PREVIOUS}.`;
const TASKS_FAILED = 'ECS deployment circuit breaker: tasks failed to start.';
const REVISION = 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend';

type EcsSample =
  | 'in-progress'
  | 'completed'
  | 'failed'
  | 'rollback'
  | 'failed.circuit-breaker'
  | 'rollback.same-second';

function sample(name: EcsSample): EcsDeploymentEvent {
  return ecsDeploymentEvent.parse(JSON.parse(readFileSync(`events/ecs.deployment-${name}.json`, 'utf8')));
}

/** A sample with its detail changed: another deployment id, another reason, or none. */
function event(name: EcsSample, detail: Partial<EcsDeploymentEvent['detail']> = {}): EcsDeploymentEvent {
  const base = sample(name);
  return { ...base, detail: { ...base.detail, ...detail } };
}

function record(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: 'dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f',
    app: 'shop',
    environment: 'production',
    kind: 'deploy',
    state: 'IN_PROGRESS',
    requestedBy: { name: 'release-bot', kind: 'token' },
    createdAt: '2026-11-22T03:04:00.000Z',
    updatedAt: '2026-11-22T03:04:11.000Z',
    cluster: 'shop-prod',
    service: 'backend',
    from: { taskDefinitionArn: `${REVISION}:12`, images: {}, ecsDeploymentId: ECS_PREVIOUS },
    to: { taskDefinitionArn: `${REVISION}:31`, images: {}, tag: '1.4.2' },
    registeredTaskDefinition: true,
    ecsDeploymentId: ECS_OURS,
    approvals: { required: 0, by: [] },
    timeline: [],
    ...overrides,
  };
}

const OURS = record();
// The deployment ECS_PREVIOUS came from: it succeeded before ours started.
const EARLIER = record({
  id: 'dep-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  state: 'SUCCEEDED',
  from: { taskDefinitionArn: `${REVISION}:7`, images: {}, ecsDeploymentId: 'ecs-svc/1111111111111111111' },
  to: { taskDefinitionArn: `${REVISION}:12`, images: {} },
  ecsDeploymentId: ECS_PREVIOUS,
});

describe('verdictForEvent', () => {
  it.each<[string, EcsDeploymentEvent, DeploymentRecord[], { to: DeploymentState; note: string } | undefined]>([
    [
      'COMPLETED for our deployment: SUCCEEDED',
      sample('completed'),
      [OURS, EARLIER],
      { to: 'SUCCEEDED', note: `ECS deployment ${ECS_OURS} completed.` },
    ],
    ['FAILED for our deployment: FAILED', sample('failed'), [OURS, EARLIER], { to: 'FAILED', note: TASKS_FAILED }],
    [
      'the rollback ECS started away from our deployment, while it is IN_PROGRESS: ROLLED_BACK',
      sample('rollback'),
      [OURS, EARLIER],
      { to: 'ROLLED_BACK', note: ROLLING_BACK },
    ],
    [
      'the rollback, arriving after the FAILED event: ROLLED_BACK',
      sample('rollback'),
      [record({ state: 'FAILED' }), EARLIER],
      { to: 'ROLLED_BACK', note: ROLLING_BACK },
    ],
    [
      'FAILED from the circuit breaker, as the ECS developer guide shows it: FAILED',
      sample('failed.circuit-breaker'),
      [OURS, EARLIER],
      { to: 'FAILED', note: 'ECS deployment circuit breaker: task failed to start.' },
    ],
    [
      'the rollback stamped the same second as the FAILED event already applied: ROLLED_BACK',
      sample('rollback.same-second'),
      [record({ state: 'FAILED', lastEventAt: sample('failed.circuit-breaker').detail.updatedAt }), EARLIER],
      { to: 'ROLLED_BACK', note: ROLLING_BACK },
    ],
    [
      'a rollback event carrying our own deployment id, whatever it rolls back to: ROLLED_BACK',
      event('rollback', { deploymentId: ECS_OURS }),
      [record({ from: { images: {} } })],
      { to: 'ROLLED_BACK', note: ROLLING_BACK },
    ],
    [
      'COMPLETED without a reason: SUCCEEDED, saying so',
      event('completed', { reason: undefined }),
      [OURS],
      { to: 'SUCCEEDED', note: 'ECS reached a steady state' },
    ],
    [
      'FAILED without a reason: FAILED, saying so',
      event('failed', { reason: undefined }),
      [OURS],
      { to: 'FAILED', note: 'ECS reported the deployment failed' },
    ],
  ])('%s', (_, ecsEvent, recent, expected) => {
    // Given the deployments recorded for the service, newest first
    // When ECS reports on one of its deployments
    const verdict = verdictForEvent(ecsEvent, recent);

    // Then exactly one deployment, ours, changes, and the note says why
    expect(verdict).toEqual({ deploymentId: OURS.id, ...expected });
  });

  it.each<[string, EcsDeploymentEvent, DeploymentRecord[]]>([
    ['COMPLETED for a deployment Slipway did not make', event('completed', { deploymentId: ECS_STRANGER }), [OURS]],
    ['FAILED for a deployment Slipway did not make', event('failed', { deploymentId: ECS_STRANGER }), [OURS]],
    ['IN_PROGRESS for our deployment (it has only started)', sample('in-progress'), [OURS, EARLIER]],
    ['a rollback when our deployment already SUCCEEDED', sample('rollback'), [record({ state: 'SUCCEEDED' }), EARLIER]],
    ['a rollback when our deployment was already ROLLED_BACK', sample('rollback'), [record({ state: 'ROLLED_BACK' })]],
    [
      'a rollback to a deployment ours did not replace',
      event('rollback', { reason: `ECS deployment circuit breaker: rolling back to deploymentId ${ECS_STRANGER}.` }),
      [OURS, EARLIER],
    ],
    [
      'a rollback, for a record that never learned its ECS deployment',
      sample('rollback'),
      [record({ ecsDeploymentId: undefined })],
    ],
    [
      'a rollback, for a deployment still waiting for approval',
      sample('rollback'),
      [record({ state: 'PENDING_APPROVAL' })],
    ],
    ['any event, when nothing is recorded for the service', sample('completed'), []],
  ])('changes nothing for %s', (_, ecsEvent, recent) => {
    expect(verdictForEvent(ecsEvent, recent)).toBeUndefined();
  });

  it('settles the record the event names, not the newest one', () => {
    // Given a newer deployment in flight and an older one still IN_PROGRESS in the records
    const newer = record({ id: 'dep-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a', ecsDeploymentId: ECS_STRANGER });

    // When ECS reports the older one completed
    const verdict = verdictForEvent(sample('completed'), [newer, OURS]);

    // Then the older one is the one that changes
    expect(verdict).toEqual({
      deploymentId: OURS.id,
      to: 'SUCCEEDED',
      note: `ECS deployment ${ECS_OURS} completed.`,
    });
  });
});

describe('rollbackTargetOf', () => {
  it.each<[string, string | undefined, string | undefined]>([
    ['the circuit breaker rolling back', ROLLING_BACK, ECS_PREVIOUS],
    ['the same without the final period', ROLLING_BACK.slice(0, -1), ECS_PREVIOUS],
    ['the same with trailing whitespace', `${ROLLING_BACK} \n`, ECS_PREVIOUS],
    ['a deployment in progress', `ECS deployment ${ECS_OURS} in progress.`, undefined],
    ['a deployment completed', `ECS deployment ${ECS_OURS} completed.`, undefined],
    ['the circuit breaker failing a deployment', TASKS_FAILED, undefined],
    ['an empty reason', '', undefined],
    ['no reason', undefined, undefined],
  ])('reads %s', (_, reason, target) => {
    expect(rollbackTargetOf(reason)).toBe(target);
  });
});

describe('serviceFromArn', () => {
  it.each<[string, string, { cluster: string; service: string } | undefined]>([
    [
      'a service ARN',
      'arn:aws:ecs:us-east-1:123456789012:service/shop-prod/backend',
      { cluster: 'shop-prod', service: 'backend' },
    ],
    [
      'a GovCloud service ARN',
      'arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/shop-prod/backend',
      { cluster: 'shop-prod', service: 'backend' },
    ],
    ['the old format, without the cluster', 'arn:aws:ecs:us-east-1:123456789012:service/backend', undefined],
    ['a task ARN', 'arn:aws:ecs:us-east-1:123456789012:task/shop-prod/5c2d9e7f1a3b4c6d8e0f2a4b6c8d0e1f', undefined],
    ['a path with one segment too many', 'arn:aws:ecs:us-east-1:123456789012:service/shop-prod/backend/x', undefined],
    ['another service namespace', 'arn:aws:lambda:us-east-1:123456789012:service/shop-prod/backend', undefined],
    ['a malformed string', 'shop-prod/backend', undefined],
    ['an empty string', '', undefined],
  ])('reads %s', (_, arn, expected) => {
    expect(serviceFromArn(arn)).toEqual(expected);
  });
});

describe('stateOfServiceDeployment', () => {
  const STATUS_REASON = 'Service deployment reached the status shown.';
  const ROLLBACK_REASON = 'Service deployment rolled back because the circuit breaker threshold was exceeded.';
  // Typed by ServiceDeploymentStatus: a status the SDK adds fails to compile until it is mapped here.
  const expected: Record<ServiceDeploymentStatus, { to: DeploymentState; note: string } | undefined> = {
    PENDING: undefined,
    IN_PROGRESS: undefined,
    STOP_REQUESTED: undefined,
    SUCCESSFUL: { to: 'SUCCEEDED', note: STATUS_REASON },
    ROLLBACK_REQUESTED: { to: 'ROLLED_BACK', note: ROLLBACK_REASON },
    ROLLBACK_IN_PROGRESS: { to: 'ROLLED_BACK', note: ROLLBACK_REASON },
    ROLLBACK_SUCCESSFUL: { to: 'ROLLED_BACK', note: ROLLBACK_REASON },
    ROLLBACK_FAILED: { to: 'FAILED', note: `the rollback failed too: ${ROLLBACK_REASON}` },
    STOPPED: { to: 'FAILED', note: `ECS stopped the deployment: ${STATUS_REASON}` },
  };

  it('maps every status the SDK knows', () => {
    expect(Object.keys(expected).sort()).toEqual(Object.values(ServiceDeploymentStatus).sort());
  });

  it.each(Object.entries(expected))('maps %s', (status, state) => {
    // Given a service deployment with a status reason, and a rollback reason once ECS rolled back
    const rolledBack = status.startsWith('ROLLBACK_');
    const deployment = {
      status: status as ServiceDeploymentStatus,
      statusReason: STATUS_REASON,
      ...(rolledBack ? { rollback: { reason: ROLLBACK_REASON, startedAt: new Date('2026-11-22T03:12:41Z') } } : {}),
    };

    // When it is read as Slipway's state
    // Then the state and its note are exactly these
    expect(stateOfServiceDeployment(deployment)).toEqual(state);
  });

  it.each<[ServiceDeploymentStatus, { to: DeploymentState; note: string }]>([
    ['SUCCESSFUL', { to: 'SUCCEEDED', note: 'ECS reached a steady state' }],
    ['ROLLBACK_SUCCESSFUL', { to: 'ROLLED_BACK', note: 'ECS rolled the deployment back' }],
    ['ROLLBACK_FAILED', { to: 'FAILED', note: 'the rollback failed too' }],
    ['STOPPED', { to: 'FAILED', note: 'ECS stopped the deployment' }],
  ])('says what %s means when ECS gives no reason', (status, state) => {
    expect(stateOfServiceDeployment({ status })).toEqual(state);
  });

  it('is undefined for a service deployment without a status', () => {
    expect(stateOfServiceDeployment({})).toBeUndefined();
  });
});

describe('stateFromServiceDeployments', () => {
  const ours = (rolloutState: Deployment['rolloutState'], rolloutStateReason: string | undefined): Deployment => ({
    id: ECS_OURS,
    status: 'PRIMARY',
    taskDefinition: `${REVISION}:31`,
    desiredCount: 2,
    runningCount: rolloutState === 'COMPLETED' ? 2 : 0,
    failedTasks: rolloutState === 'FAILED' ? 3 : 0,
    rolloutState,
    ...(rolloutStateReason ? { rolloutStateReason } : {}),
  });
  const rollback: Deployment = {
    id: ECS_ROLLBACK,
    status: 'PRIMARY',
    taskDefinition: `${REVISION}:12`,
    desiredCount: 2,
    runningCount: 1,
    failedTasks: 0,
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: ROLLING_BACK,
  };
  const failedAndDraining: Deployment = { ...ours('FAILED', TASKS_FAILED), status: 'ACTIVE' };

  it.each<[string, Deployment[], { to: DeploymentState; note: string } | undefined]>([
    [
      'ours COMPLETED: SUCCEEDED',
      [ours('COMPLETED', `ECS deployment ${ECS_OURS} completed.`)],
      { to: 'SUCCEEDED', note: `ECS deployment ${ECS_OURS} completed.` },
    ],
    ['ours FAILED, nothing rolling back: FAILED', [ours('FAILED', TASKS_FAILED)], { to: 'FAILED', note: TASKS_FAILED }],
    ['ours IN_PROGRESS: still running', [ours('IN_PROGRESS', `ECS deployment ${ECS_OURS} in progress.`)], undefined],
    [
      'a rollback to what ours replaced, ours FAILED beside it: ROLLED_BACK',
      [rollback, failedAndDraining],
      { to: 'ROLLED_BACK', note: ROLLING_BACK },
    ],
    [
      'a rollback to what ours replaced, ours already drained: ROLLED_BACK',
      [rollback],
      { to: 'ROLLED_BACK', note: ROLLING_BACK },
    ],
    [
      'a rollback to some other deployment, ours IN_PROGRESS: still running',
      [
        {
          ...rollback,
          rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${ECS_STRANGER}.`,
        },
        { ...ours('IN_PROGRESS', undefined), status: 'ACTIVE' },
      ],
      undefined,
    ],
    [
      'ours gone, replaced by a deployment Slipway did not make: nothing to say yet',
      [
        {
          ...rollback,
          id: ECS_STRANGER,
          taskDefinition: `${REVISION}:40`,
          rolloutState: 'COMPLETED',
          rolloutStateReason: `ECS deployment ${ECS_STRANGER} completed.`,
        },
      ],
      undefined,
    ],
    ['no deployments at all', [], undefined],
    [
      'ours COMPLETED without a reason',
      [ours('COMPLETED', undefined)],
      { to: 'SUCCEEDED', note: 'ECS reached a steady state' },
    ],
    [
      'ours FAILED without a reason',
      [ours('FAILED', undefined)],
      { to: 'FAILED', note: 'ECS reported the deployment failed' },
    ],
  ])('%s', (_, deployments, expected) => {
    // Given what DescribeServices lists for the service
    // When the record's outcome is read from it
    const state = stateFromServiceDeployments(OURS, deployments);

    // Then it is exactly this
    expect(state).toEqual(expected);
  });

  it('takes a completed rollback ECS no longer explains: ours drained, the service back on what ran before', () => {
    // Given DescribeServices after the rollback finished: only the deployment back on revision 12
    const backOnPrevious: Deployment = {
      ...rollback,
      taskDefinition: `${REVISION}:12`,
      rolloutState: 'COMPLETED',
      rolloutStateReason: `ECS deployment ${ECS_ROLLBACK} completed.`,
    };

    // When the outcome of ours (12 → 31) is read, it was rolled back
    expect(stateFromServiceDeployments(OURS, [backOnPrevious])).toEqual({
      to: 'ROLLED_BACK',
      note: `ECS no longer lists ${ECS_OURS}; the service runs ${REVISION}:12 again`,
    });

    // And a restart, which never changed the revision, is not taken for one
    const restart = record({ kind: 'restart', to: { taskDefinitionArn: `${REVISION}:12`, images: {} } });
    expect(stateFromServiceDeployments(restart, [backOnPrevious])).toBeUndefined();
    // Nor is a rollback still running
    expect(stateFromServiceDeployments(OURS, [{ ...backOnPrevious, rolloutState: 'IN_PROGRESS' }])).toBeUndefined();
  });

  it('does not take a rollback for ours when the record does not know what ran before', () => {
    // Given a record whose from has no ECS deployment, and a deployment rolling back to one
    const unknownFrom = record({ from: { images: {} } });

    // When the outcome is read, ours is still running
    expect(
      stateFromServiceDeployments(unknownFrom, [rollback, { ...ours('IN_PROGRESS', undefined), status: 'ACTIVE' }]),
    ).toBe(undefined);
  });
});

describe('transitions on an ECS event stamped the same second as the last one applied', () => {
  it('let only a FAILED deployment become ROLLED_BACK, the rollback ECS started in that second', () => {
    for (const to of DEPLOYMENT_STATES) {
      expect({ to, sameInstantFrom: transition(to, '2026-11-22T03:12:14.000Z').sameInstantFrom }).toEqual({
        to,
        sameInstantFrom: to === 'ROLLED_BACK' ? ['FAILED'] : undefined,
      });
    }
  });
});
