import { remembered } from './bounded.js';

/** A zone of the schedule form's list: its label in one language, true over [from, until). */
export interface ListedZone {
  value: string;
  label: string;
  offset: number;
  from: number;
  until: number;
}

const MINUTE = 60_000;
const WEEK = 7 * 24 * 60 * MINUTE;
/** How far ahead the next offset change is looked for; a zone without one is looked at again then. */
const HORIZON = 53 * WEEK;
const GMT_LIKE = /^(GMT|UTC)([+\-−]|$)/;

/**
 * One formatter per zone gives both its name (the timeZoneName part) and its offset (the wall-clock
 * parts against UTC). Each formatter holds ~30 kB of ICU memory outside V8's heap until a collection,
 * and the allocator keeps it after: the list used to build three per zone, language and hour (~1,300,
 * +35 MB of RSS for the first language, more every hour after).
 */
function formatter(lng: string, timeZone: string, timeZoneName: 'longGeneric' | 'long'): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(lng, {
    timeZone, timeZoneName, calendar: 'gregory', numberingSystem: 'latn', hourCycle: 'h23',
    year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
  });
}

/** The zone's offset (the wall-clock parts against UTC) and name part at `at`. */
function stateAt(f: Intl.DateTimeFormat, at: number): { offset: number; name: string } {
  const p: Record<string, number> = {};
  let name = '';
  for (const part of f.formatToParts(at)) {
    if (part.type === 'timeZoneName') name = part.value;
    else if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const minute = at - (at % MINUTE);
  return { offset: Math.round((Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!) - minute) / MINUTE), name };
}

/**
 * When the offset or the name first differ from those at `from`, to the minute: weekly steps (no
 * zone changes twice within a week), then halving the week where it changed. Names change too, if
 * rarely: America/Coyhaique became "Coyhaique Time" in March 2025, weeks before its offset moved.
 */
function nextChange(f: Intl.DateTimeFormat, from: number): number {
  const first = stateAt(f, from);
  const same = (at: number) => {
    const s = stateAt(f, at);
    return s.offset === first.offset && s.name === first.name;
  };
  for (let lo = from, hi = from + WEEK; hi <= from + HORIZON; lo = hi, hi += WEEK) {
    if (same(hi)) continue;
    while (hi - lo > MINUTE) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
      if (same(mid)) lo = mid;
      else hi = mid;
    }
    return hi;
  }
  return from + HORIZON;
}

function offsetLabel(minutes: number): string {
  const abs = Math.abs(minutes);
  return `GMT${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** "(GMT+09:00) Korean Standard Time — Asia/Seoul", or "(GMT-05:00) Etc/GMT+5" for a zone without a name. */
export function zoneLabel(zone: string, name: string, offset: number): string {
  return name === zone ? `(${offsetLabel(offset)}) ${zone}` : `(${offsetLabel(offset)}) ${name} — ${zone}`;
}

/** The zone named in `lng` (by its IANA id where the language has only an offset for it) at `at`. */
function listedZone(lng: string, zone: string, at: number): ListedZone {
  const f = formatter(lng, zone, 'longGeneric');
  const { offset } = stateAt(f, at);
  let { name } = stateAt(f, at);
  if (!name || GMT_LIKE.test(name)) name = stateAt(formatter(lng, zone, 'long'), at).name;
  return { value: zone, label: zoneLabel(zone, !name || GMT_LIKE.test(name) ? zone : name, offset), offset, from: at, until: nextChange(f, at) };
}

interface LanguageZones { zones: ListedZone[]; sorted: boolean }
const LANGUAGES = new Map<string, LanguageZones>();

/**
 * Every zone the runtime knows, plus UTC, named in `lng` with its offset at `at`, west to east.
 * Kept per language: a zone is built again only once `at` leaves the span its offset holds (its
 * next daylight-saving change, or a year), so the list costs one formatter per zone and language,
 * not one set per hour.
 */
export function languageZones(lng: string, at: number): readonly ListedZone[] {
  const entry = remembered(LANGUAGES, lng, 20, () => ({
    zones: [...new Set([...Intl.supportedValuesOf('timeZone'), 'UTC'])].map((z) => listedZone(lng, z, at)), sorted: false,
  }));
  entry.zones.forEach((z, i) => {
    if (at < z.from || at >= z.until) {
      entry.zones[i] = listedZone(lng, z.value, at);
      entry.sorted = false;
    }
  });
  if (!entry.sorted) {
    entry.zones.sort((a, b) => a.offset - b.offset || a.label.localeCompare(b.label, lng));
    entry.sorted = true;
  }
  return entry.zones;
}
