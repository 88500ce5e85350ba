import { remembered } from './bounded.js';
export interface Formatters {
  date(d: Date | null): string;
  bytes(n: number | null): string;
}

const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;
// Bounds: odd languages or timezones in requests, and values on long-lived formatters.
const FORMATTERS = 200;
const VALUES = 1000;

/**
 * Date and size formatters per language and timezone, one set per module instance. Intl formatters
 * are costly to build and still ~1 µs a call once built, while a page formats ~150 dates and sizes
 * that mostly repeat from one view to the next; so each formatter also remembers its answers (a
 * pure function of the value once language and timezone are fixed).
 */
export class FormatterCache {
  private readonly cache = new Map<string, Formatters>();

  /** Dates in the user's language and timezone; sizes in binary units written the locale's way. */
  get(lng: string, timeZone: string): Formatters {
    return remembered(this.cache, `${lng}|${timeZone}`, FORMATTERS, () => build(lng, timeZone));
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

function build(lng: string, timeZone: string): Formatters {
  const dtf = new Intl.DateTimeFormat(lng, { dateStyle: 'medium', timeStyle: 'short', timeZone, ...clockOf(lng) });
  const nf = UNITS.map((unit) => new Intl.NumberFormat(lng, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: 1 }));
  const bytes = (n: number) => {
    let v = n;
    let i = 0;
    while (v >= 1024 && i < UNITS.length - 1) {
      v /= 1024;
      i += 1;
    }
    return nf[i]!.format(v);
  };
  const dates = answering((ms) => dtf.format(ms));
  const sizes = answering(bytes);
  return {
    date: (d) => (d ? dates(d.getTime()) : ''),
    bytes: (n) => (n === null || n === undefined ? '' : sizes(n)),
  };
}

function answering(f: (n: number) => string): (n: number) => string {
  const answers = new Map<number, string>();
  return (n) => remembered(answers, n, VALUES, () => f(n));
}
