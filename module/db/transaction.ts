import type { Knex } from 'knex';
import { isRetryableDbError, translateDbError } from './db-errors.js';

/**
 * Runs `fn` in a transaction; a deadlock victim or busy SQLite file is retried a few times with a
 * short random pause, then the error is translated for the caller.
 */
export async function runInTransaction<T>(db: Knex, fn: (trx: Knex.Transaction) => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      if (i < attempts && isRetryableDbError(err)) {
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * i));
        continue;
      }
      throw translateDbError(err);
    }
  }
}
