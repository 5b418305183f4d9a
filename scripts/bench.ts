/**
 * `npm run bench`: Slipway's benchmarks. Every figure is a ratio against a
 * baseline measured in the same run, because these machines are shared and
 * noisy. Results are printed and written to docs/benchmarks.md, one section
 * per benchmark.
 *
 * Bundles and cold starts: each function is bundled with the esbuild options
 * of serverless.yml, as is its floor (the SDK clients and commands its calls
 * need, alone); each bundle is then imported and invoked once with its sample
 * event in a fresh node process, several times, interleaved with its floor.
 * npm start and packaging: ready time, rebuild after one edit, and the peak RSS
 * of the whole process tree (bench-start.ts).
 *
 * Deploy: AWS calls per auto-approved deploy, by service, and the handler's own time
 * (see bench-deploy.ts). Release: deciding one push against 1,000 apps (bench-release.ts).
 * Probes: 1,000 health checks in one run against the floor their latency allows (bench-probes.ts).
 * Volume backups: backupVolume and restoreVolume on a tree of SLIPWAY_BENCH_VOLUME_MIB (default
 * 1024) against tar, and the archiving process's peak RSS at two sizes (bench-volume.ts).
 * PostgreSQL dumps: backupPostgres on a database of SLIPWAY_BENCH_DB_MIB (default 1024) against
 * pg_dump -Fc -f (bench-postgres.ts); without PostgreSQL installed, the section says so.
 *
 * The command line package: its tarball, and what `npm i` of it installs into an empty directory (cli-install.ts).
 *
 * `--only volume,postgres` runs some sections (cold-starts, start, deploy, release, probes,
 * volume, postgres, cli, console) and leaves the others' sections of the report as they were. The report is written
 * after each section, so a failure keeps what was measured before it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { hashToken } from '../lib/auth/tokens';
import { createDynamoDbClient } from '../lib/aws/clients/dynamodb';
import { type CliInstall, footprint, packAndInstall } from '../lib/bench/cli-install';
import { markdownTable, median, quantile, ratio, replaceSection, textTable } from '../lib/bench/stats';
import { writeResolvedConfig } from '../lib/config/load';
import { writeOpenApiDocument } from '../lib/http/openapi';
import { apiRoutes } from '../lib/http/registry';
import { buildBundles, handlerModule } from '../lib/local/bundles';
import type { CloudFormationResource } from '../lib/local/definitions';
import { readEsbuildSettings } from '../lib/local/esbuild-options';
import { ensureStateTable } from '../lib/local/provision';
import { declaredFunctions } from '../lib/local/serverless-cli';
import { startDynalite } from '../lib/local/servers';
import { resourcesFragment } from '../test/support/resources';
import {
  buildFloors,
  bundleBudget,
  EXPLAINED_GAPS,
  functionFloors,
  gapKey,
  VOLUME_WORKER_HANDLER,
} from '../test/template/sdk-floors';
import { benchConsole, CONSOLE_SECTION } from './bench-console';
import { benchDeploy, describeDeployBench } from './bench-deploy';
import { benchPostgres, describePostgresBench, postgresSection } from './bench-postgres';
import { benchProbes } from './bench-probes';
import { benchRelease } from './bench-release';
import { cleanCopy, measurePackage, measureStart, type PackageRun, type StartRun } from './bench-start';
import { benchVolume, describeVolumeBench, seconds, volumeSection } from './bench-volume';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname ?? '.', '..');
const REPORT = join(ROOT, 'docs', 'benchmarks.md');
const SECTION = 'Bundles and cold starts';
/** A function's cold start may take this many times its floor's. */
const COLD_START_GOAL = 1.5;
const DEPLOY_SECTION = 'Deploy: AWS calls and handler time';
const RELEASE_SECTION = 'Release: deciding one push against 1,000 apps';
const PROBES_SECTION = 'Probes: 1,000 targets in one invocation';
const VOLUME_SECTION = 'Volume backups: archive, restore and memory against tar';
const POSTGRES_SECTION = 'PostgreSQL dumps: backupPostgres against pg_dump';
const START_SECTION = 'npm start and packaging: time and memory';
const CLI_SECTION = 'The command line package: install size';
const SECTIONS = [
  'cold-starts',
  'start',
  'deploy',
  'release',
  'probes',
  'volume',
  'postgres',
  'cli',
  'console',
] as const;
type SectionName = (typeof SECTIONS)[number];

