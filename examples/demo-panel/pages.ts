import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Actor, PanelService, SnapshotModule } from '../../module/index.js';
import { chromeText, fill, formatBytes, languageName, pageLanguage, type ChromeText, type Lang } from './chrome-text.js';
import { canSee, findUser, planName } from './demo-data.js';
import { DEMO_ASSETS, escapeHtml, type RenderLayout } from './layout.js';
import { refreshMadeFrom, statusBadge, statusCell } from './made-from-view.js';
import { orderText } from './order-text.js';
import { outbox } from './panel-adapter.js';
import type { ServiceBook } from './service-book.js';

/** The panel's own pages: service list, service overview, the notification outbox. */
export function pagesRouter(deps: {
  actorOf: (req: Request) => Actor | null;
  layout: RenderLayout;
  services: ServiceBook;
  getModule: () => SnapshotModule | null;
  /** The outbox's content policy, which lets the mail previews keep their inline styles. */
  mailPreviewPolicy: RequestHandler;
}): Router {
  const r = express.Router();
  /** Sends a page in the user's language; `content` gets the words of that language. */
  const page = (req: Request, res: Response, actor: Actor | null, content: (text: ChromeText) => { title: string; body: string },
    service: PanelService | null = null, status = 200, scripts: string[] = []) => {
    const lang = pageLanguage(req, actor);
    const { title, body } = content(chromeText(lang));
    res.status(status).type('html').send(deps.layout({ req, actor, service, title, body, lang, scripts }));
  };

  /** The actor, or a redirect to the login page (undefined: the response is already sent). */
  function requireLogin(req: Request, res: Response): Actor | undefined {
    const actor = deps.actorOf(req);
    if (!actor) res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    return actor ?? undefined;
  }

  r.get('/', (req, res) => res.redirect(303, deps.actorOf(req) ? '/services' : '/login'));

  r.get('/services', async (req, res) => {
    const actor = requireLogin(req, res);
    if (!actor) return;
    const services = deps.services.visibleTo(actor);
    await refreshMadeFrom(deps.services, deps.getModule(), services);
    // After an order: which server was just ordered (only one the user may see).
    const ordered = services.find((s) => s.id === req.query.ordered) ?? null;
    page(req, res, actor, (text) => ({ title: text.services, body: servicesBody(text, actor, services, ordered, pageLanguage(req, actor)) }),
      null, 200, [`${DEMO_ASSETS}/services-progress.js`]);
  });

  function servicesBody(text: ChromeText, actor: Actor, services: PanelService[], ordered: PanelService | null, lang: Lang): string {
    const words = orderText(lang);
    const rows = services.map((s) => `<tr data-service="${escapeHtml(s.id)}">
  <td><a href="/services/${encodeURIComponent(s.id)}">${escapeHtml(s.name)}</a><small class="muted block">${escapeHtml(s.id)}</small></td>
  <td>${escapeHtml(s.hostname ?? '')}</td>
  <td>${escapeHtml(planName(s.planId))}</td>
  ${actor.role === 'customer' ? '' : `<td>${escapeHtml(findUser(s.ownerId)?.name ?? s.ownerId)}</td>`}
  ${statusCell(s, deps.services, text, words)}
</tr>`).join('\n');
    const th = (label: string) => `<th scope="col">${escapeHtml(label)}</th>`;
    return `<h1>${escapeHtml(text.servicesTitle)}</h1>
${ordered ? `<p class="alert alert-info" role="status">${escapeHtml(fill(words.orderedFlash, { name: ordered.name }))}</p>` : ''}
${services.length ? `<div class="table-wrap"><table class="panel-table">
<thead><tr>${th(text.colService)}${th(text.colHostname)}${th(text.colPlan)}${actor.role === 'customer' ? '' : th(text.colOwner)}${th(text.colStatus)}</tr></thead>
<tbody>
${rows}
</tbody></table></div>` : `<p class="muted">${escapeHtml(text.noServices)}</p>`}`;
  }

  r.get('/services/:id', (req, res) => {
    const actor = requireLogin(req, res);
    if (!actor) return;
    const service = deps.services.find(String(req.params.id));
    if (!service || !canSee(actor, service)) {
      page(req, res, actor, (text) => ({ title: text.notFound, body: `<h1>${escapeHtml(text.serviceNotFound)}</h1>
<p>${escapeHtml(text.serviceNotFoundBody)} <a href="/services">${escapeHtml(text.backToServices)}</a></p>` }), null, 404);
      return;
    }
    page(req, res, actor, (text) => ({ title: service.name, body: `<h1>${escapeHtml(service.name)}</h1>
<section class="card">
<dl class="facts">
  <dt>${escapeHtml(text.serviceId)}</dt><dd>${escapeHtml(service.id)}</dd>
  <dt>${escapeHtml(text.colHostname)}</dt><dd>${escapeHtml(service.hostname ?? '—')}</dd>
  <dt>${escapeHtml(text.colPlan)}</dt><dd>${escapeHtml(planName(service.planId))}</dd>
  <dt>${escapeHtml(text.disk)}</dt><dd>${escapeHtml(formatBytes(service.diskBytes))}</dd>
  <dt>${escapeHtml(text.colStatus)}</dt><dd>${statusBadge(text, service.status)}</dd>
  <dt>${escapeHtml(text.location)}</dt><dd>${escapeHtml(fill(text.locationValue, { node: service.target.node, vm: service.target.vmId }))}</dd>
</dl>
</section>` }), service);
  });

  r.get('/outbox', deps.mailPreviewPolicy, (req, res) => {
    const actor = requireLogin(req, res);
    if (!actor) return;
    if (actor.role !== 'admin') {
      page(req, res, actor, (text) => ({ title: text.forbidden, body: `<h1>${escapeHtml(text.forbidden)}</h1><p>${escapeHtml(text.forbiddenBody)}</p>` }), null, 403);
      return;
    }
    page(req, res, actor, (text) => ({ title: text.outbox, body: outboxBody(text) }));
  });

  function outboxBody(text: ChromeText): string {
    const rows = outbox.map((n) => `<tr>
  <td><time datetime="${escapeHtml(n.at.toISOString())}">${escapeHtml(n.at.toISOString().replace('T', ' ').slice(0, 19))} UTC</time></td>
  <td><code>${escapeHtml(n.type)}</code><small class="muted block">${escapeHtml(n.serviceId)}</small></td>
  <td>${escapeHtml(findUser(n.recipientId)?.name ?? n.recipientId)}</td>
  <td>${escapeHtml(languageName(text, n.locale))}</td>
  <td>${escapeHtml(n.subject)}</td>
  <td><div class="pre">${escapeHtml(n.body)}</div>
    <details><summary>HTML</summary><iframe class="mail-html" sandbox="" title="${escapeHtml(n.subject)}" srcdoc="${escapeHtml(n.html)}"></iframe></details></td>
</tr>`).join('\n');
    const heads = [text.colTime, text.colType, text.colRecipient, text.colLanguage, text.colSubject, text.colBody];
    return `<h1>${escapeHtml(text.outbox)}</h1>
<p class="muted">${escapeHtml(text.outboxIntro)}</p>
${outbox.length ? `<div class="table-wrap"><table class="panel-table">
<thead><tr>${heads.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table></div>` : `<p class="empty">${escapeHtml(text.outboxEmpty)}</p>`}`;
  }

  // Anything else: the panel's 404, then its error page (no stack traces).
  r.use((req, res) => {
    page(req, res, deps.actorOf(req), (text) => ({ title: text.notFound,
      body: `<h1>${escapeHtml(text.pageNotFound)}</h1><p><a href="/">${escapeHtml(text.backToPanel)}</a></p>` }), null, 404);
  });
  r.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    console.error('demo panel error', err);
    if (res.headersSent) return;
    page(req, res, deps.actorOf(req), (text) => ({ title: text.errorTitle,
      body: `<h1>${escapeHtml(text.errorHeading)}</h1><p>${escapeHtml(text.errorBody)}</p>` }), null, 500);
  });
  return r;
}
