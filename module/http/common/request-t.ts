import type { i18n as I18n } from 'i18next';
import type { NextFunction, Request, Response } from 'express';
import type { ModuleContext } from './module-context.js';
import { remembered } from './bounded.js';

type Translate = (key: string | string[], opts?: Record<string, unknown>) => string;
/** A plain-string resource split at its `{{name}}` placeholders: `parts` has one more entry than `names`. */
type Template = { parts: string[]; names: string[] };

const PLACEHOLDER = /\{\{(\w+)\}\}/g;
// Options that change what i18next does beyond filling placeholders: those calls take the full path.
const SPECIAL = new Set(['count', 'context', 'defaultValue', 'lng', 'lngs', 'ns', 'ordinal', 'returnObjects', 'replace',
  'interpolation', 'keyPrefix', 'postProcess', 'joinArrays', 'fallbackLng']);
// Keys come from the code, some with a data-made part (an error code, a status): bounded all the same.
const LIMIT = 5000;

/**
 * One language's resources as the fast path uses them, split into templates once and shared by
 * every request in that language (splitting them per request cost as much as the lookups saved).
 */
export class LanguageStrings {
  private readonly templates = new Map<string, Template | null>();

  constructor(private readonly i18n: I18n, readonly lng: string) {}

  /** The `ns:key` resource as a template, or null when only i18next can answer for it. */
  template(key: string): Template | null {
    // Looked up first: a closure for remembered() on each of a page's hundreds of calls is garbage.
    const known = this.templates.get(key);
    if (known !== undefined) return known;
    return remembered(this.templates, key, LIMIT, () => {
      const sep = key.indexOf(':');
      return compile(sep > 0 ? this.i18n.getResource(this.lng, key.slice(0, sep), key.slice(sep + 1)) : undefined);
    });
  }
}

/** Null for anything but a plain string with only `{{name}}` placeholders (nesting, formats, `{{- raw}}`, objects). */
function compile(resource: unknown): Template | null {
  if (typeof resource !== 'string' || resource.includes('$t(')) return null;
  const parts: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of resource.matchAll(PLACEHOLDER)) {
    parts.push(resource.slice(last, m.index));
    names.push(m[1]!);
    last = m.index + m[0].length;
  }
  parts.push(resource.slice(last));
  return parts.join('').includes('{{') ? null : { parts, names };
}

/**
 * A request's translate function that answers the common case itself. A 50-row page makes ~700
 * `t` calls, and i18next spends 30–120 µs on each (option copies, key parsing, fallback and
 * interpolation regexes): more than the rest of the page. For `ns:key` whose resource in the
 * request's language is a plain string with only `{{name}}` placeholders, all given as strings or
 * numbers, the answer is the resource with the values put in — what i18next returns with
 * `escapeValue: false` (the views escape on output). Anything else (plurals, context, defaults,
 * nesting, formats, a key missing in that language) goes to i18next, remembered for the request.
 */
export function requestT(strings: LanguageStrings, slow: Translate): Translate {
  let remembered: Map<string, string> | undefined;
  return (key, opts) => {
    const template = typeof key === 'string' ? strings.template(key) : null;
    const fast = template && plainOptions(opts) ? fill(template, opts) : null;
    if (fast !== null) return fast;
    const id = `${JSON.stringify(key)}\u0000${opts === undefined ? '' : JSON.stringify(opts)}`;
    remembered ??= new Map();
    let value = remembered.get(id);
    if (value === undefined) {
      value = slow(key, opts);
      remembered.set(id, value);
    }
    return value;
  };
}

function plainOptions(opts: Record<string, unknown> | undefined): boolean {
  if (opts !== undefined) for (const k in opts) if (Object.hasOwn(opts, k) && SPECIAL.has(k)) return false;
  return true;
}

function fill({ parts, names }: Template, opts: Record<string, unknown> | undefined): string | null {
  if (names.length === 0) return parts[0]!;
  if (!opts) return null;
  let out = parts[0]!;
  for (let i = 0; i < names.length; i++) {
    const v = opts[names[i]!];
    if (typeof v === 'string') out += v;
    else if (typeof v === 'number') out += String(v);
    else return null;
    out += parts[i + 1]!;
  }
  return out;
}

/** Middleware, after i18next's: replaces `req.t` with the request's fast translate function. */
export function fastRequestT(ctx: ModuleContext) {
  const languages = new Map<string, LanguageStrings>();
  // Templates are copies of the resources: new or removed ones make them stale.
  const forget = () => languages.clear();
  ctx.i18n.store.on('added', forget);
  ctx.i18n.store.on('removed', forget);
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (req.t && req.language) {
      // load: 'languageOnly': 'ko-KR' reads the 'ko' resources, as i18next itself would.
      const lng = ctx.i18n.services.languageUtils.getLanguagePartFromCode(req.language) ?? req.language;
      const strings = remembered(languages, lng, 20, () => new LanguageStrings(ctx.i18n, lng));
      req.t = requestT(strings, req.t as unknown as Translate) as unknown as Request['t'];
    }
    next();
  };
}