// Functions not behind the HTTP API are started with their own sample event.
const EVENT_SAMPLES: Record<string, string> = {
  ecsDeploymentState: 'ecs.deployment-completed.json',
  reconcileDeployments: 'schedule.reconcile-deployments.json',
  // A delete: decided from the event alone, so no call leaves the machine.
  ecrImageAction: 'ecr.image-delete.json',
  ecrImageScan: 'ecr.image-scan.clean.json',
  releaseDue: 'schedule.release-due.json',
  runProbes: 'schedule.run-probes.json',
  // An alarm of another stage: decided from the event alone.
  alarmState: 'cloudwatch.alarm-state-change.json',
  ecsLifecycleHook: 'hook.ecs-lifecycle.json',
  // The local stage configures no database: these answer from config alone.
  backupDatabase: 'schedule.backup-database.json',
  restoreDrill: 'schedule.restore-drill.json',
  reconcileBackups: 'schedule.reconcile-backups.json',
  rdsEvent: 'rds.snapshot-created.json',
  // The local stage configures no volume: answered from config alone.
  takeArchive: 'schedule.take-archive.json',
  // A job for an archive the table does not hold: answered UNKNOWN after one read.
  volumeWorker: 'worker.volume-job.json',
};

interface Sample {
  loadMs: number;
  totalMs: number;
  rss: number;
  status: number | string | undefined;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const KiB = 1024;

/** The functions serverless.yml declares, each with its handler module, and the one volume function stands for all. */
function serverlessFunctions(): Array<{ name: string; handler: string }> {
  return [
    ...Object.entries(declaredFunctions(ROOT)).map(([name, fn]) => ({ name, handler: handlerModule(fn.handler) })),
    { name: 'volumeWorker', handler: VOLUME_WORKER_HANDLER },
  ];
}

const RUNNER = `
const [bundle, eventFile] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const context = { awsRequestId: 'bench', functionName: 'bench', getRemainingTimeInMillis: () => 30000 };
const started = performance.now();
const { handler } = await import(bundle);
const loaded = performance.now();
// A handler that throws is still measured: its status says what it threw.
const response = await handler(event, context).catch((error) => ({ statusCode: 'threw ' + error.name }));
const done = performance.now();
const status = response?.statusCode ?? response?.hookStatus ?? (response?.handled === true ? 'handled' : response?.handled === false ? 'rejected' : undefined);
process.stdout.write(JSON.stringify({ loadMs: loaded - started, totalMs: done - started, rss: process.memoryUsage().rss, status }));
`;

async function coldStart(
  runner: string,
  bundlePath: string,
  eventFile: string,
  env: NodeJS.ProcessEnv,
): Promise<Sample> {
  const { stdout } = await run(process.execPath, [runner, bundlePath, eventFile], { cwd: ROOT, env, timeout: 30_000 });
  return JSON.parse(stdout) as Sample;
}

const INTRO =
  '# Benchmarks\n\nWritten by `npm run bench`. The machines these run on are shared and noisy, so absolute times mean little: every figure is read as a ratio against a baseline measured in the same run.\n';

/** A whole number of MiB from the environment, or the default. */
function sizeFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 16) throw new Error(`${name} takes a whole number of MiB, at least 16`);
  return value;
}

