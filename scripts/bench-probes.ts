/**
 * Probe benchmark: one minute's probe run against 1,000 health checks. Local HTTP servers on
 * 127.0.0.1 answer each GET after a fixed latency, so the floor is known: with `concurrency`
 * probes in flight, no pool can finish sooner than targets × latency / concurrency. The wall
 * time is read against that floor, and the memory the run takes against the RSS just before.
 * The servers share the process with the probes, so their work is inside the measured time.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { median, ratio } from '../lib/bench/stats';
import { type ProbeTarget, probeAll } from '../lib/health/probe';

const SERVERS = 10;
const RUNS = 3;
const SAMPLE_EVERY_MS = 10;
const MiB = 1024 * 1024;

export interface ProbeBenchOptions {
  targets?: number;
  latencyMs?: number;
  concurrency?: number;
}

function startServer(latencyMs: number): Promise<Server> {
  const body = JSON.stringify({ status: 'healthy', checks: { db: { status: 'healthy' } } });
  const server = createServer((_, res) => {
    const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(body), latencyMs);
    res.on('close', () => clearTimeout(timer));
  });
  // Room for every probe in flight at once, whatever the concurrency asked for.
  return new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 1_024 }, () => resolve(server)));
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function benchProbes(options: ProbeBenchOptions = {}) {
  const targets = options.targets ?? 1_000;
  const latencyMs = options.latencyMs ?? 50;
  const concurrency = options.concurrency ?? 32;
  const servers = await Promise.all(Array.from({ length: SERVERS }, () => startServer(latencyMs)));
  try {
    const ports = servers.map((server) => (server.address() as AddressInfo).port);
    const probeTargets: ProbeTarget[] = Array.from({ length: targets }, (_, index) => ({
      app: `app-${index}`,
      environment: 'production',
      checkName: 'check-1',
      check: {
        url: `http://127.0.0.1:${ports[index % SERVERS]}/health`,
        timeoutMs: 5_000,
        expectJson: { path: 'checks.db.status', equals: 'healthy' },
        followRedirects: false,
        allowUntrustedCertificate: false,
      },
    }));

    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, SAMPLE_EVERY_MS);
    const wallMs: number[] = [];
    try {
      for (let run = 0; run < RUNS; run++) {
        const started = performance.now();
        const results = await probeAll(probeTargets, { concurrency });
        wallMs.push(Math.round(performance.now() - started));
        const failed = results.find((result) => !result.ok);
        // A run with failures measures timeouts, not the pool.
        if (failed) throw new Error(`probe bench: ${failed.check} of ${failed.app} failed: ${failed.reason}`);
      }
    } finally {
      clearInterval(sampler);
    }
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    const floorMs = (targets * latencyMs) / concurrency;
    return {
      targets,
      latencyMs,
      concurrency,
      wallMs,
      floorMs,
      ratio: ratio(median(wallMs), floorMs),
      peakRssMiB: Math.round((peakRss / MiB) * 10) / 10,
      baselineRssMiB: Math.round((baselineRss / MiB) * 10) / 10,
    };
  } finally {
    await Promise.all(servers.map(closeServer));
  }
}
