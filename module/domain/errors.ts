/**
 * Typed domain errors. Every error a user can meet carries a stable `code` (API clients switch on it),
 * an HTTP status and an i18n key under the `errors` namespace; `params` fill the message placeholders.
 */
export class SnapshotError extends Error {
  readonly code: string;
  readonly status: number;
  readonly i18nKey: string;
  readonly params: Record<string, unknown>;

  constructor(code: string, status: number, params: Record<string, unknown> = {}, message?: string) {
    super(message ?? code);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.i18nKey = `errors:${code}`;
    this.params = params;
  }
}

/** Input that fails validation; `fields` maps a form field to its own error code. */
export class ValidationError extends SnapshotError {
  readonly fields: Record<string, { code: string; params?: Record<string, unknown> }>;
  constructor(fields: Record<string, { code: string; params?: Record<string, unknown> }>) {
    super('validation_failed', 422, { count: Object.keys(fields).length });
    this.fields = fields;
  }
}

/** Unknown service or snapshot, or one the actor may not see (never reveal which). */
export class NotFoundError extends SnapshotError {
  constructor(what: 'service' | 'snapshot' | 'schedule' | 'operation' | 'clone' = 'snapshot') {
    super(`${what}_not_found`, 404);
  }
}

export class ForbiddenError extends SnapshotError {
  constructor(code = 'forbidden') {
    super(code, 403);
  }
}

/** A rule refused the action in the current state (limit reached, pinned, wrong status...). */
export class ConflictError extends SnapshotError {
  constructor(code: string, params: Record<string, unknown> = {}) {
    super(code, 409, params);
  }
}

export class IllegalTransitionError extends ConflictError {
  constructor(from: string, to: string) {
    super('illegal_transition', { from, to });
  }
}

export class QuotaExceededError extends ConflictError {
  constructor(params: { limit: number; used: number; over: number }) {
    super('snapshot_limit_reached', params);
  }
}

/** A body in a media type the route does not read (the signed webhook takes JSON only). */
export class UnsupportedMediaTypeError extends SnapshotError {
  constructor(params: Record<string, unknown> = {}) {
    super('unsupported_media_type', 415, params);
  }
}

/** The database or hypervisor is out of reach; the request may be retried later. */
export class UnavailableError extends SnapshotError {
  constructor(code = 'service_unavailable', params: Record<string, unknown> = {}) {
    super(code, 503, params);
  }
}

/** Whether a thrown value is one of ours (anything else renders as a generic, logged 500). */
export function isSnapshotError(err: unknown): err is SnapshotError {
  return err instanceof SnapshotError;
}
