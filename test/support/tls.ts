import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A self-signed certificate made by openssl for servers on this machine: valid for 127.0.0.1 and the
 * names given (a test resolves them to 127.0.0.1 itself). A client trusts it only if told to (`ca`).
 */
export function selfSignedCertificate(dir: string, options: { days?: number; names?: string[] } = {}) {
  const altNames = ['IP:127.0.0.1', ...(options.names ?? []).map((name) => `DNS:${name}`)].join(',');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      String(options.days ?? 2),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      `subjectAltName=${altNames}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}
