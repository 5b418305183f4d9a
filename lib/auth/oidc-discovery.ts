import { UpstreamFailed } from '../errors';

/**
 * An OpenID Connect issuer's discovery document, read as the API's token check and the console's sign-in
 * both need it. A leaf module (no jose), so the console's function bundles only this.
 */

/** `https://issuer/` and `https://issuer` both discover at `https://issuer/.well-known/openid-configuration`. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

const quote = (value: unknown) => {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 199)}…` : text);
};

export interface DiscoveryDocument {
  issuer: string;
  /** Every other member, unchecked: read each with httpsEndpoint. */
  [member: string]: unknown;
}

/** A failure reading the issuer's discovery document: the issuer's side, so a 502 naming it. */
export function discoveryFailure(issuer: string, why: string, cause?: unknown): UpstreamFailed {
  return new UpstreamFailed(`cannot read the OIDC discovery document of issuer ${issuer}: ${why}`, {
    ...(cause ? { cause } : {}),
    details: { issuer, url: discoveryUrl(issuer) },
  });
}

export async function fetchDiscoveryDocument(
  issuer: string,
  fetchImpl: typeof fetch,
  timeoutMs: number,
): Promise<DiscoveryDocument> {
  let response: Response;
  try {
    response = await fetchImpl(discoveryUrl(issuer), {
      method: 'GET',
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw discoveryFailure(
      issuer,
      (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'request failed',
      error,
    );
  }
  if (response.status !== 200) throw discoveryFailure(issuer, `it answered ${response.status}`);
  let document: unknown;
  try {
    document = await response.json();
  } catch (error) {
    throw discoveryFailure(issuer, 'it is not JSON', error);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw discoveryFailure(issuer, 'it is not a JSON object');
  }
  const named = (document as { issuer?: unknown }).issuer;
  // OpenID Connect Discovery 1.0, 4.3: the document must name exactly the issuer it was fetched for.
  if (named !== issuer) throw discoveryFailure(issuer, `it names issuer ${quote(named)}`);
  return document as DiscoveryDocument;
}

/** A member of the document that must be an https URL (jwks_uri, token_endpoint…). */
export function httpsEndpoint(document: DiscoveryDocument, member: string): URL {
  let url: URL;
  try {
    url = new URL(String(document[member]));
  } catch {
    throw discoveryFailure(document.issuer, `its ${member} is not a URL`);
  }
  if (url.protocol !== 'https:') throw discoveryFailure(document.issuer, `its ${member} is not https`);
  return url;
}
