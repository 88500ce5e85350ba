import { inspect, types } from 'node:util';

/**
 * Characters kept of a failure reason. A TEXT column holds 65,535 bytes on MySQL/MariaDB, whose strict
 * mode refuses a longer value; at up to four UTF-8 bytes a character this always fits.
 */
const MAX_REASON_CHARS = 16_000;
/** VARCHAR(255) of last_modified_by. */
const MAX_BY_CHARS = 255;

/** `s` cut to `max` characters, never between the two halves of a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const head = s.slice(0, max - 1);
  return `${/[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head}…`;
}

/** JSON when the value has one, else what util.inspect shows (cycles, BigInt, functions). */
function readable(v: unknown): string {
  try {
    const json = JSON.stringify(v);
    if (json !== undefined) return json;
  } catch {
    // cyclic or BigInt: inspect below still shows it
  }
  return inspect(v, { depth: 4, breakLength: Infinity });
}

/**
 * The fail_reason column's text. Agenda keeps an Error's message but any other thrown value as it is
 * (a plain object, a forked job's parsed error, an Error of another realm its instanceof misses);
 * bound raw, SQLite refuses it (Agenda swallows that final save: the job stays locked and runs again
 * at every lock expiry) and MariaDB stores "[object Object]". Like node-postgres does for Agenda's
 * own backend, such a value is stored as JSON text.
 */
export function failReasonParam(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return cut(v, MAX_REASON_CHARS);
  if (types.isNativeError(v)) return cut(v.message, MAX_REASON_CHARS);
  return cut(readable(v), MAX_REASON_CHARS);
}

/** progress (a DOUBLE): touch() passes what the handler gave; anything but a finite number is none. */
export function progressParam(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** last_modified_by: Agenda's worker name, as text that fits the column on both databases. */
export function modifiedByParam(v: unknown): string | null {
  return v === null || v === undefined || v === '' ? null : cut(String(v), MAX_BY_CHARS);
}
