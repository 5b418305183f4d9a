/**
 * One error family for Slipway. Only the HTTP edge turns these into responses;
 * everything below throws them with the cause attached.
 */
export type ErrorDetails = Record<string, unknown> | Array<Record<string, unknown>>;

interface SlipwayErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
}

export class SlipwayError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: ErrorDetails | undefined;

  constructor(code: string, status: number, message: string, options: SlipwayErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details;
  }

  /** Client mistakes carry a message meant for the caller; server faults do not. */
  get expose(): boolean {
    return this.status < 500;
  }
}

export class InvalidInput extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('INVALID_INPUT', 400, message, options);
  }
}

export class Unauthenticated extends SlipwayError {
  constructor(message = 'a valid bearer token is required', options?: SlipwayErrorOptions) {
    super('UNAUTHENTICATED', 401, message, options);
  }
}

export class Forbidden extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('FORBIDDEN', 403, message, options);
  }
}

export class NotFound extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('NOT_FOUND', 404, message, options);
  }
}

export class Conflict extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('CONFLICT', 409, message, options);
  }
}

export class PayloadTooLarge extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('PAYLOAD_TOO_LARGE', 413, message, options);
  }
}

export class Unprocessable extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('UNPROCESSABLE', 422, message, options);
  }
}

export class UpstreamFailed extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('UPSTREAM_FAILED', 502, message, options);
  }
}

/** An AWS service this machine cannot reach at all; the message says what to set, so it is shown despite the 5xx. */
export class Unavailable extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('UNAVAILABLE', 503, message, options);
  }

  override get expose(): boolean {
    return true;
  }
}

/**
 * A role of another account that cannot be assumed (its trust policy, its external id, STS itself):
 * a 502 naming the account and the role, which the operator fixes in that account; the external id
 * is never in it. The STS error is the cause. Shown despite the 5xx, as the message says what to fix.
 */
export class AssumeRoleFailed extends SlipwayError {
  constructor(account: string, roleArn: string, reason: string, options?: SlipwayErrorOptions) {
    super('ASSUME_ROLE_FAILED', 502, `cannot assume role ${roleArn} of account ${account}: ${reason}`, {
      ...options,
      details: { account, roleArn },
    });
  }

  override get expose(): boolean {
    return true;
  }
}

export class ConfigError extends SlipwayError {
  constructor(message: string, options?: SlipwayErrorOptions) {
    super('CONFIG_INVALID', 500, message, options);
  }
}