function sectionsToRun(only: string | undefined): Set<SectionName> {
  if (!only) return new Set(SECTIONS);
  const names = only.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new Error(`--only takes some of ${SECTIONS.join(', ')}; ${name} is not one`);
    }
  }
  return new Set(names as SectionName[]);
}

/** Bundles every function and the empty handler, and cold-starts each in turn; the section's body. */
async function coldStarts(runs: number, today: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'slipway-bench-'));
  // The event handlers read the state table: an embedded dynalite answers, so their cold start is their own.
  const dynamodb = await startDynalite(undefined);
  try {
    await ensureStateTable(
      createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' }),
      resourcesFragment('resources/state-table.yml').StateTable as CloudFormationResource,
      () => undefined,
    );
    const functions = serverlessFunctions();
    // What the functions read at cold start, as `sls package` and `npm start` write it.
    writeResolvedConfig('local');
    writeOpenApiDocument(apiRoutes);
    const runner = join(work, 'runner.mjs');
    writeFileSync(runner, RUNNER);
    // On this machine the token file stands in for Secrets Manager; the sample's placeholder token is not in it.
    const stateDir = join(work, 'state');
    mkdirSync(stateDir);
    writeFileSync(
      join(stateDir, 'tokens.json'),
      JSON.stringify({ tokens: [{ name: 'bench', sha256: hashToken('slw_bench-only'), roles: ['viewer'] }] }),
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      SLIPWAY_STAGE: 'local',
      SLIPWAY_VERSION: '0.0.0-bench',
      STATE_TABLE: 'slipway-local-state',
      BACKUP_BUCKET: 'slipway-local-backups',
      IS_OFFLINE: 'true',
      SLIPWAY_STATE_DIR: stateDir,
      AWS_REGION: 'us-east-1',
      // Nothing leaves the machine: every AWS call would go to a closed local port.
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    };

    // Every function as `sls package` bundles it, and its floor: the SDK clients and commands its calls need, alone.
    process.stderr.write('bundling every function and its floor\n');
    const settings = readEsbuildSettings(ROOT);
    const bundles = join(work, 'functions');
    const sizes = await buildBundles({
      entries: Object.fromEntries(functions.map((fn) => [fn.name, fn.handler])),
      outdir: bundles,
      settings,
      absWorkingDir: ROOT,
      write: true,
    });
    const floorDir = join(work, 'floors');
    mkdirSync(floorDir);
    const floors = await buildFloors(ROOT, functionFloors(ROOT, functions), floorDir, { write: true });
    // The bundles are ES modules in .js files, as in the packages (functions/package.json).
    for (const dir of [bundles, join(floorDir, 'out')]) writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');

    const header = [
      'function',
      'bundle KiB',
      'floor KiB',
      'budget KiB',
      'size',
      'cold start ms (median)',
      'p90',
      'of which module load',
      'floor ms',
      'floor load',
      '× floor',
      'RSS MiB',
      'status',
    ];
    const rows: string[][] = [];
    const gaps: string[] = [];
    let withinBudget = 0;
    let withinColdStart = 0;
    for (const fn of functions) {
      const bundlePath = join(bundles, `${fn.name}.js`);
      const size = sizes[fn.name] as number;
      const floor = floors.get(fn.name) as { bundle: string; bytes: number };
      const budget = bundleBudget(fn.name, floor.bytes);
      const sampleEvent = join(ROOT, 'events', EVENT_SAMPLES[fn.name] ?? `http.${kebab(fn.name)}.json`);
      const eventFile = existsSync(sampleEvent) ? sampleEvent : join(ROOT, 'events', 'http.get-health.json');
      const own: Sample[] = [];
      const baseline: Sample[] = [];
      // Interleaved, so a burst of load on the shared machine hits both sides alike.
      for (let index = 0; index < runs; index++) {
        own.push(await coldStart(runner, bundlePath, eventFile, env));
        baseline.push(await coldStart(runner, floor.bundle, eventFile, env));
      }
      const ownMs = median(own.map((sample) => sample.totalMs));
      const floorMs = median(baseline.map((sample) => sample.totalMs));
      if (size <= budget) withinBudget += 1;
      if (ownMs <= COLD_START_GOAL * floorMs) withinColdStart += 1;
      rows.push([
        fn.name,
        (size / KiB).toFixed(0),
        (floor.bytes / KiB).toFixed(0),
        (budget / KiB).toFixed(0),
        size <= budget ? 'within' : `over by ${((size - budget) / KiB).toFixed(0)} KiB`,
        ownMs.toFixed(1),
        quantile(
          own.map((sample) => sample.totalMs),
          0.9,
        ).toFixed(1),
        median(own.map((sample) => sample.loadMs)).toFixed(1),
        floorMs.toFixed(1),
        median(baseline.map((sample) => sample.loadMs)).toFixed(1),
        ratio(ownMs, floorMs),
        (median(own.map((sample) => sample.rss)) / KiB / KiB).toFixed(1),
        String(own[0]?.status ?? '-'),
      ]);
      if (size > budget) {
        const gap = EXPLAINED_GAPS[gapKey(fn)];
        gaps.push(
          `- **${fn.name}**, ${((size - budget) / KiB).toFixed(0)} KiB over: ${gap?.why ?? 'no reason recorded (the budget test fails)'}`,
        );
      }
      process.stderr.write(`measured ${fn.name}\n`);
    }

    const summary = `Within budget: ${withinBudget} of ${functions.length} functions; cold start within ${COLD_START_GOAL}× its floor: ${withinColdStart} of ${functions.length}.`;
    process.stdout.write(`\n${textTable(header, rows)}\n\n${summary}\n`);

    return [
      `Measured ${today} on node ${process.version}, ${runs} cold starts per function, each interleaved with one of its floor.`,
      '',
      "Each function is bundled with the esbuild options in serverless.yml (AWS SDK included), as `sls package` bundles it; its size is that bundle's JavaScript, uncompressed, source map aside. Its floor is a handler that imports exactly the AWS SDK clients and commands its calls send (from the call graph the IAM proof uses, test/template/sdk-floors.ts), creates the clients and returns, bundled the same way. The budget is 100 KiB for the functions that make no AWS call (getLiveness, getHealth, notFound, getOpenapi), the floor plus 150 KiB for every other. `test/template/bundle-budgets.test.ts` (in `npm test`) holds every packaged function of the prod stage to its budget, or to the gap explained below the table.",
      '',
      `Each bundle is then imported and invoked once with its sample event from events/ in a fresh node process: the cold start is module load plus that first invocation; the floor is run the same way with the same event, and the goal is at most ${COLD_START_GOAL}× the floor. The HTTP routes answer 401 to their samples’ placeholder token, so no network wait is counted; the event handlers read an embedded dynalite (an ECS event for a deployment Slipway does not know, a reconcile with nothing in flight, a scan and a release schedule with nothing waiting), or decide from the event alone (an ECR delete); the registry webhook answers 404, as the local stage configures no webhooks. No call leaves the machine.`,
      '',
      markdownTable(header, rows),
      '',
      summary,
      '',
      ...(gaps.length > 0
        ? [
            'Over their budget, each with what it carries beyond its floor and why (test/template/sdk-floors.ts, EXPLAINED_GAPS: the budget test holds each to its measured gap, so the list only shrinks):',
            '',
            ...gaps,
            '',
          ]
        : []),
      COLD_START_GAPS,
    ].join('\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
    await dynamodb.close();
  }
}

