import { format } from 'node:util';
import { logger } from '../../lib/observability';

/** Everything written to stdout, stderr or the console while `act` runs, at debug level. */
export async function captureLogs<T>(act: () => Promise<T>): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const consoleMethods = methods.map((method) => console[method]);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
  }
  for (const method of methods) {
    console[method] = (...args: unknown[]) => {
      chunks.push(`${format(...args)}\n`);
    };
  }
  logger.setLogLevel('DEBUG');
  try {
    const result = await act();
    return { result, output: chunks.join('') };
  } finally {
    logger.setLogLevel('SILENT');
    streams.forEach((stream, index) => {
      stream.write = writes[index] as typeof stream.write;
    });
    methods.forEach((method, index) => {
      console[method] = consoleMethods[index] as (typeof console)[typeof method];
    });
  }
}
