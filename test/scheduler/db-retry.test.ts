import { describe, expect, it } from 'vitest';
import { retryingDbErrors } from '../../module/scheduler/knex-backend/db-retry.js';

/** Shaped as the drivers throw them: mysql2 sets `code` to the server's symbol, better-sqlite3 to SQLITE_*. */
const dbError = (code: string) => Object.assign(new Error(code), { code });

/** Failing `failures` times with `error`, then answering `value`; counts its calls. */
function flaky<T>(failures: number, error: Error, value: T) {
  const fn = async () => {
    fn.calls++;
    if (fn.calls <= failures) throw error;
    return value;
  };
  fn.calls = 0;
  return fn;
}

describe('retryingDbErrors (the job store\'s writes Agenda would otherwise drop)', () => {
  it('repeats a statement InnoDB chose as a deadlock victim, and answers what the attempt that went through answered', async () => {
    const fn = flaky(2, dbError('ER_LOCK_DEADLOCK'), 1);
    await expect(retryingDbErrors(fn, 5)).resolves.toBe(1);
    expect(fn.calls).toBe(3);
  });

  it('repeats a lock wait timeout and a busy SQLite file too', async () => {
    const timeout = flaky(1, dbError('ER_LOCK_WAIT_TIMEOUT'), 'ok');
    await expect(retryingDbErrors(timeout)).resolves.toBe('ok');
    const busy = flaky(1, dbError('SQLITE_BUSY_SNAPSHOT'), 'ok');
    await expect(retryingDbErrors(busy)).resolves.toBe('ok');
    expect([timeout.calls, busy.calls]).toEqual([2, 2]);
  });

  it('never repeats anything else: a constraint or syntax error surfaces at once', async () => {
    const fn = flaky(1, dbError('ER_DUP_ENTRY'), 'never');
    await expect(retryingDbErrors(fn, 5)).rejects.toThrow('ER_DUP_ENTRY');
    expect(fn.calls).toBe(1);
  });

  it('gives up after the attempts it was given, with the last error', async () => {
    const fn = flaky(10, dbError('ER_LOCK_DEADLOCK'), 'never');
    await expect(retryingDbErrors(fn, 3)).rejects.toThrow('ER_LOCK_DEADLOCK');
    expect(fn.calls).toBe(3);
  });
});
