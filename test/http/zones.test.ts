import { afterEach, describe, expect, it } from 'vitest';
import { hourLabel, wallTime } from '../../module/http/client/schedule-presenter.js';
import { FormatterCache } from '../../module/http/common/formatters.js';
import { fromNow, zoneChoices, zoneName } from '../../module/http/common/zones.js';

const NOW = new Date(Date.UTC(2025, 0, 6, 14, 0)); // Monday 23:00 in Seoul
const H = 3_600_000;

describe('times on the schedule page', () => {
  it('use one clock per language: the list\'s times, the form\'s hours and the next run agree', () => {
    const at = new Date(Date.UTC(2025, 0, 6, 18, 30)); // 03:30 the next day in Seoul
    const dates = new FormatterCache();
    expect(wallTime('en', 3, 30)).toBe('3:30 AM');
    expect(dates.get('en', 'Asia/Seoul').date(at)).toMatch(/ 3:30 AM$/);
    expect(hourLabel('en', 15)).toBe('3 PM');
    expect(wallTime('ko', 3, 30)).toBe('03:30');
    expect(dates.get('ko', 'Asia/Seoul').date(at)).toMatch(/ 03:30$/);
    expect(hourLabel('ko', 15)).toBe('15시');
    expect(wallTime('ja', 3, 30)).toBe('3:30');
    expect(dates.get('ja', 'Asia/Seoul').date(at)).toMatch(/ 3:30$/);
    expect(hourLabel('ja', 15)).toBe('15時');
  });

  it('say when the next run is: minutes, hours, then calendar days in the viewer\'s zone', () => {
    expect(fromNow('en', 'Asia/Seoul', new Date(NOW.getTime() + 25 * 60_000), NOW)).toBe('in 25 minutes');
    expect(fromNow('en', 'Asia/Seoul', new Date(NOW.getTime() + 5 * H), NOW)).toBe('in 5 hours');
    // 13 hours from 23:00 is noon tomorrow; 47 hours is 22:00 the day after tomorrow, 49 a day later.
    expect(fromNow('en', 'Asia/Seoul', new Date(NOW.getTime() + 13 * H), NOW)).toBe('tomorrow');
    expect(fromNow('en', 'Asia/Seoul', new Date(NOW.getTime() + 47 * H), NOW)).toBe('in 2 days');
    expect(fromNow('en', 'Asia/Seoul', new Date(NOW.getTime() + 49 * H), NOW)).toBe('in 3 days');
    expect(fromNow('ko', 'Asia/Seoul', new Date(NOW.getTime() + 71 * H), NOW)).toBe('3일 후');
    expect(fromNow('ja', 'Asia/Seoul', new Date(NOW.getTime() + 13 * H), NOW)).toBe('明日');
  });

  it('name zones in the language, with offsets, west to east, the user\'s own first; values stay IANA ids', () => {
    const ko = zoneChoices('ko', 'Asia/Seoul', [], NOW);
    expect(ko[0]).toEqual({ value: 'Asia/Seoul', label: '(GMT+09:00) 한국 표준시 — Asia/Seoul' });
    expect(ko.filter((z) => z.value === 'Asia/Seoul')).toHaveLength(1);
    expect(ko.find((z) => z.value === 'UTC')?.label).toBe('(GMT+00:00) 협정 세계시 — UTC');
    // A zone a schedule holds that the runtime does not list (an alias) is offered too, by its id.
    expect(zoneChoices('ko', 'Asia/Seoul', ['Etc/GMT+5'], NOW).at(-1)).toEqual({ value: 'Etc/GMT+5', label: '(GMT-05:00) Etc/GMT+5' });
    const ja = zoneChoices('ja', 'Asia/Tokyo', [], NOW);
    expect(ja[0]!.label).toBe('(GMT+09:00) 日本標準時 — Asia/Tokyo');
    const offsets = ja.slice(1).map((z) => /\(GMT([+-])(\d{2}):(\d{2})\)/.exec(z.label)!).map((m) => (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])));
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(ja.length).toBe(new Set(ja.map((z) => z.value)).size);
    // In summer New York is four hours behind, and the list says so.
    expect(zoneChoices('en', 'UTC', [], new Date(Date.UTC(2025, 6, 1))).find((z) => z.value === 'America/New_York')?.label).toBe('(GMT-04:00) Eastern Time — America/New_York');
    expect(zoneName('en', 'Asia/Seoul')).toBe('Korean Standard Time');
  });
});

describe('the list of every zone', () => {
  const Original = Intl.DateTimeFormat;
  afterEach(() => {
    Intl.DateTimeFormat = Original;
  });
  /** Counts DateTimeFormat constructions during `work`: each holds ~30 kB of ICU memory outside the heap. */
  function built(work: () => void): number {
    let n = 0;
    Intl.DateTimeFormat = new Proxy(Original, { construct: (target, args) => { n += 1; return new target(...(args as [])); } });
    try {
      work();
    } finally {
      Intl.DateTimeFormat = Original;
    }
    return n;
  }
  const newYork = (lng: string, at: Date) => zoneChoices(lng, 'UTC', [], at).find((z) => z.value === 'America/New_York')?.label;

  it('builds one formatter per zone and language, and none when asked again hours and days later', () => {
    const zones = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']).size;
    const start = Date.UTC(2025, 0, 10);
    // German: a language no other test lists, so its list is built here.
    const first = built(() => zoneChoices('de', 'Europe/Berlin', [], new Date(start)));
    expect(first).toBeGreaterThanOrEqual(zones);
    expect(first).toBeLessThanOrEqual(zones + 5);
    const later = built(() => {
      for (let h = 1; h <= 72; h++) zoneChoices('de', 'Europe/Berlin', [], new Date(start + h * H));
    });
    expect(later).toBe(0);
  });

  it('moves a zone to its new offset at its daylight-saving change, in either direction of time', () => {
    const before = new Date(Date.UTC(2025, 2, 9, 6, 59)); // 01:59 in New York, the night it springs forward
    const after = new Date(Date.UTC(2025, 2, 9, 7, 0));
    expect(newYork('fr', before)).toBe('(GMT-05:00) heure de l’Est nord-américain — America/New_York');
    const rebuilt = built(() => expect(newYork('fr', after)).toBe('(GMT-04:00) heure de l’Est nord-américain — America/New_York'));
    // Only the zones that changed that minute (the United States' and Canada's eastern ones, ...).
    expect(rebuilt).toBeGreaterThan(0);
    expect(rebuilt).toBeLessThan(60);
    expect(newYork('fr', before)).toBe('(GMT-05:00) heure de l’Est nord-américain — America/New_York');
  });
});
