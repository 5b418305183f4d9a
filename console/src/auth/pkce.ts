/**
 * Proof Key for Code Exchange (RFC 7636) with S256, and the random values of a sign-in: plain functions
 * over Web Crypto, which browsers and node both have.
 */

/** base64url without padding (RFC 7636, Appendix A). */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `size` random bytes as base64url: 32 bytes make a 43-character verifier, within RFC 7636's 43 to 128. */
export function randomToken(size = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

/** The S256 code challenge: BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636, section 4.2). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
