import { describe, expect, it } from 'vitest';
import { FormatterCache } from '../../module/http/common/formatters.js';

const AT = new Date('2026-06-09T07:30:00Z'); // 16:30 in Seoul and Tokyo
const formatters = (lng: string, timeZone: string) => new FormatterCache().get(lng, timeZone);

describe('date formatting per locale and timezone', () => {
  it('writes Korean and Japanese dates without Latin letters (no "PM"), in the user\'s timezone', () => {
    const ko = formatters('ko', 'Asia/Seoul').date(AT);
    const ja = formatters('ja', 'Asia/Tokyo').date(AT);
    expect(ko).toContain('16:30');
    expect(ja).toContain('16:30');
    expect(ko).not.toMatch(/[A-Za-z]/);
    expect(ja).not.toMatch(/[A-Za-z]/);
  });

  it('keeps English on the 12-hour clock, in the user\'s timezone', () => {
    expect(formatters('en', 'UTC').date(AT)).toMatch(/7:30\s?AM/);
    expect(formatters('en', 'Asia/Seoul').date(AT)).toMatch(/4:30\s?PM/);
  });
});

describe('the formatter cache', () => {
  it('answers each language and timezone for itself, however the requests interleave', () => {
    const cache = new FormatterCache();
    const fresh = (lng: string, timeZone: string) => new FormatterCache().get(lng, timeZone);
    const views: [string, string][] = [['en', 'UTC'], ['en', 'Asia/Seoul'], ['ko', 'Asia/Seoul'], ['ja', 'Asia/Tokyo'], ['ko', 'UTC'], ['en', 'UTC']];
    for (let round = 0; round < 3; round++) {
      for (const [lng, tz] of views) {
        for (const value of [AT, new Date(AT.getTime() + 60_000), null]) expect(cache.get(lng, tz).date(value), `${lng} ${tz}`).toBe(fresh(lng, tz).date(value));
        for (const n of [0, 1536, 20 * 1024 ** 3, null]) expect(cache.get(lng, tz).bytes(n), `${lng} ${n}`).toBe(fresh(lng, tz).bytes(n));
      }
    }
    expect(cache.get('en', 'UTC')).toBe(cache.get('en', 'UTC'));
    expect(cache.get('en', 'UTC').date(AT)).not.toBe(cache.get('en', 'Asia/Seoul').date(AT));
    expect(cache.get('en', 'UTC').bytes(1536)).toBe('1.5 kB');
  });

  it('stays right past its bounds', () => {
    const cache = new FormatterCache();
    const fmt = cache.get('en', 'UTC');
    for (let i = 0; i < 2500; i++) expect(fmt.date(new Date(AT.getTime() + i * 86_400_000))).toBe(new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(AT.getTime() + i * 86_400_000));
    for (let i = 0; i < 250; i++) cache.get('en', i % 2 ? 'UTC' : `Etc/GMT+${i % 12}`);
    expect(cache.get('en', 'Asia/Seoul').date(AT)).toMatch(/4:30\s?PM/);
  });
});

describe('what the formatter cache holds', () => {
  it('builds the size formatters once per language, not once per timezone', () => {
    const cache = new FormatterCache();
    for (let h = -12; h <= 12; h++) cache.get('en', `Etc/GMT${h < 0 ? '' : '+'}${h}`).bytes(1536);
    // 25 timezones: one date formatter each, and the five unit formatters of English once.
    expect(cache.held().formatters).toBe(25 + 5);
  });

  it('stays within its bounds however many languages, timezones and values a busy panel shows', () => {
    const cache = new FormatterCache();
    const zones = Intl.supportedValuesOf('timeZone');
    for (const lng of ['en', 'ko', 'ja', 'de', 'fr']) {
      for (const zone of zones) {
        const fmt = cache.get(lng, zone);
        for (let i = 0; i < 20; i++) fmt.date(new Date(AT.getTime() + i * 3_600_000));
        fmt.bytes(zones.indexOf(zone) * 1024);
      }
    }
    const held = cache.held();
    // 64 date formatters and 5 languages' unit formatters; 500 answers each at most.
    expect(held.formatters).toBeLessThanOrEqual(64 + 5 * 5);
    expect(held.answers).toBeLessThanOrEqual((64 + 5) * 500);
  });
});
