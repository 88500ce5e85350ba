import { CronExpressionParser } from 'cron-parser';

/** The latest occurrence of `cron` at or before `now`, in `timezone`: the one a run stands for. */
export function previousOccurrence(cron: string, timezone: string, now: Date): Date {
  return CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date(now.getTime() + 1000) }).prev().toDate();
}

/** Patterns (cron expression and timezone) remembered at most; past it, the oldest is dropped. */
const MAX_PATTERNS = 500;
/** The longest span one answer is remembered for: an hour holds at most one change of a zone's offset. */
export const MAX_SPAN_MS = 3600_000;
/** How far back a computation may start for its answer to be remembered: no zone changes its offset twice in it. */
const MAX_ANCHOR_MS = 8 * 24 * 3600_000;

/**
 * Answers that hold for a span of time, per pattern (cron expression and timezone). An answer is kept
 * only for a span of at most an hour over which the timezone's UTC offset does not change: there the
 * zone is a fixed shift of UTC and cron-parser's occurrences follow one another plainly (around a DST
 * change its next() and prev() may skip or repeat the doubled hour, depending on where they start).
 * Weekly patterns (schedules) fit; a computation that started further back is not remembered.
 * The key is the pattern itself, so a schedule edited to another time or timezone never gets an old
 * answer; bounded, the oldest pattern dropped first.
 */
export class SpanCache {
  private readonly known = new Map<string, { from: number; to: number; value: number }>();
  private readonly offsets = new Map<string, Intl.DateTimeFormat>();

  /** The answer remembered for `key` at time `t`, if one holds there. */
  get(key: string, t: number): number | undefined {
    const hit = this.known.get(key);
    return hit && t >= hit.from && t <= hit.to ? hit.value : undefined;
  }

  /**
   * Remembers `value` for times from `from` up to `to` (cut to an hour), unless `timezone`'s offset
   * changes between `anchor` (where the computation started from, at most a week and a day before)
   * and the span's end.
   */
  set(key: string, timezone: string | undefined, from: number, to: number, value: number, anchor = from): void {
    this.known.delete(key);
    const end = Math.min(to, from + MAX_SPAN_MS);
    if (end < from || anchor > from || end - anchor > MAX_ANCHOR_MS) return;
    if (timezone && this.offset(timezone, anchor) !== this.offset(timezone, end)) return;
    if (this.known.size >= MAX_PATTERNS) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, { from, to: end, value });
  }

  get size(): number {
    return this.known.size;
  }

  private offset(timezone: string, t: number): string {
    let format = this.offsets.get(timezone);
    if (!format) {
      format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' });
      if (this.offsets.size >= MAX_PATTERNS) this.offsets.clear();
      this.offsets.set(timezone, format);
    }
    return format.formatToParts(t).find((p) => p.type === 'timeZoneName')?.value ?? '';
  }
}

/**
 * previousOccurrence, computed once per pattern and span (see SpanCache): a rush runs thousands of
 * schedules of a few patterns (03:00 in a few timezones), and cron-parser over luxon cost ~0.1 ms a
 * run. An answer holds from the query that computed it until the next occurrence (at most an hour).
 */
export class PreviousOccurrences {
  private readonly cache = new SpanCache();

  of(cron: string, timezone: string, now: Date): Date {
    const key = `${timezone} ${cron}`;
    // cron-parser's prev() is strictly before its date; a run at the very second still stands for it.
    const q = now.getTime() + 1000;
    const hit = this.cache.get(key, q);
    if (hit !== undefined) return new Date(hit);
    const prev = previousOccurrence(cron, timezone, now);
    const next = CronExpressionParser.parse(cron, { tz: timezone, currentDate: prev }).next().toDate().getTime();
    // Computed from the occurrence back to now: the offset must hold from it to the span's end.
    this.cache.set(key, timezone, q, next, prev.getTime(), prev.getTime());
    return prev;
  }
}
