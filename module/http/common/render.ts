import { fileURLToPath } from 'node:url';
import type { Request, Response } from 'express';
import type { PanelService } from '../../domain/types.js';
import type { ModuleContext } from './module-context.js';
import { snapshotsPath } from './paths.js';
import { encodeHtml, type Html } from './html-chunks.js';
import { sentences } from './sentences.js';
import { ViewRenderer } from './view-cache.js';

export const VIEWS_DIR = fileURLToPath(new URL('../../../views', import.meta.url));
export const ASSETS_PATH = '/snapshots-assets';

// One compiled-view cache per module instance.
const renderers = new WeakMap<ModuleContext, ViewRenderer>();
function viewsOf(ctx: ModuleContext): ViewRenderer {
  let r = renderers.get(ctx);
  if (!r) renderers.set(ctx, (r = new ViewRenderer(VIEWS_DIR)));
  return r;
}

/**
 * Renders a module view (presenter output only) and wraps it in the panel's layout, or in the
 * module's own minimal one when the panel has none.
 */
export async function renderPage(ctx: ModuleContext, req: Request, res: Response, view: string,
  model: Record<string, unknown>, opts: LayoutOptions): Promise<void> {
  await sendInLayout(ctx, req, res, renderBody(ctx, req, res, view, model), opts);
}

export interface LayoutOptions {
  title: string;
  service?: PanelService | null;
  status?: number;
}

/** A module view alone, for the page's layout to wrap; `csrfToken` stands in for the response's own. */
export function renderBody(ctx: ModuleContext, req: Request, res: Response, view: string, model: Record<string, unknown>,
  csrfToken: string = csrfTokenOf(res)): Html {
  return viewsOf(ctx).renderHtml(`${VIEWS_DIR}/${view}.ejs`, { ...common(req), csrfToken, ...model });
}

/** Sends `body` in the panel's layout, or in the module's own minimal one when the panel has none. */
export async function sendInLayout(ctx: ModuleContext, req: Request, res: Response, body: Html, opts: LayoutOptions): Promise<void> {
  const stylesheets = [`${ASSETS_PATH}/snapshots.css`];
  const scripts = [`${ASSETS_PATH}/snapshots.js`, `${ASSETS_PATH}/snapshots-dialogs.js`, `${ASSETS_PATH}/schedule-preview.js`];
  const actor = req.snapshotActor!;
  const menuItem = opts.service ? { label: req.t('common:menu_label'), href: snapshotsPath(opts.service.id) } : null;
  const layoutCtx = { req, actor, service: opts.service ?? null, title: opts.title, body, stylesheets, scripts, lang: req.language, menuItem };
  const html = ctx.panel.renderLayout
    ? await ctx.panel.renderLayout({ ...layoutCtx, body: body.toString() })
    : viewsOf(ctx).renderHtml(`${VIEWS_DIR}/layout.ejs`, { ...common(req), csrfToken: csrfTokenOf(res), ...layoutCtx });
  sendPage(res, opts.status ?? 200, html);
}

const common = (req: Request) => ({ t: req.t, lng: req.language, assets: ASSETS_PATH, sentences });

/** The CSRF token this response's forms carry (set by the CSRF middleware's `issue`; empty where none was). */
export const csrfTokenOf = (res: Response): string => String(res.locals.snapshotCsrf ?? '');

/**
 * Sends a page that is the actor's own and carries a one-time CSRF token: never stored by a browser
 * or proxy (a shared computer's back button must not show someone's snapshots), and so without the
 * ETag express would hash the whole page for on every request; it could never match anyway.
 */
export function sendPage(res: Response, status: number, html: string | Html): void {
  // One buffer, encoded once: given a string, Node measures it and then encodes it again.
  const bytes = encodeHtml(html);
  res.status(status).type('html').set('Cache-Control', 'no-store').set('Content-Length', String(bytes.length));
  res.end(bytes);
}
