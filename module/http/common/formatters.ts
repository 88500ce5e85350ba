import { remembered } from './bounded.js';
export interface Formatters {
  date(d: Date | null): string;
  bytes(n: number | null): string;
}

const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;
// Bounds: odd languages or timezones in requests, and values on long-lived formatters. A panel's
// users span many timezones; each date formatter holds ~30 kB of ICU memory outside V8's heap.
const DATE_FORMATTERS = 64;
const SIZE_FORMATTERS = 20;
const VALUES = 500;

/** A formatter that remembers its answers, and how many it holds. */
interface Answering { (n: number): string; held(): number }

/**
 * Date and size formatters, one set per module instance: dates per language and timezone, sizes per
 * language (they do not depend on the timezone, and are five Intl.NumberFormats a language). Intl
 * formatters are costly to build and still ~1 µs a call once built, while a page formats ~150 dates
 * and sizes that mostly repeat from one view to the next; so each formatter also remembers its
 * answers (a pure function of the value once language and timezone are fixed).
 */
export class FormatterCache {
  private readonly sets = new Map<string, { formatters: Formatters; dates: Answering; sizes: Answering }>();
  private readonly sizes = new Map<string, Answering>();

  /** Dates in the user's language and timezone; sizes in binary units written the locale's way. */
  get(lng: string, timeZone: string): Formatters {
    return remembered(this.sets, `${lng}|${timeZone}`, DATE_FORMATTERS, () => {
      const dates = dateFormatter(lng, timeZone);
      const sizes = remembered(this.sizes, lng, SIZE_FORMATTERS, () => sizeFormatter(lng));
      const formatters: Formatters = {
        date: (d) => (d ? dates(d.getTime()) : ''),
        bytes: (n) => (n === null || n === undefined ? '' : sizes(n)),
      };
      return { formatters, dates, sizes };
    }).formatters;
  }

  /** What it holds: Intl formatters built (each with its ICU memory) and answers remembered. */
  held(): { formatters: number; answers: number } {
    const sets = [...this.sets.values()];
    const sizes = new Set([...this.sizes.values(), ...sets.map((s) => s.sizes)]);
    const answers = [...sets.map((s) => s.dates), ...sizes].reduce((n, f) => n + f.held(), 0);
    return { formatters: sets.length + sizes.size * UNITS.length, answers };
  }
}

/**
 * The clock every time is written with in `lng`, so one page never mixes two: the locale's own (en
 * 12-hour, ja 24-hour), but Korean on a 24-hour clock: recent ICU (Node 20's 78) writes the Korean
 * 12-hour clock as "PM 4:55".
 */
export function clockOf(lng: string): { hourCycle?: 'h23' } {
  return lng.toLowerCase().startsWith('ko') ? { hourCycle: 'h23' } : {};
}

function dateFormatter(lng: string, timeZone: string): Answering {
  const dtf = new Intl.DateTimeFormat(lng, { dateStyle: 'medium', timeStyle: 'short', timeZone, ...clockOf(lng) });
  return answering((ms) => dtf.format(ms));
}

function sizeFormatter(lng: string): Answering {
  const nf = UNITS.map((unit) => new Intl.NumberFormat(lng, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: 1 }));
  return answering((n) => {
    let v = n;
    let i = 0;
    while (v >= 1024 && i < UNITS.length - 1) {
      v /= 1024;
      i += 1;
    }
    return nf[i]!.format(v);
  });
}

function answering(f: (n: number) => string): Answering {
  const answers = new Map<number, string>();
  return Object.assign((n: number) => remembered(answers, n, VALUES, () => f(n)), { held: () => answers.size });
}
