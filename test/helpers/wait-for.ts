import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `fn` until it returns something other than `undefined`, `null` or `false`, and returns that
 * value. Errors thrown by `fn` count as "not yet". On timeout, throws with the last value or error so
 * a failing test says what it was waiting for.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5_000, what = 'condition', intervalMs = 10): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as Exclude<T, undefined | null | false>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`waitFor(${what}) timed out after ${timeoutMs} ms; last: ${detail}`);
    }
    await sleep(intervalMs);
  }
}
