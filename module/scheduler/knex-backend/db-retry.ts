import { isRetryableDbError } from '../../db/db-errors.js';

/**
 * Runs `fn` again when InnoDB picked it as a deadlock victim (possible for concurrent
 * INSERT … ON DUPLICATE KEY UPDATE and locking reads) or SQLite stayed busy past busy_timeout;
 * both are transient and the statements are safe to repeat.
 */
export async function retryingDbErrors<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetryableDbError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}
