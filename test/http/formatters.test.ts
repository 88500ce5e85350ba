import { describe, expect, it } from 'vitest';
import { formatters } from '../../module/http/client/presenter.js';

const AT = new Date('2026-06-09T07:30:00Z'); // 16:30 in Seoul and Tokyo

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
