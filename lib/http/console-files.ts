import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../errors';

/**
 * The console's built files (console/build.ts writes them at package time into generated/console/, which the
 * function's package carries): index.html for every page of the app, and its content-hashed assets.
 */

export const CONSOLE_DIR = 'generated/console';

export interface ConsoleFile {
  body: Buffer;
  /** The same bytes gzipped, sent to a browser that accepts it: API Gateway's HTTP API compresses nothing. */
  gzipped: Buffer;
  contentType: string;
}

export interface ConsoleFiles {
  index: ConsoleFile;
  assets: ReadonlyMap<string, ConsoleFile>;
}

interface Manifest {
  index: string;
  assets: Record<string, { contentType: string }>;
}

const fileOf = (body: Buffer, contentType: string): ConsoleFile => ({ body, gzipped: gzipSync(body), contentType });

export function readConsoleFiles(dir: string = CONSOLE_DIR): ConsoleFiles {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (error) {
    throw new ConfigError(`the console is not built (${join(dir, 'manifest.json')}); package the stage again`, {
      cause: error,
    });
  }
  const assets = new Map<string, ConsoleFile>();
  for (const [name, { contentType }] of Object.entries(manifest.assets)) {
    assets.set(name, fileOf(readFileSync(join(dir, 'assets', name)), contentType));
  }
  return { index: fileOf(readFileSync(join(dir, manifest.index)), 'text/html; charset=utf-8'), assets };
}

/** What a path under /console/ answers: the settings, an asset, or the app's page. */
export type ConsolePage = { kind: 'settings' } | { kind: 'asset'; name: string } | { kind: 'index' };

/**
 * `proxy`: what follows /console/ ({proxy+}); undefined for /console itself (and for /console/, which routers give
 * either route: serverless-offline drops the trailing slash). The page names its assets by absolute paths and
 * routes /console as /console/, so neither needs a redirect.
 */
export function consolePage(proxy: string | undefined): ConsolePage {
  if (proxy === 'config.json') return { kind: 'settings' };
  if (proxy?.startsWith('assets/')) return { kind: 'asset', name: proxy.slice('assets/'.length) };
  // The app routes its own paths (/console/deployments/dep-…): each gets the page, which reads the path.
  return { kind: 'index' };
}

export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return (acceptEncoding ?? '')
    .split(',')
    .map((part) => part.trim().split(';'))
    .some(
      ([coding, ...parameters]) =>
        coding?.trim().toLowerCase() === 'gzip' && !parameters.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p)),
    );
}
