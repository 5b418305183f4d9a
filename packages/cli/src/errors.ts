import { STATUS_CODES } from 'node:http';

/**
 * The command line's failures, each with its exit code, and the one line each becomes on stderr.
 * 0 ok; 1 the operation failed (or the server, or the network); 2 usage; 3 the server refused the request (4xx).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3, interrupted: 130 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Arguments or settings the command cannot run with. `command` names whose usage to point at. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message, EXIT.usage);
  }
}

/** Settings the command cannot run with (no URL, no token, an unsafe or invalid profile file): exit 2, no usage hint. */
export class SetupError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** The control plane answered with an error: `{ error: { code, message, details } }`. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly serverMessage: string,
    readonly code?: string,
    readonly details?: unknown,
  ) {
    super(apiErrorText(status, serverMessage, details), status >= 400 && status < 500 ? EXIT.refused : EXIT.failed);
  }
}

/** The request never got an answer: refused, unresolvable, reset, timed out. */
export class NetworkError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.failed, options);
  }
}

export function statusText(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown Status';
}

/** The fields a 4xx's details name (`[{location, field, message}]` or `{field}`), as `body.tag`. */
export function detailFields(details: unknown): string[] {
  const items = Array.isArray(details) ? details : details && typeof details === 'object' ? [details] : [];
  const fields: string[] = [];
  for (const item of items) {
    if (!item || typeof item !== 'object') continue;
    const { field, location } = item as { field?: unknown; location?: unknown };
    if (typeof field !== 'string' || field === '') continue;
    const named = typeof location === 'string' && location !== '' ? `${location}.${field}` : field;
    if (!fields.includes(named)) fields.push(named);
  }
  return fields;
}

/** `409 Conflict: <message>`, with the details' fields the message does not already name. */
export function apiErrorText(status: number, message: string, details?: unknown): string {
  const missing = detailFields(details).filter((field) => !message.includes(field));
  const fields = missing.length > 0 ? ` (${missing.length === 1 ? 'field' : 'fields'} ${missing.join(', ')})` : '';
  return `${status} ${statusText(status)}: ${oneLine(message)}${fields}`;
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

// Bearer tokens Slipway mints; a configured one is also redacted by value.
const TOKEN_PATTERN = /slw_[A-Za-z0-9_-]+/g;

/** Never a token in what is printed, whatever the message quotes. */
export function redact(text: string, secrets: ReadonlyArray<string> = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('***');
  return out.replace(TOKEN_PATTERN, 'slw_***');
}

/** The single stderr line for any failure. */
export function errorLine(error: unknown, secrets: ReadonlyArray<string> = []): string {
  const message =
    error instanceof CliError
      ? error.message
      : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
  const hint = error instanceof UsageError ? `; see slipway ${error.command ? `${error.command} ` : ''}--help` : '';
  return `slipway: ${redact(oneLine(message), secrets)}${hint}`;
}

export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : EXIT.failed;
}
