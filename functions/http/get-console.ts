import {
  type ConsoleSettings,
  consoleIssuer,
  contentSecurityPolicy,
  readConsoleSettings,
} from '../../lib/auth/console-sign-in';
import type { OidcIssuer } from '../../lib/auth/oidc-rules';
import { NotFound } from '../../lib/errors';
import {
  acceptsGzip,
  type ConsoleFile,
  type ConsoleFiles,
  consolePage,
  readConsoleFiles,
} from '../../lib/http/console-files';
import { httpRoute, isSandbox, type RouteResult } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import { config } from '../../lib/wiring/config';
import { environment } from '../../lib/wiring/environment';

export interface GetConsoleDeps {
  /** The issuer marked `console: true`; absent: the page says none is. */
  issuer: Pick<OidcIssuer, 'issuer' | 'audience'> | undefined;
  stage: string;
  sandbox: boolean;
  /** The built page and assets, read once per container. */
  files: () => ConsoleFiles;
  /** The issuer's discovery document is read with it. Default: the global fetch. */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * `GET /console` and `GET /console/{proxy+}`: the web console, a page of the API's own origin, so that it
 * calls the API with no CORS and its Content-Security-Policy names what it may reach.
 */
export function makeHandler(deps: GetConsoleDeps) {
  let reading: Promise<ConsoleSettings> | undefined;
  const settingsOf = (issuer: NonNullable<GetConsoleDeps['issuer']>) => {
    if (!reading) {
      const pending = readConsoleSettings(
        issuer,
        { stage: deps.stage, sandbox: deps.sandbox },
        { fetch: deps.fetch ?? globalThis.fetch, timeoutMs: deps.timeoutMs ?? 3_000 },
      );
      reading = pending;
      // A failure is not kept: the next request reads the issuer again.
      pending.catch(() => {
        if (reading === pending) reading = undefined;
      });
    }
    return reading;
  };

  return httpRoute(routes.getConsole, {}, async ({ path, headers }): Promise<RouteResult> => {
    const page = consolePage(path.proxy);
    // Read once per request: the policy names the issuer and token endpoint once discovery is read. While the issuer
    // cannot be read, the page and its assets are still served, reaching their own origin only, and the page shows
    // why sign-in is unavailable (config.json's 502) rather than failing to load.
    const settings = deps.issuer
      ? await settingsOf(deps.issuer).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        )
      : undefined;
    const common = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': contentSecurityPolicy(settings && 'value' in settings ? settings.value : undefined),
    };
    if (page.kind === 'settings') {
      if (!settings) {
        throw new NotFound(
          'the console has no sign-in: no auth.oidc issuer is marked console: true in the config (docs/console.md)',
        );
      }
      if ('error' in settings) throw settings.error;
      return { status: 200, body: settings.value, headers: common };
    }
    const file: ConsoleFile | undefined =
      page.kind === 'asset' ? deps.files().assets.get(page.name) : deps.files().index;
    if (!file) throw new NotFound(`the console has no asset ${page.kind === 'asset' ? page.name : ''}`);
    const gzip = acceptsGzip(headers['accept-encoding']);
    return {
      status: 200,
      raw: { body: gzip ? file.gzipped : file.body, contentType: file.contentType },
      headers: {
        ...common,
        // Assets are named by their content; the page is read again each time, so a new release shows at once.
        'cache-control': page.kind === 'asset' ? IMMUTABLE : 'no-cache',
        vary: 'accept-encoding',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      },
    };
  });
}

function defaultDeps(): GetConsoleDeps {
  const env = environment();
  let files: ConsoleFiles | undefined;
  return {
    issuer: consoleIssuer(config().auth.oidc),
    stage: env.stage,
    sandbox: isSandbox(),
    files: () => {
      files ??= readConsoleFiles();
      return files;
    },
  };
}

export const handler = makeHandler(defaultDeps());
