/**
 * Web console benchmark: the bytes a browser downloads for the console, against the least any Preact
 * app downloads. The floor is Preact itself (preact, its hooks and its JSX runtime, every export kept)
 * bundled with the console's own esbuild options; the console's script is read as a ratio of it, and
 * held to a budget: over it, the section says so and `npm run bench` exits non-zero.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BROWSER_BUILD_OPTIONS, buildConsole } from '../console/build';
import { markdownTable, ratio, textTable } from '../lib/bench/stats';

const ROOT = resolve(import.meta.dirname ?? '.', '..');
const KiB = 1024;
export const CONSOLE_SECTION = 'Web console: download size against Preact';
/** The console's script, gzipped, at most: what a phone on a slow link fetches before it shows anything. */
export const CONSOLE_JS_BUDGET_GZIP = 40 * KiB;
export const CONSOLE_CSS_BUDGET_GZIP = 8 * KiB;

/** Preact as any app of it ships it, with the console's build options: the floor. */
async function preactFloor(): Promise<{ bytes: number; gzipBytes: number }> {
  const result = await build({
    stdin: {
      contents: "export * from 'preact';\nexport * from 'preact/hooks';\nexport * from 'preact/jsx-runtime';\n",
      resolveDir: ROOT,
      loader: 'js',
    },
    ...BROWSER_BUILD_OPTIONS,
    minify: true,
  });
  const contents = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { bytes: contents.byteLength, gzipBytes: gzipSync(contents).byteLength };
}

const kib = (bytes: number) => (bytes / KiB).toFixed(1);

/** Builds the console into a scratch folder, measures it against the floor; the section's body. */
export async function benchConsole(today: string): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'slipway-bench-console-'));
  try {
    const [{ files }, floor] = await Promise.all([buildConsole({ outDir }), preactFloor()]);
    const find = (extension: string) => {
      const entry = Object.entries(files).find(([name]) => name.startsWith('assets/') && name.endsWith(extension));
      if (!entry) throw new Error(`the console build wrote no ${extension} asset`);
      return entry[1];
    };
    const [js, css, html] = [find('.js'), find('.css'), files['index.html']];
    if (!html) throw new Error('the console build wrote no index.html');
    const over: string[] = [];
    if (js.gzipBytes > CONSOLE_JS_BUDGET_GZIP) over.push(`the script (${kib(js.gzipBytes)} KiB gzipped)`);
    if (css.gzipBytes > CONSOLE_CSS_BUDGET_GZIP) over.push(`the stylesheet (${kib(css.gzipBytes)} KiB gzipped)`);
    const header = ['file', 'KiB', 'gzipped KiB', '× Preact (gzipped)', 'budget, gzipped'];
    const rows = [
      [
        '`app-<hash>.js`',
        kib(js.bytes),
        kib(js.gzipBytes),
        ratio(js.gzipBytes, floor.gzipBytes),
        `≤ ${kib(CONSOLE_JS_BUDGET_GZIP)} KiB`,
      ],
      ['`app-<hash>.css`', kib(css.bytes), kib(css.gzipBytes), '-', `≤ ${kib(CONSOLE_CSS_BUDGET_GZIP)} KiB`],
      ['`index.html`', kib(html.bytes), kib(html.gzipBytes), '-', '-'],
      ['floor: Preact, hooks and JSX runtime', kib(floor.bytes), kib(floor.gzipBytes), '1.00×', '-'],
    ];
    const verdict =
      over.length === 0
        ? `Within budget: the script is ${kib(js.gzipBytes)} KiB gzipped, ${kib(js.gzipBytes - floor.gzipBytes)} KiB of it the console's own code beside Preact's ${kib(floor.gzipBytes)} KiB.`
        : `OVER BUDGET: ${over.join(' and ')}.`;
    process.stdout.write(`\n${textTable(header, rows)}\n\n${verdict}\n`);
    if (over.length > 0) {
      process.stderr.write(`bench: the console is over its budget: ${over.join(' and ')}\n`);
      process.exitCode = 1;
    }
    return [
      `Measured ${today} with esbuild's minified es2022 build of console/ (console/build.ts, as the control plane serves it), gzipped at zlib's default level as a browser would fetch it. The floor is Preact alone (preact, preact/hooks and preact/jsx-runtime, every export kept) bundled with the same options: no Preact app ships less.`,
      '',
      markdownTable(header, rows),
      '',
      verdict,
    ].join('\n');
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
