import { afterEach, describe, expect, it } from 'vitest';
import { hourLabel, wallTime, weekdayNames } from '../../module/http/client/schedule-presenter.js';
import { dateTimeFormat } from '../../module/http/common/intl-cache.js';
import { fromNow, shortZone } from '../../module/http/common/zones.js';

const Original = Intl.DateTimeFormat;

describe('Intl formatters are built once and kept, not per request', () => {
  afterEach(() => {
    Intl.DateTimeFormat = Original;
  });

  it('gives the same formatter for the same language and options', () => {
    expect(dateTimeFormat('ko', { hour: 'numeric', timeZone: 'UTC' })).toBe(dateTimeFormat('ko', { hour: 'numeric', timeZone: 'UTC' }));
    expect(dateTimeFormat('ko', { hour: 'numeric', timeZone: 'UTC' })).not.toBe(dateTimeFormat('ja', { hour: 'numeric', timeZone: 'UTC' }));
  });

  it('builds no new DateTimeFormat when a schedules page\'s labels are made again', () => {
    const now = new Date();
    const labels = () => [
      ...weekdayNames('ja'), ...Array.from({ length: 24 }, (_, h) => hourLabel('ja', h)), wallTime('ja', 3, 15),
      shortZone('ja', 'Asia/Tokyo', now), fromNow('ja', 'Asia/Tokyo', new Date(now.getTime() + 3 * 86_400_000), now),
    ];
    const first = labels();
    let built = 0;
    // Counts constructions from here on; ICU keeps each one's native memory until a collection.
    Intl.DateTimeFormat = new Proxy(Original, { construct: (target, args) => { built += 1; return new target(...(args as [])); } });
    expect(labels()).toEqual(first);
    expect(built).toBe(0);
  });
});
