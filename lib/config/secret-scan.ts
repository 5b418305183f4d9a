/**
 * Config files are committed; secrets are not. These patterns catch the
 * credentials people paste by mistake so the file is refused before it ships.
 */
export interface SecretFinding {
  path: Array<string | number>;
  reason: string;
}

const VALUE_PATTERNS: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/, 'an AWS access key id'],
  // Mixed case and digits: a lowercase hex digest (a git commit, say) of the same length is not one.
  [/^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)[A-Za-z0-9/+]{40}$/, 'an AWS secret access key'],
  [/^Bearer\s+\S+/i, 'a bearer token'],
  [/^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/, 'a JSON Web Token'],
  [/\b(ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}/, 'a GitHub token'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, 'a Slack token'],
  [/^https:\/\/hooks\.slack\.com\/services\//, 'a Slack webhook URL'],
  [/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, 'a URL with a password in it'],
];

// Keys whose value is, by name, a credential. Keys ending in Secret/SecretArn/SecretId name a secret instead.
const SENSITIVE_KEY =
  /(password|passwd|pwd|token|api[-_]?key|private[-_]?key|client[-_]?secret|secret[-_]?access[-_]?key|^secret$)/i;
const REFERENCE_KEY = /(Secret|SecretArn|SecretId|SecretName)$/;

function classifyValue(value: string): string | undefined {
  for (const [pattern, reason] of VALUE_PATTERNS) {
    if (pattern.test(value)) return reason;
  }
  return undefined;
}

export function findSecretLikeValues(raw: unknown, path: Array<string | number> = []): SecretFinding[] {
  if (typeof raw === 'string') {
    const reason = classifyValue(raw);
    return reason ? [{ path, reason }] : [];
  }
  if (Array.isArray(raw)) return raw.flatMap((item, index) => findSecretLikeValues(item, [...path, index]));
  if (raw && typeof raw === 'object') {
    return Object.entries(raw).flatMap(([key, value]) => {
      if (SENSITIVE_KEY.test(key) && !REFERENCE_KEY.test(key) && typeof value === 'string' && value !== '') {
        return [{ path: [...path, key], reason: `a ${key.toLowerCase()} value` }];
      }
      return findSecretLikeValues(value, [...path, key]);
    });
  }
  return [];
}
