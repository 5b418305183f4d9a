import { parseCommandLine } from './args';
import { type Context, runCommand } from './commands';
import { errorLine, exitCodeOf } from './errors';
import { styleFor } from './format';
import { ApiClient } from './http';
import { type ProfileReader, resolveSettings } from './profile';
import { commandHelp, MAIN_USAGE } from './usage';
import { type Clock, realClock } from './wait';

/**
 * `slipway`: the control plane's command line. `main` takes the arguments and the outside world
 * (streams, environment, fetch, clock, Ctrl-C) and answers with the exit code; it never exits itself.
 */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Whether stdout is a terminal: tables in colour and a spinner, else plain lines. */
  isTTY: boolean;
  version: string;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Calls `handler` on Ctrl-C until the returned function is called. */
  onInterrupt?(handler: () => void): () => void;
  readProfile?: ProfileReader;
  home?: string;
  platform?: NodeJS.Platform;
  requestTimeoutMs?: number;
}

export async function main(argv: ReadonlyArray<string>, io: Io): Promise<number> {
  // The configured token is redacted from anything printed, whatever quotes it.
  const secrets: string[] = [];
  try {
    const invocation = parseCommandLine(argv);
    if (invocation.kind === 'help') {
      io.stdout(`${invocation.command ? commandHelp(invocation.command) : MAIN_USAGE}\n`);
      return 0;
    }
    if (invocation.kind === 'version') {
      io.stdout(`slipway ${io.version}\n`);
      return 0;
    }
    const { command, globals } = invocation;
    const settings = resolveSettings({
      flags: globals,
      env: io.env,
      ...(io.readProfile ? { read: io.readProfile } : {}),
      ...(io.home ? { home: io.home } : {}),
      ...(io.platform ? { platform: io.platform } : {}),
    });
    secrets.push(settings.token);
    const client = new ApiClient({
      settings,
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.requestTimeoutMs ? { timeoutMs: io.requestTimeoutMs } : {}),
      userAgent: `slipway-cli/${io.version}`,
    });
    const context: Context = {
      client,
      json: globals.json,
      style: styleFor(io.isTTY && !globals.json, io.env),
      stdout: (text) => io.stdout(text),
      stderr: (text) => io.stderr(text),
      isTTY: io.isTTY,
      clock: io.clock ?? realClock,
      onInterrupt: io.onInterrupt ?? (() => () => undefined),
    };
    return await runCommand(context, command);
  } catch (error) {
    io.stderr(`${errorLine(error, secrets)}\n`);
    return exitCodeOf(error);
  }
}
