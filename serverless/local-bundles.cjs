// Under `sls offline` (what `npm start` runs), every function is bundled by one esbuild context with
// code splitting (lib/local/bundles.ts) into custom.serverless-offline.location, instead of one
// esbuild build per function by serverless-esbuild: one parse of the AWS SDK instead of one per
// function, so esbuild's memory is one module graph's. Sources are watched; a change rebuilds
// incrementally, rewrites only the outputs whose content changed, and serverless-offline drops its
// loaded handlers so the next call runs the new code. Packaging is untouched: serverless-esbuild
// still makes each function's own bundle.
const { unwatchFile, watchFile } = require('node:fs');
const { join } = require('node:path');
const { register } = require('tsx/cjs/api');

class LocalBundles {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = {
      initialize: () => this.handOver(),
      'before:offline:start': () => this.start(),
      'before:offline:start:init': () => this.start(),
      'offline:start:end': () => this.stop(),
    };
  }

  isOffline() {
    return (this.serverless.processedInput?.commands ?? [])[0] === 'offline';
  }

  // serverless-esbuild bundles no function whose definition says skipEsbuild (its extractFunctionEntries).
  handOver() {
    if (!this.isOffline()) return;
    for (const fn of Object.values(this.serverless.service.functions ?? {})) {
      if (fn.handler) fn.skipEsbuild = true;
    }
  }

  async start() {
    if (!this.isOffline() || this.bundles) return;
    const service = this.serverless.service;
    const root = this.serverless.serviceDir ?? this.serverless.config.servicePath;
    const location = service.custom?.['serverless-offline']?.location;
    if (!location) throw new Error('custom.serverless-offline.location must name the folder the bundles go to');
    const unregister = register();
    try {
      const { watchBundles, handlerModule } = require('../lib/local/bundles.ts');
      const entries = [
        ...new Set(
          Object.values(service.functions ?? {})
            .filter((fn) => fn.handler)
            .map((fn) => handlerModule(fn.handler)),
        ),
      ];
      const say = (line) => process.stdout.write(`${line}\n`);
      this.bundles = await watchBundles({
        root,
        outdir: join(root, location),
        entries,
        settings: service.custom.esbuild,
        onBuild: (report) => {
          if (report.errors.length > 0) {
            say(`bundles: rebuild failed, still serving the previous build:\n${report.errors.join('\n')}`);
            return;
          }
          if (!this.built) {
            this.built = true;
            say(
              `bundles: built ${entries.length} functions in ${(report.ms / 1000).toFixed(1)} s (one esbuild context, ${report.outputs} files)`,
            );
            return;
          }
          const changed = [...report.rewritten, ...report.removed.map((path) => `-${path}`)];
          const line = `bundles: rebuilt in ${Math.round(report.ms)} ms; rewrote ${changed.length > 0 ? changed.join(', ') : 'nothing'}`;
          if (changed.length === 0) return say(line);
          // serverless-offline's own event: it ends every loaded handler, so the next call loads the new code;
          // the line is said once that is done, so whoever reads it gets the new code.
          this.reload(line);
        },
      });
      this.watchConfig(root, service.provider.stage, say);
    } finally {
      unregister();
    }
  }

  // serverless-offline's own event: it ends every loaded handler, so the next call loads the new code;
  // the line is said once that is done, so whoever reads it gets the new code.
  reload(line) {
    const say = (text) => process.stdout.write(`${text}\n`);
    this.serverless.pluginManager.spawn('offline:functionsUpdated').then(
      () => say(line),
      (error) => say(`${line}; the loaded handlers could not be ended: ${error.message}`),
    );
  }

  // Functions read config/<stage>.resolved.json: an edit to config/<stage>.yml is validated and written
  // there, and the handlers reloaded; an invalid edit is refused and the last valid config kept.
  watchConfig(root, stage, say) {
    const { configPathFor, writeResolvedConfig } = require('../lib/config/load.ts');
    this.configFile = join(root, configPathFor(stage));
    watchFile(this.configFile, { interval: 250 }, (current, previous) => {
      if (current.mtimeMs === previous.mtimeMs) return;
      const unregister = register();
      try {
        writeResolvedConfig(stage, join(root, 'config'));
        this.reload(`config: ${configPathFor(stage)} changed; the handlers read it from their next call`);
      } catch (error) {
        say(`config: ${configPathFor(stage)} is invalid, still serving the previous config:\n${error.message}`);
      } finally {
        unregister();
      }
    });
  }

  async stop() {
    if (this.configFile) unwatchFile(this.configFile);
    await this.bundles?.stop();
    this.bundles = undefined;
  }
}

module.exports = LocalBundles;
