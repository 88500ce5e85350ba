import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Actor, PanelService } from '../../module/index.js';
import { canSee, findService, findUser, planName, visibleServices } from './demo-data.js';
import { escapeHtml, type RenderLayout } from './layout.js';
import { outbox } from './panel-adapter.js';

const STATUS_LABEL: Record<PanelService['status'], string> = { active: 'Active', suspended: 'Suspended', terminated: 'Terminated' };

/** The panel's own pages: service list, service overview, the notification outbox. */
export function pagesRouter(deps: { actorOf: (req: Request) => Actor | null; layout: RenderLayout }): Router {
  const r = express.Router();
  const page = (req: Request, res: Response, actor: Actor | null, title: string, body: string, service: PanelService | null = null, status = 200) =>
    res.status(status).type('html').send(deps.layout({ req, actor, service, title, body }));

  /** The actor, or a redirect to the login page (undefined: the response is already sent). */
  function requireLogin(req: Request, res: Response): Actor | undefined {
    const actor = deps.actorOf(req);
    if (!actor) res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    return actor ?? undefined;
  }

  r.get('/', (req, res) => res.redirect(303, deps.actorOf(req) ? '/services' : '/login'));

  r.get('/services', (req, res) => {
    const actor = requireLogin(req, res);
    if (!actor) return;
    const services = visibleServices(actor);
    const rows = services.map((s) => `<tr>
  <td><a href="/services/${encodeURIComponent(s.id)}">${escapeHtml(s.name)}</a><small class="muted block">${escapeHtml(s.id)}</small></td>
  <td>${escapeHtml(s.hostname ?? '')}</td>
  <td>${escapeHtml(planName(s.planId))}</td>
  ${actor.role === 'customer' ? '' : `<td>${escapeHtml(findUser(s.ownerId)?.name ?? s.ownerId)}</td>`}
  <td>${statusBadge(s.status)}</td>
</tr>`).join('\n');
    page(req, res, actor, 'Services', `<h1>Your services</h1>
${services.length ? `<div class="table-wrap"><table class="panel-table">
<thead><tr><th>Service</th><th>Hostname</th><th>Plan</th>${actor.role === 'customer' ? '' : '<th>Owner</th>'}<th>Status</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>` : '<p class="muted">No services.</p>'}`);
  });

  r.get('/services/:id', (req, res) => {
    const actor = requireLogin(req, res);
    if (!actor) return;
    const service = findService(String(req.params.id));
    if (!service || !canSee(actor, service)) {
      page(req, res, actor, 'Not found', `<h1>Service not found</h1>
<p>There is no such service, or it is not yours. <a href="/services">Back to your services</a>.</p>`, null, 404);
      return;
    }
    page(req, res, actor, service.name, `<h1>${escapeHtml(service.name)}</h1>
<section class="card">
<dl class="facts">
  <dt>Service ID</dt><dd>${escapeHtml(service.id)}</dd>
  <dt>Hostname</dt><dd>${escapeHtml(service.hostname ?? '—')}</dd>
  <dt>Plan</dt><dd>${escapeHtml(planName(service.planId))}</dd>
  <dt>Disk</dt><dd>${escapeHtml(formatBytes(service.diskBytes))}</dd>
  <dt>Status</dt><dd>${statusBadge(service.status)}</dd>
  <dt>Location</dt><dd>${escapeHtml(`${service.target.node} / VM ${service.target.vmId}`)}</dd>
</dl>
</section>`, service);
  });

  r.get('/outbox', (req, res) => {
    const actor = requireLogin(req, res);
    if (!actor) return;
    if (actor.role !== 'admin') {
      page(req, res, actor, 'Forbidden', '<h1>Forbidden</h1><p>Only administrators can read the outbox.</p>', null, 403);
      return;
    }
    const rows = outbox.map((n) => `<tr>
  <td><time datetime="${escapeHtml(n.at.toISOString())}">${escapeHtml(n.at.toISOString().replace('T', ' ').slice(0, 19))} UTC</time></td>
  <td><code>${escapeHtml(n.type)}</code><small class="muted block">${escapeHtml(n.serviceId)}</small></td>
  <td>${escapeHtml(findUser(n.recipientId)?.name ?? n.recipientId)}</td>
  <td>${escapeHtml(n.locale)}</td>
  <td>${escapeHtml(n.subject)}</td>
  <td><div class="pre">${escapeHtml(n.body)}</div>
    <details><summary>HTML</summary><iframe class="mail-html" sandbox="" title="${escapeHtml(n.subject)}" srcdoc="${escapeHtml(n.html)}"></iframe></details></td>
</tr>`).join('\n');
    page(req, res, actor, 'Outbox', `<h1>Outbox</h1>
<p class="muted">Notifications the snapshot module asked the panel to send (newest first, last 200, kept in memory).</p>
${outbox.length ? `<div class="table-wrap"><table class="panel-table">
<thead><tr><th>Time</th><th>Type</th><th>Recipient</th><th>Locale</th><th>Subject</th><th>Body</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>` : '<p class="empty">Nothing sent yet.</p>'}`);
  });

  // Anything else: the panel's 404, then its error page (no stack traces).
  r.use((req, res) => {
    page(req, res, deps.actorOf(req), 'Not found', '<h1>Page not found</h1><p><a href="/">Back to the panel</a></p>', null, 404);
  });
  r.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    console.error('demo panel error', err);
    if (res.headersSent) return;
    page(req, res, deps.actorOf(req), 'Error', '<h1>Something went wrong</h1><p>Please try again.</p>', null, 500);
  });
  return r;
}

function statusBadge(status: PanelService['status']): string {
  return `<span class="badge badge-${escapeHtml(status)}">${escapeHtml(STATUS_LABEL[status] ?? status)}</span>`;
}

function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}
