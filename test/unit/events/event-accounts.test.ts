import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import * as z from 'zod/mini';
import { makeHandler as makeEcsDeploymentState } from '../../../functions/events/ecs-deployment-state';
import type { Deployments } from '../../../lib/deploy/deployments';
import type { DeadLetters } from '../../../lib/events/dead-letter';
import { eventHandler } from '../../../lib/events/handler';
import { logger, metrics } from '../../../lib/observability';
import { lambdaContext } from '../../support/http';

/**
 * The event edge hears the control plane's own account and the accounts config names, and no other: an
 * event naming another account is dropped before its schema or its handler sees it, with a log line naming
 * the event and the account, and a metric. The samples are events/'s, with only `account` changed.
 */

type Sample = Record<string, unknown>;
const sample = (name: string): Sample => JSON.parse(readFileSync(`events/${name}.json`, 'utf8'));
const withAccount = (name: string, account: string): Sample => ({ ...sample(name), account });

// lambdaContext's function runs in 123456789012, the account of every sample in events/.
const OWN = '123456789012';
const MEMBER = '222222222222';
const STRANGER = '999999999999';
const SAMPLES = [
  'ecs.deployment-completed',
  'ecr.image-push.tagged',
  'ecr.image-scan.findings',
  'cloudwatch.alarm-state-change',
  'rds.snapshot-created',
  'schedule.reconcile-deployments',
];

function edge(memberAccounts?: ReadonlySet<string>) {
  const handle = jest.fn(async () => 'handled');
  const send = jest.fn<DeadLetters['send']>().mockResolvedValue(undefined);
  const handler = eventHandler(
    { name: 'anyEvent', schema: z.object({ id: z.string() }) },
    { deadLetters: { send }, ...(memberAccounts ? { memberAccounts: () => memberAccounts } : {}) },
    handle,
  );
  return { handler, handle, send };
}

describe('the event edge, by the account an event names', () => {
  const context = lambdaContext({ functionName: 'slipway-test-anyEvent' });

  it.each(SAMPLES)('hands %s from the control plane’s own account to its handler', async (name) => {
    // Given the edge of a control plane with one member account
    const { handler, handle } = edge(new Set([MEMBER]));

    // When the sample arrives as published, from the control plane's own account
    const result = await handler(withAccount(name, OWN), context);

    // Then the handler has it
    expect(handle).toHaveBeenCalledTimes(1);
    expect(result).toEqual({ handled: true, result: 'handled' });
  });

  it.each(SAMPLES)('hands %s from a configured account to its handler', async (name) => {
    const { handler, handle } = edge(new Set([MEMBER]));

    const result = await handler(withAccount(name, MEMBER), context);

    expect(handle).toHaveBeenCalledTimes(1);
    expect(result).toEqual({ handled: true, result: 'handled' });
  });

  it.each(SAMPLES)('drops %s from an account config does not name, before any handler logic', async (name) => {
    // Given the edge of a control plane with one member account
    const { handler, handle, send } = edge(new Set([MEMBER]));
    const event = withAccount(name, STRANGER);

    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);

    // When the sample arrives from another account
    const result = await handler(event, context);

    // Then no handler sees it, nothing is dead-lettered, and the answer says why
    expect(handle).not.toHaveBeenCalled();
    expect(send).not.toHaveBeenCalled();
    const reason = `anyEvent ignores this event: account ${STRANGER} is neither the control plane's nor one config names under accounts`;
    expect(result).toEqual({ handled: false, ignored: true, reason });
    // And a log line names the event and the account
    expect(warn).toHaveBeenCalledWith('event from an unknown account ignored', {
      eventId: event.id,
      account: STRANGER,
      reason,
    });
    warn.mockRestore();
  });

  it('counts each dropped event in a metric, and not as handled', async () => {
    const { handler } = edge(new Set([MEMBER]));
    const added = jest.spyOn(metrics, 'addMetric');

    try {
      await handler(withAccount('ecs.deployment-completed', STRANGER), context);

      expect(added.mock.calls.map(([name, , value]) => [name, value])).toEqual([['EventsFromUnknownAccounts', 1]]);
    } finally {
      added.mockRestore();
    }
  });

  it('drops an event of a member account when config names none', async () => {
    // Given the edge of a control plane with no member account
    const { handler, handle } = edge();

    const result = await handler(withAccount('ecs.deployment-completed', MEMBER), context);

    expect(handle).not.toHaveBeenCalled();
    expect(result).toMatchObject({ handled: false, ignored: true });
  });

  it('drops an event from another account even when its schema would refuse it: nothing of it is dead-lettered', async () => {
    const { handler, send } = edge(new Set([MEMBER]));
    const { id: _id, ...shapeless } = withAccount('ecs.deployment-completed', STRANGER);

    const result = await handler(shapeless, context);

    expect(send).not.toHaveBeenCalled();
    expect(result).toMatchObject({ handled: false, ignored: true });
  });

  it('hears every account on this machine, where serverless-offline names no account for the function', async () => {
    // Given serverless-offline's context, whose invokedFunctionArn is no ARN
    const { handler, handle } = edge(new Set([MEMBER]));
    const offline = lambdaContext({ invokedFunctionArn: 'offline_invokedFunctionArn_for_anyEvent' });

    await handler(withAccount('ecs.deployment-completed', STRANGER), offline);

    expect(handle).toHaveBeenCalledTimes(1);
  });

  it('checks a real function the same way: the deployments never see an ECS event from another account', async () => {
    // Given ecsDeploymentState with deployments that would apply any event
    const onEcsEvent = jest.fn<Deployments['onEcsEvent']>();
    const send = jest.fn<DeadLetters['send']>();
    const handler = makeEcsDeploymentState({
      deployments: { onEcsEvent },
      deadLetters: { send },
      memberAccounts: () => new Set([MEMBER]),
    });

    // When ECS's completion event arrives from an account config does not name
    const result = await handler(withAccount('ecs.deployment-completed', STRANGER), context);

    // Then it is dropped
    expect(onEcsEvent).not.toHaveBeenCalled();
    expect(send).not.toHaveBeenCalled();
    expect(result).toMatchObject({ handled: false, ignored: true });
  });
});
