import { ConflictError, UnavailableError } from '../domain/errors.js';

const UNAVAILABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK',
]);
const DUPLICATE = new Set(['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/**
 * The one place database-driver errors become domain errors: the rest of the module never looks at
 * mysql2 or better-sqlite3 codes. Anything unrecognised is returned unchanged (a logged 500).
 */
export function translateDbError(err: unknown): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (!code) return err;
  if (DUPLICATE.has(code)) return new ConflictError('duplicate_record');
  if (UNAVAILABLE.has(code) || code.startsWith('SQLITE_BUSY')) return new UnavailableError('database_busy');
  return err;
}

/** Whether a failed transaction is worth running again (a deadlock victim or a busy SQLite file). */
export function isRetryableDbError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? '';
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code.startsWith('SQLITE_BUSY');
}
