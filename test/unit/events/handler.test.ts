import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { makeHandler as makeEcsDeploymentState } from '../../../functions/events/ecs-deployment-state';
import { makeHandler as makeReconcileDeployments } from '../../../functions/schedules/reconcile-deployments';
import type { Deployments } from '../../../lib/deploy/deployments';
import type { DeadLetters } from '../../../lib/events/dead-letter';
import { lambdaContext } from '../../support/http';

type Sample = Record<string, unknown> & { detail: Record<string, unknown> };

function sample(name: string): Sample {
  return JSON.parse(readFileSync(`events/${name}.json`, 'utf8'));
}

function fakes() {
  return {
    onEcsEvent: jest.fn<Deployments['onEcsEvent']>(),
    reconcile: jest.fn<Deployments['reconcile']>(),
    send: jest.fn<DeadLetters['send']>(),
  };
}

describe('ecsDeploymentState', () => {
  const context = lambdaContext({ functionName: 'slipway-test-ecsDeploymentState' });

  function handlerWith(fake: ReturnType<typeof fakes>) {
    return makeEcsDeploymentState({ deployments: { onEcsEvent: fake.onEcsEvent }, deadLetters: { send: fake.send } });
  }

  it('hands a valid event to the deployments and returns what they did', async () => {
    // Given deployments that apply the event
    const fake = fakes();
    const outcome = {
      applied: true,
      reason: 'IN_PROGRESS → SUCCEEDED',
      deploymentId: 'dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f',
    };
    fake.onEcsEvent.mockResolvedValue(outcome);

    // When ECS reports a deployment completed
    const result = await handlerWith(fake)(sample('ecs.deployment-completed'), context);

    // Then the parsed event (only the fields the schema knows) is handed over, once, with the control plane's
    // own account (from the function's ARN) and region
    expect(fake.onEcsEvent).toHaveBeenCalledTimes(1);
    expect(fake.onEcsEvent).toHaveBeenCalledWith(
      {
        id: '8c1d4e7f-2b5a-4c9d-8e0f-3a6b9c2d5e8f',
        source: 'aws.ecs',
        'detail-type': 'ECS Deployment State Change',
        account: '123456789012',
        time: '2026-11-22T03:09:47Z',
        region: 'us-east-1',
        resources: ['arn:aws:ecs:us-east-1:123456789012:service/shop-prod/backend'],
        detail: {
          eventType: 'INFO',
          eventName: 'SERVICE_DEPLOYMENT_COMPLETED',
          deploymentId: 'ecs-svc/4815162342081516234',
          updatedAt: '2026-11-22T03:09:46Z',
          reason: 'ECS deployment ecs-svc/4815162342081516234 completed.',
        },
      },
      { account: '123456789012', region: 'us-east-1' },
    );
    // And nothing is dead-lettered
    expect(fake.send).not.toHaveBeenCalled();
    expect(result).toEqual({ handled: true, result: outcome });
  });

  it.each([
    ['an event missing detail.deploymentId', 'detail.deploymentId: Invalid input: expected string, received undefined'],
    ['an event of another detail-type', 'detail-type: Invalid input: expected "ECS Deployment State Change"'],
  ])('dead-letters %s, untouched, and says why', async (what, why) => {
    // Given an event the schema refuses
    const fake = fakes();
    fake.send.mockResolvedValue(undefined);
    const event = sample('ecs.deployment-failed');
    if (what.includes('deploymentId')) delete event.detail.deploymentId;
    else event['detail-type'] = 'ECS Service Action';
    const original = structuredClone(event);

    // When it is handled
    const result = await handlerWith(fake)(event, context);

    // Then it is kept in the dead-letter queue exactly as it came, with the reason
    const reason = `ecsDeploymentState cannot handle this event: ${why}`;
    expect(fake.send).toHaveBeenCalledTimes(1);
    expect(fake.send).toHaveBeenCalledWith(original, reason);
    // And the deployments never see it
    expect(fake.onEcsEvent).not.toHaveBeenCalled();
    expect(result).toEqual({ handled: false, deadLettered: true, reason });
  });

  it('fails when the dead-letter queue does not take the event, so that Lambda retries it', async () => {
    // Given a dead-letter queue that refuses messages
    const fake = fakes();
    fake.send.mockRejectedValue(new Error('the dead-letter queue did not take the event'));
    const event = sample('ecs.deployment-failed');
    delete event.detail.deploymentId;

    // When an event the schema refuses is handled
    // Then the invocation fails
    await expect(handlerWith(fake)(event, context)).rejects.toThrow('the dead-letter queue did not take the event');
    expect(fake.onEcsEvent).not.toHaveBeenCalled();
  });

  it('fails when the deployments fail, so that Lambda retries the event', async () => {
    // Given deployments whose store cannot be reached
    const fake = fakes();
    fake.onEcsEvent.mockRejectedValue(new Error('the state table did not answer'));

    // When a valid event is handled
    // Then the invocation fails, and the event is not dead-lettered: the retries may still apply it
    await expect(handlerWith(fake)(sample('ecs.deployment-failed'), context)).rejects.toThrow(
      'the state table did not answer',
    );
    expect(fake.send).not.toHaveBeenCalled();
  });
});

describe('reconcileDeployments', () => {
  const context = lambdaContext({ functionName: 'slipway-test-reconcileDeployments' });

  function handlerWith(fake: ReturnType<typeof fakes>) {
    return makeReconcileDeployments({ deployments: { reconcile: fake.reconcile }, deadLetters: { send: fake.send } });
  }

  it('reconciles once per scheduled event and returns what it settled', async () => {
    // Given one deployment the reconciler settles
    const fake = fakes();
    const settled = [{ deploymentId: 'dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f', outcome: 'SUCCEEDED' }];
    fake.reconcile.mockResolvedValue(settled);

    // When the schedule fires
    const result = await handlerWith(fake)(sample('schedule.reconcile-deployments'), context);

    // Then the deployments are reconciled exactly once
    expect(fake.reconcile).toHaveBeenCalledTimes(1);
    expect(fake.reconcile).toHaveBeenCalledWith();
    expect(fake.send).not.toHaveBeenCalled();
    expect(result).toEqual({ handled: true, result: { settled } });
  });

  it('dead-letters an event that is not a scheduled event', async () => {
    const fake = fakes();
    fake.send.mockResolvedValue(undefined);
    const event = sample('ecs.deployment-completed');

    const result = await handlerWith(fake)(event, context);

    const reason =
      'reconcileDeployments cannot handle this event: detail-type: Invalid input: expected "Scheduled Event"';
    expect(fake.send).toHaveBeenCalledTimes(1);
    expect(fake.send).toHaveBeenCalledWith(sample('ecs.deployment-completed'), reason);
    expect(fake.reconcile).not.toHaveBeenCalled();
    expect(result).toEqual({ handled: false, deadLettered: true, reason });
  });

  it('fails when reconciling fails', async () => {
    const fake = fakes();
    fake.reconcile.mockRejectedValue(new Error('the state table did not answer'));

    await expect(handlerWith(fake)(sample('schedule.reconcile-deployments'), context)).rejects.toThrow(
      'the state table did not answer',
    );
  });
});
