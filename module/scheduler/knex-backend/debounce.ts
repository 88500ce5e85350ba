import type { DebounceOptions } from 'agenda';

/** next_run_at / debounce_started_at to write for a debounced save. */
export interface DebounceTiming {
  next_run_at: Date | null;
  debounce_started_at: Date | null;
}

/**
 * First save of a debounced job (no row yet). Trailing: run `delay` after now; leading: run at the
 * requested time (immediately, for nowDebounced). Either way the window starts now.
 */
export function debounceFirst(debounce: DebounceOptions, requested: Date | null, now: Date): DebounceTiming {
  const next = debounce.strategy === 'leading' ? requested : new Date(now.getTime() + debounce.delay);
  return { next_run_at: next, debounce_started_at: now };
}

/**
 * A further save while a row exists, exactly as the reference: leading keeps the row's nextRunAt (even
 * null, once it has run) and window; trailing pushes nextRunAt to now + delay, unless maxWait has
 * elapsed since the window started, in which case it runs now and the window resets.
 */
export function debounceAgain(
  debounce: DebounceOptions,
  existing: { nextRunAt: Date | null; debounceStartedAt?: Date },
  now: Date,
): DebounceTiming {
  const startedAt = existing.debounceStartedAt ?? now;
  if (debounce.strategy === 'leading') return { next_run_at: existing.nextRunAt, debounce_started_at: startedAt };
  if (debounce.maxWait && now.getTime() - startedAt.getTime() >= debounce.maxWait) {
    return { next_run_at: now, debounce_started_at: null };
  }
  return { next_run_at: new Date(now.getTime() + debounce.delay), debounce_started_at: startedAt };
}