/**
 * Why cold starts miss 1.5× their floor where they do; the table's module load columns carry the figures.
 */
const COLD_START_GAPS = [
  'Where a cold start is over 1.5× its floor, the table splits it: module load (parsing and running the bundle) and the first invocation.',
  '- **The routes that make no AWS call** (getHealth, getLiveness, notFound, getOpenapi): their floor is an empty handler, about 1.5 ms. Their own cold start is the route chain every API route has (middy, the Powertools logger and metrics with their structured output, the error mapping), about 10 ms of module load here; no handler that logs can come within 1.5× of one that does nothing.',
  '- **The API routes**: beyond their SDK clients, each loads the route chain, zod/mini for its request, jose to verify OIDC callers, and its use case; and its first invocation reads the token set and answers 401, which the floor does not do. The module load column is where the difference lies: it grows with the KiB over the floor.',
  '- **The event and schedule functions** read or write the embedded table on their first invocation as their floor does not, so part of their gap is that work, not code: compare the load columns.',
].join('\n');

/** The goals for npm start on this machine: ready within this long, esbuild's processes within this much memory. */
const START_READY_GOAL_S = 15;
const START_ESBUILD_GOAL_MIB = 1536;

function startSection(start: StartRun, pack: PackageRun, today: string): string {
  const mib = (value: number) => value.toFixed(0);
  const header = ['', 'time s', 'goal', 'peak RSS MiB, whole tree', 'of which esbuild', 'goal', 'CPU s'];
  const rows = [
    [
      'npm start, until ready',
      (start.readyMs / 1000).toFixed(1),
      `≤ ${START_READY_GOAL_S}`,
      mib(start.usage.treeMiB),
      mib(start.usage.esbuildMiB),
      `≤ ${START_ESBUILD_GOAL_MIB}`,
      start.usage.cpuSeconds.toFixed(1),
    ],
    [
      '`sls package --stage prod`',
      (pack.ms / 1000).toFixed(1),
      '-',
      mib(pack.usage.treeMiB),
      mib(pack.usage.esbuildMiB),
      '-',
      pack.usage.cpuSeconds.toFixed(1),
    ],
  ];
  const rebuild = start.rebuild
    ? `After one edit to functions/http/get-liveness.ts, the rebuild took ${(start.rebuild.ms / 1000).toFixed(2)} s and rewrote ${start.rebuild.rewritten.join(', ')}; the route ${start.rebuild.served ? 'served the edited code at once' : 'did not serve the edited code'}.`
    : 'The launcher did not report its rebuilds, so no edit was timed.';
  process.stdout.write(`\n${textTable(header, rows)}\n\n${rebuild}\n`);
  return [
    `Measured ${today} on node ${process.version}, on ${cpus().length} CPUs, in a fresh copy of the working tree with node_modules linked (as after a warm \`npm ci\`: nothing built or stored before).`,
    '',
    'npm start is timed from spawning the launcher to its “Press Ctrl-C to stop.” (every function bundled by one esbuild context, the API answering, the table and bucket made, the schedules armed). Memory is the RSS of the whole process tree (the command and every process below it), summed in each sample taken every 100 ms from /proc, and its highest sum; shared pages count once per process, so it is an upper bound. The esbuild column sums the esbuild processes alone.',
    '',
    markdownTable(header, rows),
    '',
    rebuild,
  ].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '7' },
      'deploy-runs': { type: 'string', default: '40' },
      'backup-rounds': { type: 'string', default: '3' },
      only: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number of at least 1');
  const deployRuns = Number(values['deploy-runs']);
  if (!Number.isInteger(deployRuns) || deployRuns < 2)
    throw new Error('--deploy-runs takes a whole number of at least 2');
  const backupRounds = Number(values['backup-rounds']);
  if (!Number.isInteger(backupRounds) || backupRounds < 3)
    throw new Error('--backup-rounds takes a whole number of at least 3');
  const only = sectionsToRun(values.only);
  const volumeMiB = sizeFromEnv('SLIPWAY_BENCH_VOLUME_MIB', 1024);
  const databaseMiB = sizeFromEnv('SLIPWAY_BENCH_DB_MIB', 1024);
  // Node 20's warning from the SDK, once per process, says nothing about what is measured.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const started = performance.now();
  const today = new Date().toISOString().slice(0, 10);

  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  let report = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : INTRO;
  const timings: string[] = [];
  // Written after every section, so a later failure keeps what was measured.
  const section = async (name: SectionName, heading: string, measure: () => Promise<string>) => {
    if (!only.has(name)) return;
    const sectionStarted = performance.now();
    report = replaceSection(report, heading, await measure());
    writeFileSync(REPORT, report);
    timings.push(`${name} ${seconds(performance.now() - sectionStarted)}`);
  };

  await section('cold-starts', SECTION, () => coldStarts(runs, today));
  await section('start', START_SECTION, async () => {
    process.stderr.write('measuring npm start and sls package on a clean copy of the working tree\n');
    const tree = cleanCopy(ROOT);
    try {
      const start = await measureStart(tree);
      const pack = await measurePackage(tree);
      return startSection(start, pack, today);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
  await section('deploy', DEPLOY_SECTION, async () => {
    process.stderr.write(`measuring ${deployRuns} deploys\n`);
    const deploy = describeDeployBench(await benchDeploy(deployRuns));
    const callsHeader = ['service', 'calls per deploy', 'which'];
    const timingHeader = ['', 'ms (median)', 'p90', '× empty handler'];
    process.stdout.write(`\n${textTable(callsHeader, deploy.rows)}\n\n${textTable(timingHeader, deploy.timing)}\n`);
    return [
      `Measured ${today} on node ${process.version}, ${deployRuns} auto-approved deploys of one tag through POST /v1/deployments, each followed by its completion event.`,
      '',
      'DynamoDB is an embedded dynalite, metered by an SDK middleware that counts its calls and the time spent waiting on them; ECS, ECR and SNS are the in-memory fakes of the tests, counted from their stubs. The goal for a deploy is at most 5 ECS/ECR calls and 4 DynamoDB writes, with no polling.',
      '',
      markdownTable(callsHeader, deploy.rows),
      '',
      `With an Idempotency-Key header the same deploy makes ${deploy.withKeyWrites} DynamoDB writes (its idempotency record adds the conditional put that claims the key and the put of the answer).`,
      '',
      'Handler time is the whole invocation minus the time spent waiting on DynamoDB: routing, authentication, validation, planning the revision, records and notification. It is read against the same middy route chain (authentication included) around a handler that does nothing, interleaved in the same run.',
      '',
      markdownTable(timingHeader, deploy.timing),
    ].join('\n');
  });
  await section('release', RELEASE_SECTION, async () => {
    process.stderr.write('measuring release decisions\n');
    const release = benchRelease();
    const releaseHeader = ['per push', 'µs (median)', 'p90', '× floor'];
    process.stdout.write(`\n${textTable(releaseHeader, release.rows)}\n`);
    return [
      `Measured ${today} on node ${process.version}: ${release.pushes} ECR push events against a configuration of ${release.apps.toLocaleString('en')} apps (${release.environments.toLocaleString('en')} environments, each with a glob, regexp or semver policy), in 45 interleaved rounds.`,
      '',
      'The decision is the pure part of a push: find the environments whose app uses the pushed repository and run their release policies against what runs. The floor is what every push pays anyway, validating the event; the last row decides the same pushes by scanning every app, without the repository index built at cold start.',
      '',
      markdownTable(releaseHeader, release.rows),
      '',
      `Building the repository index for ${release.apps.toLocaleString('en')} apps at cold start: ${release.indexMs.toFixed(1)} ms, once per container.`,
    ].join('\n');
  });
  await section('probes', PROBES_SECTION, async () => {
    process.stderr.write('measuring probes\n');
    const probes = await benchProbes();
    const probesHeader = ['', 'wall ms (median)', 'floor ms', '× floor', 'peak RSS MiB', 'before MiB'];
    const probesRow = [
      `${probes.targets} targets, ${probes.latencyMs} ms each, ${probes.concurrency} at a time`,
      median(probes.wallMs).toFixed(0),
      probes.floorMs.toFixed(0),
      ratio(median(probes.wallMs), probes.floorMs),
      probes.peakRssMiB.toFixed(1),
      probes.baselineRssMiB.toFixed(1),
    ];
    process.stdout.write(`\n${textTable(probesHeader, [probesRow])}\n`);
    return [
      `Measured ${today} on node ${process.version}: one probe run over ${probes.targets} health checks served by local HTTP servers on 127.0.0.1 that answer after ${probes.latencyMs} ms, ${probes.wallMs.length} runs.`,
      '',
      'The floor is what no implementation can beat at that concurrency: targets × latency ÷ concurrency. Peak RSS is sampled every 10 ms during the run, against the process just before it; the servers run in the same process.',
      '',
      markdownTable(probesHeader, [probesRow]),
    ].join('\n');
  });
  await section('volume', VOLUME_SECTION, async () => {
    process.stderr.write(`measuring volume backups of ${volumeMiB} MiB, ${backupRounds} rounds\n`);
    const volume = await benchVolume({ sizeMiB: volumeMiB, rounds: backupRounds });
    process.stdout.write(`\n${describeVolumeBench(volume).text}\n`);
    return volumeSection(volume, today);
  });
  await section('postgres', POSTGRES_SECTION, async () => {
    process.stderr.write(`measuring PostgreSQL dumps of ${databaseMiB} MiB, ${backupRounds} rounds\n`);
    const postgres = await benchPostgres({ sizeMiB: databaseMiB, rounds: backupRounds });
    process.stdout.write(
      `\n${postgres.available ? describePostgresBench(postgres).text : `PostgreSQL dumps not measured: ${postgres.reason}`}\n`,
    );
    return postgresSection(postgres, today);
  });
  await section('cli', CLI_SECTION, async () => {
    process.stderr.write('packing and installing the CLI package\n');
    const work = mkdtempSync(join(tmpdir(), 'slipway-bench-cli-'));
    try {
      return cliSection(await packAndInstall(join(ROOT, 'packages', 'cli'), work), today);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  await section('console', CONSOLE_SECTION, () => benchConsole(today));
  process.stdout.write(`\nwritten to ${REPORT} in ${seconds(performance.now() - started)} (${timings.join(', ')})\n`);
}

const MB = 1_000_000;

/** The CLI package as installed from its tarball, beside the checkout's own node_modules it used to need. */
function cliSection(installed: CliInstall, today: string): string {
  const checkout = footprint(join(ROOT, 'node_modules'));
  const header = ['', 'bytes', 'packages', 'goal'];
  const rows = [
    ['`npm pack` tarball', `${(installed.tarballBytes / 1024).toFixed(1)} KiB`, '-', '-'],
    [
      '`npm i ./slipway-cli-*.tgz` into an empty directory',
      `${(installed.installedBytes / MB).toFixed(2)} MB`,
      String(installed.packages.length),
      '≤ 5 MB, ≤ 10 packages',
    ],
    [
      'a checkout after `npm ci` (what CI installed to run the CLI before)',
      `${(checkout.bytes / MB).toFixed(0)} MB`,
      String(checkout.packages.length),
      '-',
    ],
  ];
  process.stdout.write(`\n${textTable(header, rows)}\n`);
  return [
    `Measured ${today} on node ${process.version}: \`npm pack\` in packages/cli (its prepack bundles src/ with esbuild), then \`npm i\` of the tarball into an empty directory (lib/bench/cli-install.ts). Bytes are the installed files' sizes, as \`du -sb\` adds them; packages count every folder under node_modules with its own package, the CLI's included. test/integration/cli-package.test.ts holds the install to the goals.`,
    '',
    markdownTable(header, rows),
    '',
    `The tarball holds ${installed.files.join(', ')}. Installed: ${installed.packages.join(', ')}.`,
  ].join('\n');
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
