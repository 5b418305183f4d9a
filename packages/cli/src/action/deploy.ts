import { DEPLOYMENT_FAILURES, type DeploymentRecord } from '../api';
import type { Command } from '../args';
import { deploymentFollowing } from '../commands';
import { redact } from '../errors';
import { deploymentHeadline, deploymentVerdict, duration, type Style, time } from '../format';
import { ApiClient } from '../http';
import { checkUrl } from '../profile';
import { requestFor } from '../requests';
import { type Clock, follow, plainProgress, realClock } from '../wait';
import { idTokenSource } from './id-token';
import { type DeployInputs, InputError, readInputs } from './inputs';
import { errorCommand, markdownCell, maskCommand, outputEntry } from './workflow-commands';

/**
 * The deploy action: the workflow's OIDC token for Slipway's auth.oidc rules, one deployment, and
 * (unless wait is false) its course followed as `slipway deploy --wait` follows it. Outputs the
 * deployment's id, final state and digest; the job summary shows its timeline; the step fails with
 * the reason when the deployment does not succeed or Slipway refuses it.
 */

export interface ActionIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  appendFile(path: string, text: string): void;
  version: string;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Milliseconds since the epoch, for the OIDC token's expiry. */
  now?: () => number;
}

const PLAIN: Style = { colour: false };
const SUCCESS = 0;
const FAILURE = 1;

export interface DeployOutputs {
  'deployment-id': string;
  state: string;
  digest: string;
}

export function outputsOf(record: DeploymentRecord): DeployOutputs {
  return { 'deployment-id': record.id, state: record.state, digest: record.to.digest ?? '' };
}

/** The job summary of a deployment: what it did, how it ended, and its timeline. */
export function deploymentSummary(record: DeploymentRecord, verdict: string): string {
  const rows = record.timeline.map(
    (entry) => `| ${time(entry.at)} | ${entry.state} | ${markdownCell(entry.note)} | ${markdownCell(entry.by)} |`,
  );
  return [
    `### Slipway: ${record.kind} ${record.app}/${record.environment}`,
    '',
    markdownCell(verdict),
    '',
    `Digest: \`${record.to.digest ?? '-'}\`${record.to.tag ? ` (tag \`${record.to.tag}\`)` : ''}`,
    '',
    '| Time | State | Note | By |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** The job summary of a deployment that never started: Slipway refused it, or could not be asked. */
export function refusalSummary(inputs: Pick<DeployInputs, 'app' | 'environment'>, reason: string): string {
  return [`### Slipway: deploy ${inputs.app}/${inputs.environment} was not started`, '', markdownCell(reason), ''].join(
    '\n',
  );
}

function deployCommand(inputs: DeployInputs): Extract<Command, { name: 'deploy' }> {
  return {
    name: 'deploy',
    app: inputs.app,
    environment: inputs.environment,
    ...(inputs.tag !== undefined ? { tag: inputs.tag } : {}),
    ...(inputs.digest !== undefined ? { digest: inputs.digest } : {}),
    ...(inputs.reason !== undefined ? { reason: inputs.reason } : {}),
    dryRun: false,
    wait: inputs.wait,
    timeoutMinutes: inputs.timeoutMinutes,
  };
}

export async function runDeployAction(io: ActionIo): Promise<number> {
  const secrets: string[] = [];
  const print = (line: string) => io.stdout(`${line}\n`);
  const summary = (markdown: string) => {
    if (io.env.GITHUB_STEP_SUMMARY) io.appendFile(io.env.GITHUB_STEP_SUMMARY, markdown);
  };
  const fail = (message: string) => {
    io.stdout(errorCommand(redact(message, secrets)));
    return FAILURE;
  };

  let inputs: DeployInputs;
  try {
    inputs = readInputs(io.env);
  } catch (error) {
    if (error instanceof InputError) return fail(error.message);
    throw error;
  }
  const writeOutputs = (record: DeploymentRecord) => {
    if (!io.env.GITHUB_OUTPUT) return;
    for (const [name, value] of Object.entries(outputsOf(record))) {
      io.appendFile(io.env.GITHUB_OUTPUT, outputEntry(name, value));
    }
  };
  let record: DeploymentRecord | undefined;
  try {
    const url = checkUrl(inputs.url, 'input url');
    const bearer = idTokenSource({
      env: io.env,
      audience: inputs.audience,
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.now ? { now: io.now } : {}),
      onToken: (jwt) => {
        secrets.push(jwt);
        io.stdout(maskCommand(jwt));
      },
    });
    // The first token before anything else: a job without id-token: write fails here, saying so.
    const token = await bearer();
    const client = new ApiClient({
      settings: { url, urlSource: 'input url', token, tokenSource: "the workflow's OIDC token" },
      bearer,
      ...(io.fetch ? { fetch: io.fetch } : {}),
      userAgent: `slipway-action/${io.version}`,
    });
    ({ deployment: record } = await client.send<{ deployment: DeploymentRecord }>(requestFor(deployCommand(inputs))));
    print(deploymentHeadline(PLAIN, record));
    let timedOut = false;
    if (inputs.wait) {
      const outcome = await follow(record, deploymentFollowing(client, record.id, PLAIN), {
        timeoutMs: inputs.timeoutMinutes * 60_000,
        // A cancelled job stops the step; the deployment goes on, as after Ctrl-C.
        signal: new AbortController().signal,
        clock: io.clock ?? realClock,
        progress: plainProgress(io.stdout),
      });
      record = outcome.record;
      timedOut = outcome.kind === 'timeout';
    }
    writeOutputs(record);
    const verdict = timedOut
      ? `Gave up following ${record.id} after ${duration(inputs.timeoutMinutes * 60_000)}; it is still ${record.state} on the control plane`
      : inputs.wait
        ? deploymentVerdict(PLAIN, record)
        : `Deployment ${record.id} is ${record.state}; not followed (wait: false)`;
    summary(deploymentSummary(record, verdict));
    print(verdict);
    if (timedOut || DEPLOYMENT_FAILURES.includes(record.state)) return fail(verdict);
    return SUCCESS;
  } catch (error) {
    // Refused (4xx), unreachable, no token: each error's message says which, and never holds the token.
    const message = redact(error instanceof Error ? error.message : String(error), secrets);
    if (record) {
      writeOutputs(record);
      summary(deploymentSummary(record, `Stopped following ${record.id}: ${message}`));
    } else {
      summary(refusalSummary(inputs, message));
    }
    return fail(message);
  }
}
