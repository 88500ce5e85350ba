import type { Knex } from 'knex';

/** Whether the host's knex talks to MySQL/MariaDB (row locks, SKIP LOCKED) rather than SQLite. */
export function isMysql(db: Knex): boolean {
  const client = String(db.client.config.client ?? '');
  return client === 'mysql2' || client === 'mysql';
}

/** Reads a timestamp column: MySQL gives Date, SQLite (via knex) integer milliseconds. */
export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v));
  if (typeof v === 'string') return /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
  throw new TypeError(`not a timestamp: ${String(v)}`);
}

export function toDateOrNull(v: unknown): Date | null {
  return v === null || v === undefined ? null : toDate(v);
}

/** Both drivers return booleans as 0/1. */
export function toBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}

export function toNumberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** The id of a single-row insert on either database. */
export function insertedId(result: unknown[]): number {
  const first = result[0] as number | { id: number };
  return typeof first === 'object' ? Number(first.id) : Number(first);
}

export function parseJson<T>(v: unknown, fallback: T): T {
  if (v === null || v === undefined || v === '') return fallback;
  if (typeof v === 'object') return v as T;
  try {
    return JSON.parse(String(v)) as T;
  } catch {
    return fallback;
  }
}

/**
 * A column's new value chosen per row in a multi-row UPDATE: `CASE id WHEN … THEN … ELSE column END`,
 * so rows not listed keep theirs.
 */
export function byId(db: Knex, column: string, values: Array<[number, Knex.Value]>): Knex.Raw {
  return db.raw(`CASE ?? ${values.map(() => 'WHEN ? THEN ?').join(' ')} ELSE ?? END`, ['id', ...values.flat(), column]);
}
