import type { Request, Response } from 'express';
import type { TFunction } from 'i18next';
import { z } from 'zod';
import { COUNT_CAP } from '../../db/admin-queries.js';
import { parseInput as parseDomainInput, type FieldCode } from '../../domain/parse-input.js';
import { NotFoundError, ValidationError, type SnapshotError } from '../../domain/errors.js';
import type { Formatters } from '../common/formatters.js';
import { requireAdmin } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { renderPage } from '../common/render.js';

export const ADMIN_BASE = '/admin/snapshots';

/** The admin area's tabs, in order; each page names the one it belongs to. */
export const TABS = ['overview', 'limits', 'services', 'items', 'operations', 'health', 'audit'] as const;
export type Tab = (typeof TABS)[number];

const TAB_PATHS: Record<Tab, string> = {
  overview: ADMIN_BASE, limits: `${ADMIN_BASE}/limits`, services: `${ADMIN_BASE}/services`, items: `${ADMIN_BASE}/items`,
  operations: `${ADMIN_BASE}/operations`, health: `${ADMIN_BASE}/health`, audit: `${ADMIN_BASE}/audit`,
};

/** Messages shown after a redirect (?flash=...), each an `admin:flash.*` key. */
const FLASHES = new Set(['limits_saved', 'limits_saved_queued', 'limits_inherited', 'limits_inherited_queued', 'overrides_saved', 'overrides_cleared', 'retried', 'adopted', 'delete_scheduled', 'removed']);

/** Field error codes the admin forms raise themselves; their text is under `admin:field_error`. */
export const FIELD = { number: 'number_range', choice: 'choice_invalid', date: 'date_invalid', text: 'text_invalid' } as const;

/** A form checkbox: absent or empty is false. */
export const checkbox = z.union([z.literal('on'), z.literal('1'), z.literal('true'), z.literal('0'), z.literal('')]).optional()
  .transform((v) => v === 'on' || v === '1' || v === 'true');

/** An optional text filter: trimmed, empty means "no filter". */
export const optionalText = (max: number) => z.string().max(max).optional().transform((v) => (v?.trim() ? v.trim() : undefined));

/**
 * Parses input with a zod schema; every failing field becomes a field error. The code of a field
 * comes from `codes` (with its params), so messages say what a valid value is.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, codes: Record<string, FieldCode> = {}): z.output<T> {
  return parseDomainInput(schema, input, { codes, fallback: { code: FIELD.text } });
}

/**
 * Parses a GET page's filters; invalid ones give the page's defaults plus the error to show next to
 * the form (a filter typo never turns into an error page).
 */
export function parseOrDefault<T>(parse: () => T, defaults: () => T): { value: T; error?: ValidationError } {
  try {
    return { value: parse() };
  } catch (err) {
    if (err instanceof ValidationError) return { value: defaults(), error: err };
    throw err;
  }
}

/** A refusal as a page shows it: the message, and one localized line per field. */
export function presentAdminError(req: Request, e: SnapshotError) {
  const fieldText = (code: string, params: Record<string, unknown> = {}) =>
    req.i18n.exists(`admin:field_error.${code}`) ? req.t(`admin:field_error.${code}`, params) : req.t(`errors:${code}`, params);
  const fields = e instanceof ValidationError
    ? Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, fieldText(v.code, v.params)])) : {};
  return { message: req.t(e.i18nKey, e.params), fields, code: e.code };
}

/**
 * The panel's names of these services (ServiceDirectory, one call each, in parallel). A service the
 * panel no longer knows is left out, so the page shows its id; an adapter failure does the same (a
 * listing is still worth reading), logged.
 */
export async function serviceNames(ctx: ModuleContext, ids: readonly (string | null)[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids.filter((id): id is string => !!id))];
  const named = await Promise.all(unique.map(async (id) => {
    try {
      return [id, (await ctx.services.panelService(id)).name] as const;
    } catch (err) {
      if (!(err instanceof NotFoundError)) ctx.logger.warn({ err, serviceId: id }, 'snapshot admin: could not read a service name');
      return null;
    }
  }));
  return new Map(named.filter((n): n is readonly [string, string] => n !== null));
}

