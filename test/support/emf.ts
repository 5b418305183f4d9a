import { jest } from '@jest/globals';

/**
 * The CloudWatch embedded-metric lines written to stdout while `act` runs, with metrics on
 * (test/support/env.ts turns them off for every test; each singleMetric() reads it when made).
 */
export async function captureEmf(act: () => unknown): Promise<Array<Record<string, unknown>>> {
  const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await act();
  } finally {
    write.mockRestore();
    process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}
