import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { type BuildContext, type BuildOptions, type BuildResult, build, context, type OutputFile } from 'esbuild';
import { type EsbuildSettings, esbuildOptionsFrom } from './esbuild-options';

/**
 * Every function of `npm start` bundled by one esbuild context: one parse of each module (the AWS SDK
 * once, not once per function), the code they share split into chunks, and on each change an
 * incremental rebuild whose outputs are written only where their content changed. One context for
 * all entry points instead of one per function is what keeps esbuild's memory to one copy of the
 * module graph.
 */
export interface BuildReport {
  /** From the start of the build (or the change that started it) to its outputs written. */
  ms: number;
  /** Output files written because they are new or their content changed, relative to the out folder. */
  rewritten: string[];
  /** Output files of the previous build that this one no longer has, removed. */
  removed: string[];
  /** esbuild's errors; a failed build leaves the previous outputs in place. */
  errors: string[];
  /** How many output files the build has (entries, chunks and their maps). */
  outputs: number;
}

export interface LocalBundlesOptions {
  /** The service folder: entries are relative to it. */
  root: string;
  /** Where the bundles go; removed and made afresh. */
  outdir: string;
  /** Handler modules, relative to root (`functions/http/get-health.ts`); each becomes `<outdir>/<same path>.js`. */
  entries: string[];
  /** serverless.yml's custom.esbuild. */
  settings: EsbuildSettings;
  /** Called after every build, the first included. */
  onBuild?: (report: BuildReport) => void;
}

export interface LocalBundles {
  first: BuildReport;
  stop: () => Promise<void>;
}

/** The module system Lambda gives the bundles: functions/package.json says ES modules. */
const PACKAGE_JSON = `${JSON.stringify({ type: 'module' })}\n`;

const withoutExtension = (file: string) => file.replace(/\.[cm]?[jt]sx?$/, '');

/** Bundles the entries once, then watches their sources and rebuilds on change until stopped. */
export async function watchBundles(options: LocalBundlesOptions): Promise<LocalBundles> {
  const { root, outdir, entries, settings } = options;
  const base = esbuildOptionsFrom(settings);
  // Chunks shared by several entries are ES modules imported by them.
  if (base.format !== 'esm') throw new Error('custom.esbuild.format must be esm: code splitting needs ES modules');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  writeFileSync(join(outdir, 'package.json'), PACKAGE_JSON);

  const written = new Map<string, string>();
  let startedAt = performance.now();
  let first: ((report: BuildReport) => void) | undefined;
  const firstBuild = new Promise<BuildReport>((resolve) => {
    first = resolve;
  });

  const finish = (result: BuildResult): BuildReport => {
    const errors = result.errors.map((error) =>
      error.location ? `${error.location.file}:${error.location.line}: ${error.text}` : error.text,
    );
    const report: BuildReport = { ms: 0, rewritten: [], removed: [], errors, outputs: 0 };
    if (errors.length === 0) {
      const files: OutputFile[] = result.outputFiles ?? [];
      const now = new Set<string>();
      for (const file of files) {
        const path = relative(outdir, file.path);
        now.add(path);
        if (written.get(path) === file.hash) continue;
        mkdirSync(dirname(file.path), { recursive: true });
        writeFileSync(file.path, file.contents);
        written.set(path, file.hash);
        report.rewritten.push(path);
      }
      for (const path of [...written.keys()].filter((known) => !now.has(known))) {
        rmSync(join(outdir, path), { force: true });
        written.delete(path);
        report.removed.push(path);
      }
      report.outputs = files.length;
    }
    report.ms = performance.now() - startedAt;
    return report;
  };

  const ctx: BuildContext = await context({
    ...base,
    absWorkingDir: root,
    entryPoints: entries.map((entry) => ({ in: entry, out: withoutExtension(entry) })),
    outdir,
    outbase: root,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'slipway-local-bundles',
        setup(build) {
          build.onStart(() => {
            startedAt = performance.now();
          });
          build.onEnd((result) => {
            const report = finish(result);
            if (first) {
              first(report);
              first = undefined;
            } else {
              options.onBuild?.(report);
            }
          });
        },
      },
    ],
  });
  // watch() builds once at once, then again on every change to a file the build read.
  await ctx.watch();
  const report = await firstBuild;
  options.onBuild?.(report);
  if (report.errors.length > 0) {
    await ctx.dispose();
    throw new Error(`bundling failed:\n${report.errors.join('\n')}`);
  }
  return { first: report, stop: () => ctx.dispose() };
}

/** A function's handler module from its serverless `handler` (`functions/http/get-health.handler`). */
export function handlerModule(handler: string): string {
  return `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
}

/**
 * Bundles entries as `sls package` does, each into one self-contained file, in one esbuild build: each
 * module is parsed once for all of them, and every output is byte for byte the one a build of its entry
 * alone makes (esbuild links each entry point on its own when splitting is off). Resolves with the size
 * of each entry's JavaScript (its .map aside), by the entry's key.
 */
export async function buildBundles(options: {
  /** Key (a function's name) → entry module, absolute or relative to absWorkingDir. */
  entries: Record<string, string>;
  outdir: string;
  settings: EsbuildSettings;
  /** Where relative entries and packages resolve from. */
  absWorkingDir: string;
  /** Extra folders to find packages in, for entries written outside the project. */
  nodePaths?: string[];
  /** Write the bundles and their maps to outdir (`<key>.js`); otherwise only measure them. */
  write?: boolean;
}): Promise<Record<string, number>> {
  const keys = Object.keys(options.entries);
  const base: BuildOptions = esbuildOptionsFrom(options.settings);
  const { outputFiles } = await build({
    ...base,
    absWorkingDir: options.absWorkingDir,
    entryPoints: keys.map((key) => ({ in: options.entries[key] as string, out: key })),
    outdir: options.outdir,
    ...(options.nodePaths ? { nodePaths: options.nodePaths } : {}),
    write: false,
    logLevel: 'silent',
  });
  if (options.write) {
    for (const file of outputFiles) {
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileSync(file.path, file.contents);
    }
  }
  const extension = (base.outExtension as Record<string, string> | undefined)?.['.js'] ?? '.js';
  const sizes: Record<string, number> = {};
  for (const key of keys) {
    const file = outputFiles.find((output) => output.path === join(options.outdir, `${key}${extension}`));
    if (!file) throw new Error(`esbuild wrote no ${key}${extension}`);
    sizes[key] = file.contents.byteLength;
  }
  return sizes;
}
