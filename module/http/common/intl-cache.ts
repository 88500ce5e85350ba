import { remembered } from './bounded.js';

// Bound per kind: languages × the timezones of the schedules a page shows × a few styles.
const LIMIT = 400;
const DATE_TIME = new Map<string, Intl.DateTimeFormat>();
const RELATIVE = new Map<string, Intl.RelativeTimeFormat>();
const LISTS = new Map<string, Intl.ListFormat>();

/**
 * One Intl.DateTimeFormat per language and options, kept. Each holds ICU objects of ~15 kB in
 * native memory that V8 does not count as heap, so building them per request (a schedules page built
 * ~30) grew a busy process's RSS by hundreds of MB before a collection ran, and the allocator kept it.
 */
export function dateTimeFormat(lng: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return remembered(DATE_TIME, `${lng}|${JSON.stringify(options)}`, LIMIT, () => new Intl.DateTimeFormat(lng, options));
}

/** Intl.RelativeTimeFormat with `numeric: 'auto'` ("tomorrow"), one per language (see dateTimeFormat). */
export function relativeTimeFormat(lng: string): Intl.RelativeTimeFormat {
  return remembered(RELATIVE, lng, LIMIT, () => new Intl.RelativeTimeFormat(lng, { numeric: 'auto' }));
}

/** Intl.ListFormat of `type`, one per language (see dateTimeFormat). */
export function listFormat(lng: string, type: Intl.ListFormatType): Intl.ListFormat {
  return remembered(LISTS, `${lng}|${type}`, LIMIT, () => new Intl.ListFormat(lng, { type }));
}
