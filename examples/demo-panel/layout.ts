import type { Request } from 'express';
import type { Actor, MenuItem, PanelService, SnapshotModule } from '../../module/index.js';
import { chromeText, pageLanguage, roleLabel, type ChromeText } from './chrome-text.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export const DEMO_ASSETS = '/demo-assets';

/** Everything a page of the panel needs; module pages arrive as a LayoutContext, ours build one. */
export interface PanelPage {
  req: Request;
  actor: Actor | null;
  service: PanelService | null;
  title: string;
  /** Already-escaped HTML, inserted as is. */
  body: string;
  stylesheets?: string[];
  scripts?: string[];
  lang?: string;
}

export type RenderLayout = (page: PanelPage) => string;

/**
 * The panel's chrome: header bar, the service menu (when the page belongs to a service) and main.
 * `getModule` breaks the cycle between the adapter (needed to create the module) and the module's
 * menu item (needed to render the adapter's layout). `csrfTokenOf` gives the header's logout form
 * its token, module pages included.
 */
export function createLayout(getModule: () => SnapshotModule | null, csrfTokenOf: (req: Request) => string): RenderLayout {
  return (page) => {
    const path = page.req.originalUrl.split('?')[0] ?? '';
    // Module pages bring the language the module picked; the panel's own pages pick it the same way.
    const lang = page.lang ?? pageLanguage(page.req, page.actor);
    const text = chromeText(lang);
    const sidebar = page.service && page.actor ? serviceMenu(page.service, page.actor, path, getModule(), text) : '';
    const links = [
      ...(page.stylesheets ?? []).map((href) => `<link rel="stylesheet" href="${escapeHtml(href)}">`),
      `<link rel="stylesheet" href="${DEMO_ASSETS}/panel.css">`,
      ...(page.scripts ?? []).map((src) => `<script src="${escapeHtml(src)}" defer></script>`),
    ];
    return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · ${escapeHtml(text.brand)}</title>
${links.join('\n')}
</head>
<body>
${header(page.actor, path, text, getModule(), () => csrfTokenOf(page.req))}
<div class="panel-shell${sidebar ? ' has-sidebar' : ''}">
${sidebar}
<main class="panel-main" id="main">
${page.body}
</main>
</div>
</body>
</html>`;
  };
}

function header(actor: Actor | null, path: string, text: ChromeText, module: SnapshotModule | null, csrfToken: () => string): string {
  const nav: MenuItem[] = actor ? [{ label: text.services, href: '/services' }] : [];
  const all = actor ? module?.allSnapshotsItem(actor) : null;
  if (all) nav.push(all);
  if (actor?.role === 'admin') nav.push({ label: text.admin, href: '/admin/snapshots' }, { label: text.outbox, href: '/outbox' });
  const role = actor ? roleLabel(text, actor.role) : '';
  const user = actor ? `<div class="panel-user">
  <span class="panel-user-name">${escapeHtml(actor.name ?? actor.id)}</span>
  <span class="panel-role">${escapeHtml(role)}</span>
  <form method="post" action="/logout" class="panel-logout"><input type="hidden" name="_csrf" value="${escapeHtml(csrfToken())}"><button type="submit" class="btn btn-quiet">${escapeHtml(text.logout)}</button></form>
</div>` : '';
  return `<header class="panel-header">
<a class="panel-brand" href="/">${escapeHtml(text.brand)}</a>
<nav class="panel-topnav" aria-label="${escapeHtml(text.panelNav)}">${nav.map((i) => link(i, path.startsWith(i.href))).join('')}</nav>
${user}
</header>`;
}

function serviceMenu(service: PanelService, actor: Actor, path: string, module: SnapshotModule | null, text: ChromeText): string {
  const overview = `/services/${encodeURIComponent(service.id)}`;
  const items: { item: MenuItem; active: boolean }[] = [{ item: { label: text.overview, href: overview }, active: path === overview }];
  const snapshots = module?.menuItem(service, actor);
  if (snapshots) items.push({ item: snapshots, active: path.startsWith(snapshots.href) });
  // Every service's snapshots, one step from any one service's.
  const all = module?.allSnapshotsItem(actor);
  if (all) items.push({ item: all, active: path === all.href });
  return `<aside class="panel-sidebar" aria-label="${escapeHtml(text.serviceMenu)}">
<div class="panel-sidebar-title">${escapeHtml(service.name)}<small>${escapeHtml(service.hostname ?? service.id)}</small></div>
<nav class="panel-menu">${items.map(({ item, active }) => link(item, active)).join('')}</nav>
</aside>`;
}

function link(item: MenuItem, active: boolean): string {
  return `<a href="${escapeHtml(item.href)}"${active ? ' class="active" aria-current="page"' : ''}>${escapeHtml(item.label)}</a>`;
}
