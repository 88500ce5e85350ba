import { parseJson } from '../../db/values.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || typeof v !== 'object';

function contains(target: unknown, pattern: unknown, topLevel: boolean): boolean {
  if (Array.isArray(pattern)) {
    return Array.isArray(target) && pattern.every((p) => target.some((t) => contains(t, p, false)));
  }
  if (isObject(pattern)) {
    return isObject(target) && Object.keys(pattern).every((k) => k in target && contains(target[k], pattern[k], false));
  }
  // Postgres' one exception: a top-level array contains a scalar that is one of its elements.
  if (topLevel && Array.isArray(target)) return target.some((t) => isScalar(t) && t === pattern);
  return target === pattern;
}

/**
 * Postgres `jsonb @>` (the reference's `data @> $1::jsonb`) evaluated in JS, because neither SQLite nor
 * MariaDB has a containment operator with the same rules. `stored` is the data column's text; SQL NULL
 * (a job saved without data) never matches, as in Postgres.
 */
export function dataContains(stored: unknown, pattern: unknown): boolean {
  if (stored === null || stored === undefined) return false;
  const target = parseJson<unknown>(stored, undefined);
  if (target === undefined) return false;
  // The pattern is sent as JSON in the reference too: Dates become strings, undefined keys vanish.
  const normalised: unknown = JSON.parse(JSON.stringify(pattern) ?? 'null');
  return contains(target, normalised, true);
}
