import { jest } from '@jest/globals';

/** What `act` writes to stdout and stderr, as lines; nothing reaches the terminal. */
export async function captureOutput(act: () => unknown): Promise<{ stdout: string[]; stderr: string[] }> {
  const written = { stdout: [] as string[], stderr: [] as string[] };
  const spies = (['stdout', 'stderr'] as const).map((name) =>
    jest.spyOn(process[name], 'write').mockImplementation((chunk: string | Uint8Array) => {
      written[name].push(String(chunk));
      return true;
    }),
  );
  try {
    await act();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const lines = (chunks: string[]) => chunks.join('').split('\n').filter(Boolean);
  return { stdout: lines(written.stdout), stderr: lines(written.stderr) };
}

/** The CloudWatch embedded-metric documents among lines written to stdout (log lines are JSON too). */
export const emfDocuments = (lines: string[]): Array<Record<string, unknown>> =>
  lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((document) => '_aws' in document);

/**
 * The CloudWatch embedded-metric lines written to stdout while `act` runs, with metrics on
 * (test/support/env.ts turns them off for every test; each singleMetric() reads it when made).
 */
export async function captureEmf(act: () => unknown): Promise<Array<Record<string, unknown>>> {
  const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  try {
    return emfDocuments((await captureOutput(act)).stdout);
  } finally {
    process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  }
}
