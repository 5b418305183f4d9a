import { main } from './main';

/** `slipway` in this process: its arguments, its streams and environment, Ctrl-C; answers the exit code. */
export function runInProcess(version: string): Promise<number> {
  return main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    version,
    // Only while following: Ctrl-C then stops the following, not what it follows.
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  });
}
