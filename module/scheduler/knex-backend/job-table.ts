import type { Knex } from 'knex';

/** Options of KnexBackend / KnexJobRepository. */
export interface KnexBackendOptions {
  /** The host panel's knex instance (MySQL/MariaDB via mysql2, or SQLite via better-sqlite3). Never destroyed here. */
  db: Knex;
  /** Table created by migrations/20261122010000_snapshot_jobs.ts (default 'snapshot_jobs'). */
  tableName?: string;
  /**
   * How long Agenda's write at the start of a run may wait to be replaced by the write at its end
   * (see DeferredStarts); 0, the default, writes it at once like the reference.
   */
  deferRunStartMs?: number;
}

export const DEFAULT_TABLE = 'snapshot_jobs';

/** Where the jobs live; passed to every query helper so they stay free functions. */
export interface JobTable {
  readonly db: Knex;
  readonly table: string;
}

/** A jobs-table row as the drivers return it: Date (MySQL) or ms integer (SQLite) timestamps, 0/1 booleans. */
export type JobRow = Record<string, unknown>;

/** Rows per statement when a JS-side filter turns into `WHERE id IN (...)`. */
export const ID_CHUNK = 500;

/** Splits ids for IN lists, keeping each statement well under placeholder limits. */
export function chunks<T>(items: T[], size = ID_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
