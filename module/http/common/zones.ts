import { dateTimeFormat, relativeTimeFormat } from './intl-cache.js';
import { languageZones, zoneLabel } from './zone-list.js';

/** A time zone as a form offers it: the IANA id is what is submitted, the label what is read. */
export interface ZoneChoice {
  value: string;
  label: string;
}

const HOUR = 3_600_000;
const GMT_LIKE = /^(GMT|UTC)([+\-−]|$)/;
/**
 * A zone's name part. Pages ask for a few zones again and again (kept formatters: see intl-cache);
 * the list of every zone (zone-list.ts) builds its own, so it does not push those out.
 */
const partOf = (lng: string, timeZone: string, timeZoneName: Intl.DateTimeFormatOptions['timeZoneName'], at: Date) =>
  dateTimeFormat(lng, { timeZone, timeZoneName }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? '';

/**
 * The zone's name in `lng` ("Korean Standard Time", "한국 표준시"), or its IANA id where the language
 * has no name for it but an offset (Etc/GMT+5), which the offset beside it already says.
 */
export function zoneName(lng: string, timeZone: string, at = new Date()): string {
  for (const style of ['longGeneric', 'long'] as const) {
    const name = partOf(lng, timeZone, style, at);
    if (name && !GMT_LIKE.test(name)) return name;
  }
  return timeZone;
}

/** The zone next to a time by its offset ("GMT+9"): unambiguous, where abbreviations are not (CST). */
export function shortZone(lng: string, timeZone: string, at: Date): string {
  return partOf(lng, timeZone, 'shortOffset', at);
}

/** Minutes east of UTC at `at` (daylight saving included). */
export function offsetMinutes(timeZone: string, at: Date): number {
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(partOf('en', timeZone, 'longOffset', at));
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/**
 * Every zone this runtime knows (plus UTC and `extra`, e.g. an alias a schedule holds) named in
 * `lng` with its offset, west to east, and `own` (the user's zone) first.
 */
export function zoneChoices(lng: string, own: string, extra: string[] = [], at = new Date()): ZoneChoice[] {
  const all = languageZones(lng, at.getTime());
  const known = new Set(all.map((c) => c.value));
  const added = [...new Set(extra.filter((z) => z && !known.has(z)))].map((z) => {
    const name = zoneName(lng, z, at);
    return { value: z, label: zoneLabel(z, name, offsetMinutes(z, at)) };
  });
  const list = [...all, ...added].map(({ value, label }) => ({ value, label }));
  const first = list.find((c) => c.value === own);
  return first ? [first, ...list.filter((c) => c !== first)] : list;
}

/**
 * When `at` is from `now`, the way people say it: "in 40 minutes", "in 5 hours", then by calendar
 * days in `timeZone` ("tomorrow", "in 2 days"), so a run at 01:00 tomorrow is not "in 1 day" at 23:00.
 */
export function fromNow(lng: string, timeZone: string, at: Date, now: Date): string {
  const rtf = relativeTimeFormat(lng);
  const ms = at.getTime() - now.getTime();
  if (Math.abs(ms) < HOUR) return rtf.format(Math.round(ms / 60_000), 'minute');
  if (Math.abs(ms) < 12 * HOUR) return rtf.format(Math.round(ms / HOUR), 'hour');
  const day = (d: Date) => Date.parse(dateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d));
  const days = Math.round((day(at) - day(now)) / (24 * HOUR));
  return days === 0 ? rtf.format(Math.round(ms / HOUR), 'hour') : rtf.format(days, 'day');
}
