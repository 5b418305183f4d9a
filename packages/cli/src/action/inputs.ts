import { DEFAULT_TIMEOUT_MINUTES, timeoutMinutesOf } from '../wait';

/** The action's inputs (actions/deploy/action.yml), checked; a wrong one is an InputError naming it. */

export interface DeployInputs {
  url: string;
  app: string;
  environment: string;
  tag?: string;
  digest?: string;
  reason?: string;
  wait: boolean;
  timeoutMinutes: number;
  audience: string;
}

export class InputError extends Error {
  constructor(input: string, why: string) {
    super(`input ${input}: ${why}`);
    this.name = 'InputError';
  }
}

/** The runner passes input `name` as INPUT_<NAME>, upper-cased, spaces as underscores; unset ones as ''. */
function input(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`]?.trim();
  return value ? value : undefined;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = input(env, name);
  if (value === undefined) throw new InputError(name, 'required');
  return value;
}

// The YAML 1.2 core schema's booleans, which GitHub's own toolkit accepts for a boolean input.
const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

export function readInputs(env: NodeJS.ProcessEnv): DeployInputs {
  const tag = input(env, 'tag');
  const digest = input(env, 'digest');
  if ((tag === undefined) === (digest === undefined)) {
    throw new InputError('tag', tag === undefined ? 'give tag or digest' : 'give tag or digest, not both');
  }
  const waitText = input(env, 'wait') ?? 'true';
  if (!TRUE.includes(waitText) && !FALSE.includes(waitText)) {
    throw new InputError('wait', `${JSON.stringify(waitText)}: expected true or false`);
  }
  const timeoutText = input(env, 'timeout');
  const timeoutMinutes = timeoutText === undefined ? DEFAULT_TIMEOUT_MINUTES : timeoutMinutesOf(timeoutText);
  if (timeoutMinutes === undefined) {
    throw new InputError('timeout', `${JSON.stringify(timeoutText)}: expected minutes, a number above 0`);
  }
  const reason = input(env, 'reason');
  return {
    url: required(env, 'url'),
    app: required(env, 'app'),
    environment: required(env, 'environment'),
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...(reason !== undefined ? { reason } : {}),
    wait: TRUE.includes(waitText),
    timeoutMinutes,
    audience: input(env, 'audience') ?? 'slipway',
  };
}