/** A delay as its largest sensible unit, rounded down ("42 s", "7 min", "3 h"). */
export function duration(t: TFunction, ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t('admin:health.seconds', { n: s });
  if (s < 3600) return t('admin:health.minutes', { n: Math.floor(s / 60) });
  return t('admin:health.hours', { n: Math.floor(s / 3600) });
}

/** The admin's date formatting (their language and timezone). */
export function adminFormatters(ctx: ModuleContext, req: Request): Formatters {
  return ctx.formatters.get(req.language, requireAdmin(req).timezone ?? ctx.config.defaultTimezone);
}

/**
 * Renders an admin page: the tab navigation, the flash of a redirect, and a refusal if any. The
 * model comes from a presenter; views get nothing else.
 */
export async function renderAdmin(ctx: ModuleContext, req: Request, res: Response, view: string, tab: Tab,
  model: Record<string, unknown>, opts: { title: string; error?: SnapshotError }): Promise<void> {
  const flashKey = String(req.query.flash ?? '');
  const flash = FLASHES.has(flashKey) ? req.t(`admin:flash.${flashKey}`) : null;
  const nav = TABS.map((id) => ({ id, href: TAB_PATHS[id], label: req.t(`admin:nav.${id}`), current: id === tab }));
  const error = opts.error ? presentAdminError(req, opts.error) : null;
  await renderPage(ctx, req, res, `admin/${view}`, { nav, flash, error, base: ADMIN_BASE, ...model },
    { title: `${opts.title} — ${req.t('admin:title')}`, status: opts.error?.status });
}

/**
 * Where to go after an action: the page the form came from (only an admin page, so the field cannot
 * send anyone elsewhere), with the flash message added.
 */
export function redirectBack(req: Request, res: Response, fallback: string, flash: string): void {
  const url = new URL(safeBack((req.body as { back?: unknown } | undefined)?.back, fallback), 'http://x');
  url.searchParams.set('flash', flash);
  res.redirect(303, `${url.pathname}${url.search}`);
}

/** `raw` if it is an admin page path (never another site, never a javascript: URL), else `fallback`. */
export function safeBack(raw: unknown, fallback: string): string {
  return typeof raw === 'string' && /^\/admin\/snapshots(\/[\w%*.~-]*)*(\?[^#\s]*)?$/.test(raw) && !raw.includes('//') ? raw : fallback;
}

/** The current URL of a GET page, for forms that return to it. */
export function currentPath(req: Request): string {
  const url = new URL(req.originalUrl, 'http://x');
  url.searchParams.delete('flash');
  return `${url.pathname}${url.search}`;
}

/** A count from AdminQueries' capped counts: past the cap it reads "1000+". */
export const cappedCount = (n: number): string => (n > COUNT_CAP ? `${COUNT_CAP}+` : String(n));

/** Links to the neighbouring pages of a list newest first (null at either end), keeping its filters. */
export interface Pager {
  newer: string | null;
  older: string | null;
  /** Back to the first page, from any page after it. */
  newest: string | null;
}

const cursor = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional();

/** `before` / `after`: the id cursors of an older or a newer page (see AdminQueries.Page). */
export const pageQuery = z.object({
  before: cursor,
  after: cursor,
  size: z.coerce.number().int().min(5).max(100).optional().default(25),
});

/** The page `pageQuery` asks for. */
export const pageOf = (f: { before?: number; after?: number; size: number }) => ({ before: f.before, after: f.after, limit: f.size });

/** Older/newer links keeping the page's filters. */
export function pager(req: Request, page: { older: number | null; newer: number | null }): Pager {
  const link = (set: Record<string, number>) => {
    const url = new URL(req.originalUrl, 'http://x');
    for (const k of ['flash', 'before', 'after', 'page']) url.searchParams.delete(k);
    for (const [k, v] of Object.entries(set)) url.searchParams.set(k, String(v));
    return `${url.pathname}${url.search}`;
  };
  const url = new URL(req.originalUrl, 'http://x');
  const paged = url.searchParams.has('before') || url.searchParams.has('after');
  return {
    newer: page.newer === null ? null : link({ after: page.newer }),
    older: page.older === null ? null : link({ before: page.older }),
    newest: paged ? link({}) : null,
  };
}
