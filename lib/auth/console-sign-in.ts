import { fetchDiscoveryDocument, httpsEndpoint } from './oidc-discovery';
import type { OidcIssuer } from './oidc-rules';

/**
 * What the console's page needs to sign people in (served as /console/config.json): the issuer marked
 * `console: true` and the endpoints its discovery document names. The function reads discovery, so the
 * browser needs CORS at the token endpoint only, and the page's Content-Security-Policy can name that
 * endpoint's origin rather than any https origin.
 */

export interface ConsoleSettings {
  issuer: string;
  /** The issuer's audience: an ID token's aud is the client that asked for it (OpenID Connect Core 1.0, 2). */
  clientId: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  endSessionEndpoint?: string;
  scopes: string[];
  stage: string;
  sandbox: boolean;
}

/** openid for an ID token; profile and email for a name to show (OpenID Connect Core 1.0, 5.4). */
export const CONSOLE_SCOPES = ['openid', 'profile', 'email'];

export function consoleIssuer<T extends Pick<OidcIssuer, 'console'>>(
  issuers: ReadonlyArray<T> | undefined,
): T | undefined {
  return issuers?.find((issuer) => issuer.console === true);
}

export async function readConsoleSettings(
  issuer: Pick<OidcIssuer, 'issuer' | 'audience'>,
  place: { stage: string; sandbox: boolean },
  options: { fetch: typeof fetch; timeoutMs: number },
): Promise<ConsoleSettings> {
  const document = await fetchDiscoveryDocument(issuer.issuer, options.fetch, options.timeoutMs);
  // Optional (OpenID Connect RP-Initiated Logout 1.0, 2.1): without it, signing out forgets the token only.
  const endSession =
    document.end_session_endpoint === undefined ? undefined : httpsEndpoint(document, 'end_session_endpoint');
  return {
    issuer: issuer.issuer,
    clientId: issuer.audience,
    authorizationEndpoint: httpsEndpoint(document, 'authorization_endpoint').href,
    tokenEndpoint: httpsEndpoint(document, 'token_endpoint').href,
    ...(endSession ? { endSessionEndpoint: endSession.href } : {}),
    scopes: CONSOLE_SCOPES,
    stage: place.stage,
    sandbox: place.sandbox,
  };
}

/**
 * The console's Content-Security-Policy: its own scripts and styles only, no inline code, and requests to
 * the API (same origin) and the token endpoint; no frame may embed it (clickjacking of the Approve button).
 */
export function contentSecurityPolicy(settings: Pick<ConsoleSettings, 'issuer' | 'tokenEndpoint'> | undefined): string {
  const origins = settings
    ? [...new Set([new URL(settings.issuer).origin, new URL(settings.tokenEndpoint).origin])]
    : [];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${["'self'", ...origins].join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
