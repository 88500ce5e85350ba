import { createHash } from 'node:crypto';

/**
 * Fields a `unique` query may name directly (not via `data.`), as in the reference: anything else is
 * refused so a typo does not silently create a key nothing else will ever match.
 */
const UNIQUE_QUERYABLE_COLUMNS = new Set([
  'id', 'name', 'priority', 'next_run_at', 'type', 'locked_at', 'last_finished_at', 'failed_at', 'fail_count',
  'fail_reason', 'repeat_timezone', 'last_run_at', 'repeat_interval', 'data', 'repeat_at', 'disabled', 'progress',
  'fork', 'last_modified_by', 'debounce_started_at', 'start_date', 'end_date', 'skip_days', 'created_at', 'updated_at',
]);

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** JSON with object keys sorted, so equal queries hash equally whatever order their keys were written in. */
function canonical(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canonical(o[k])]));
  }
  return v;
}

/**
 * Postgres compares `data->>'path'` (text) with `String(value)`, so 42 and '42' match each other there;
 * hashing the same text keeps that. Objects and arrays use canonical JSON instead of '[object Object]'.
 */
function dataPathValue(v: unknown): string {
  return v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(canonical(v)) : String(v);
}

/** unique_key of a 'single' job: one row per name among single jobs (the reference's partial unique index). */
export function singleKey(name: string): string {
  return sha256(JSON.stringify(['single', name]));
}

/**
 * unique_key of a job saved with `.unique(query)`: name plus the normalised query. The unique index on
 * it makes the upsert race-free, where the reference's SELECT-then-INSERT is not.
 */
export function uniqueKey(name: string, unique: Record<string, unknown>): string {
  const entries = Object.keys(unique).map((key): [string, unknown] => {
    if (key.startsWith('data.')) return [key, dataPathValue(unique[key])];
    const column = key.replace(/([A-Z])/g, '_$1').toLowerCase();
    if (!UNIQUE_QUERYABLE_COLUMNS.has(column)) throw new Error(`Invalid unique constraint field: "${key}"`);
    return [column, canonical(unique[key])];
  });
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(JSON.stringify(['unique', name, entries]));
}
