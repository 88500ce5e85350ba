import { describe, expect, it } from 'vitest';
import { PreviousOccurrences, previousOccurrence, type SpanCache } from '../../module/scheduler/occurrences.js';

describe('PreviousOccurrences (the occurrence a run stands for, remembered per pattern)', () => {
  const patterns: Array<[string, string]> = [['0 3 * * 0', 'Europe/Berlin'], ['30 2 * * *', 'Europe/Berlin'], ['0 3 * * 0', 'UTC'], ['15 1 * * 1,4', 'America/New_York']];

  it('answers as cron-parser at every moment, across DST changes, a new week and a clock set back', () => {
    const cache = new PreviousOccurrences();
    // From March to November 2026 in uneven steps, every few minutes through the nights the clocks
    // change in Europe and America (an hour skipped, an hour repeated), with the same patterns asked
    // again and again; then steps back in time.
    const times: number[] = [];
    for (let t = Date.UTC(2026, 2, 1); t < Date.UTC(2026, 10, 10); t += 5 * 3600_000 + 13 * 60_000 + 999) times.push(t);
    for (const night of [Date.UTC(2026, 2, 8, 4), Date.UTC(2026, 2, 28, 22), Date.UTC(2026, 9, 24, 22), Date.UTC(2026, 10, 1, 4)]) {
      for (let t = night; t < night + 5 * 3600_000; t += 7 * 60_000 + 333) times.push(t);
    }
    times.push(Date.UTC(2026, 4, 1, 12), Date.UTC(2026, 2, 29, 1, 0, 0, 500));
    for (const t of times) {
      for (const [cron, tz] of patterns) {
        expect(cache.of(cron, tz, new Date(t)).getTime(), `${cron} ${tz} at ${new Date(t).toISOString()}`)
          .toBe(previousOccurrence(cron, tz, new Date(t)).getTime());
      }
    }
  });

  it('at the occurrence itself and a moment before it: the run stands for that occurrence, not the week before', () => {
    const cache = new PreviousOccurrences();
    const sunday3 = new Date('2026-12-06T02:00:00.000Z'); // 03:00 in Berlin
    expect(cache.of('0 3 * * 0', 'Europe/Berlin', new Date(sunday3.getTime() - 60_000)).toISOString()).toBe('2026-11-29T02:00:00.000Z');
    expect(cache.of('0 3 * * 0', 'Europe/Berlin', new Date(sunday3.getTime() - 1)).toISOString()).toBe('2026-12-06T02:00:00.000Z');
    expect(cache.of('0 3 * * 0', 'Europe/Berlin', sunday3).toISOString()).toBe('2026-12-06T02:00:00.000Z');
  });

  it('a schedule edited to another time or timezone gets its new occurrence, not the remembered one', () => {
    const cache = new PreviousOccurrences();
    const now = new Date('2026-12-06T05:00:00Z');
    expect(cache.of('0 3 * * 0', 'Europe/Berlin', now).toISOString()).toBe('2026-12-06T02:00:00.000Z');
    expect(cache.of('0 4 * * 0', 'Europe/Berlin', now).toISOString()).toBe('2026-12-06T03:00:00.000Z');
    expect(cache.of('0 3 * * 0', 'Asia/Seoul', now).toISOString()).toBe('2026-12-05T18:00:00.000Z');
  });

  it('stays bounded: many patterns, still correct answers', () => {
    const cache = new PreviousOccurrences();
    const now = new Date('2026-12-06T05:00:00Z');
    for (let m = 0; m < 60; m++) {
      for (let h = 0; h < 24; h++) expect(cache.of(`${m} ${h} * * *`, 'UTC', now).getTime()).toBe(previousOccurrence(`${m} ${h} * * *`, 'UTC', now).getTime());
    }
    expect((cache as unknown as { cache: SpanCache }).cache.size).toBeLessThanOrEqual(500);
  });
});
