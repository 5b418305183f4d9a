import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { clients } from '../aws/traced-clients';
import { UpstreamFailed } from '../errors';
import { AlarmResponder } from '../health/alarm-responder';
import { LifecycleHook } from '../health/lifecycle-hook';
import { type ProbeOptions, probeAll } from '../health/probe';
import { registerSecretValue } from '../observability';
import { runtime } from '.';
import { deployments, idempotency, publisher } from './deployments';

let secrets: SecretsProvider | undefined;

/** A probe header's value from Secrets Manager: the whole secret, or one key of a JSON secret; reused for 5 minutes. */
export async function secretHeaderValue(reference: { fromSecret: string; key?: string }): Promise<string> {
  secrets ??= new SecretsProvider({ awsSdkV3Client: clients.secretsManager() });
  let value: unknown;
  try {
    value = reference.key
      ? ((await secrets.get(reference.fromSecret, { maxAge: 300, transform: 'json' })) as Record<string, unknown>)?.[
          reference.key
        ]
      : await secrets.get(reference.fromSecret, { maxAge: 300 });
  } catch (error) {
    throw new UpstreamFailed(`cannot read secret ${reference.fromSecret} for a probe header`, { cause: error });
  }
  if (typeof value !== 'string' || value === '') {
    throw new UpstreamFailed(
      `secret ${reference.fromSecret}${reference.key ? ` key ${reference.key}` : ''} has no string value`,
    );
  }
  registerSecretValue(value);
  return value;
}

export function probeOptions(): ProbeOptions {
  return { concurrency: runtime().config.probes.concurrency, resolveHeader: secretHeaderValue };
}

let responder: AlarmResponder | undefined;

export function alarmResponder(): AlarmResponder {
  const { env, config } = runtime();
  responder ??= new AlarmResponder({
    config,
    stage: env.stage,
    deployments: deployments(),
    idempotency: idempotency(),
    publisher: publisher(),
  });
  return responder;
}

let hook: LifecycleHook | undefined;

export function lifecycleHook(): LifecycleHook {
  const { env, config } = runtime();
  hook ??= new LifecycleHook({
    config,
    documents: clients.documents(),
    tableName: env.stateTable,
    probe: probeAll,
    probeOptions: probeOptions(),
  });
  return hook;
}
