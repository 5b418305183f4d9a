/**
 * Log redaction. Two nets: attribute names that always carry credentials, and
 * the exact values of secrets this process has seen (tokens presented by
 * callers, values read from Secrets Manager), wherever they appear.
 */
export const REDACTED = '[REDACTED]';

const SENSITIVE_KEY = /authorization|cookie|password|passwd|secret|token|api[-_]?key|private[-_]?key|credential/i;
// A secret shorter than this is too likely to collide with ordinary text.
const MIN_SECRET_LENGTH = 8;

const knownSecrets = new Set<string>();
// Values held for one request, counted so overlapping requests presenting the same value are safe.
const heldSecrets = new Map<string, number>();

/** A secret this process keeps (a value read from Secrets Manager): redacted for the life of the container. */
export function registerSecretValue(value: string | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) knownSecrets.add(value);
}

/**
 * A value seen in one request (the bearer token it presents, valid or not): redacted
 * until the returned release is called, so strangers' guesses do not pile up for the
 * life of the container and slow every log line down.
 */
export function holdSecretValue(value: string | undefined): () => void {
  if (!value || value.length < MIN_SECRET_LENGTH) return () => undefined;
  heldSecrets.set(value, (heldSecrets.get(value) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const remaining = (heldSecrets.get(value) ?? 1) - 1;
    if (remaining > 0) heldSecrets.set(value, remaining);
    else heldSecrets.delete(value);
  };
}

export function forgetSecretValues(): void {
  knownSecrets.clear();
  heldSecrets.clear();
}

function scrubString(text: string): string {
  let scrubbed = text;
  for (const secret of [...knownSecrets, ...heldSecrets.keys()]) {
    if (scrubbed.includes(secret)) scrubbed = scrubbed.split(secret).join(REDACTED);
  }
  // Bearer credentials in free text (an error message quoting a header, say), and anything shaped like a
  // Slipway token wherever it is (a query string ?access_token=slw_… the caller should not have sent).
  return scrubbed
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${REDACTED}`)
    .replace(/slw_[A-Za-z0-9_-]{43}/g, REDACTED);
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 12) return value;
  if (typeof value === 'string') return scrubString(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) {
    const { code, status } = value as Error & { code?: unknown; status?: unknown };
    return redact(
      { name: value.name, message: value.message, code, status, stack: value.stack, cause: value.cause },
      depth + 1,
    );
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SENSITIVE_KEY.test(key) && item !== undefined && item !== null ? REDACTED : redact(item, depth + 1);
    }
    return out;
  }
  return value;
}
