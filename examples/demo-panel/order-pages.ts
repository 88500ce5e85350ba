import express, { type Request, type Response, type Router } from 'express';
import type { Actor, SnapshotModule } from '../../module/index.js';
import { chromeText, fill, formatBytes, pageLanguage, type Lang } from './chrome-text.js';
import { PLANS } from './demo-data.js';
import type { RenderLayout } from './layout.js';
import { orderText, type OrderText } from './order-text.js';
import { orderBody, orderDoneBody, orderGoneBody, type OrderForm } from './order-view.js';
import type { PanelCsrf } from './panel-security.js';
import type { OrderBook, ServerOrder } from './server-orders.js';
import type { ServiceBook } from './service-book.js';

type Refusal = Pick<OrderForm, 'error' | 'fieldErrors'>;

/**
 * The panel's order page for a new server from a snapshot (where `orderServerFromSnapshot` sends the
 * customer): pick a plan and a name, confirm. Confirming provisions the server and hands it to the
 * module with the order's reference; a refusal on either side is shown here, in the user's language.
 */
export function orderPagesRouter(deps: {
  actorOf: (req: Request) => Actor | null;
  layout: RenderLayout;
  csrf: PanelCsrf;
  orders: OrderBook;
  services: ServiceBook;
  getModule: () => SnapshotModule | null;
}): Router {
  const r = express.Router();
  const form = express.urlencoded({ extended: false, limit: '8kb' });

  function send(req: Request, res: Response, actor: Actor, status: number, body: (lang: Lang, words: OrderText) => string): void {
    const lang = pageLanguage(req, actor);
    const words = orderText(lang);
    res.status(status).type('html').send(deps.layout({ req, actor, service: null, title: words.orderTitle, body: body(lang, words), lang }));
  }

  function show(req: Request, res: Response, actor: Actor, order: ServerOrder, status = 200, refusal: Refusal = {}): void {
    if (order.state === 'done' && order.serviceId) {
      const name = deps.services.find(order.serviceId)?.name ?? order.serviceId;
      send(req, res, actor, status, (_lang, words) => orderDoneBody(words, name, order.serviceId!));
      return;
    }
    const source = deps.services.find(order.source.id);
    const snapshotsHref = source ? deps.getModule()?.menuItem(source, actor)?.href : null;
    const lang = pageLanguage(req, actor);
    // Korean on a 24-hour clock, as the module's pages: Node's ICU writes the 12-hour one as "AM 11:40".
    const dates = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short', timeZone: actor.timezone ?? 'UTC', ...(lang === 'ko' ? { hourCycle: 'h23' } : {}) });
    const posted = req.method === 'POST' ? fields(req) : {};
    send(req, res, actor, status, (lang, words) => orderBody(order, {
      text: chromeText(lang), words, plans: PLANS, csrfToken: deps.csrf.tokenFor(req),
      sourceName: source?.name ?? order.source.name, cancelHref: snapshotsHref ?? '/services',
      formatDate: (d) => dates.format(d), values: { plan: posted.plan, name: posted.name }, ...refusal,
    }));
  }

  /** The logged-in user and their order, or the answer is sent already (login redirect, not found). */
  function load(req: Request, res: Response): { actor: Actor; order: ServerOrder } | null {
    const actor = deps.actorOf(req);
    if (!actor) {
      res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      return null;
    }
    const order = deps.orders.of(String(req.params.orderId), actor);
    if (!order) send(req, res, actor, 404, (lang, words) => orderGoneBody(words, chromeText(lang)));
    return order ? { actor, order } : null;
  }

  r.get('/orders/:orderId', (req, res) => {
    const found = load(req, res);
    if (found) show(req, res, found.actor, found.order);
  });

  r.post('/orders/:orderId', form,
    deps.csrf.verify((req, res) => {
      const found = load(req, res);
      if (found) show(req, res, found.actor, found.order, 403, { error: chromeText(pageLanguage(req, found.actor)).formExpired });
    }),
    async (req, res) => {
      const found = load(req, res);
      if (!found) return;
      const { actor, order } = found;
      const words = orderText(pageLanguage(req, actor));
      const input = readForm(fields(req), order, words);
      if ('fieldErrors' in input) return show(req, res, actor, order, 422, input);
      // Taken before anything is awaited: a second confirm of the same order (a double click, a replay)
      // finds it confirming or done and makes nothing.
      if (!deps.orders.claim(order)) {
        res.redirect(303, order.serviceId ? `/services?ordered=${encodeURIComponent(order.serviceId)}` : '/services');
        return;
      }
      const service = deps.services.provision({
        name: input.name, ownerId: order.source.ownerId, resellerId: order.source.resellerId, planId: input.plan.id,
        diskBytes: input.plan.diskBytes, driver: order.source.driver, node: order.source.node,
        madeFrom: { sourceServiceId: order.source.id, snapshotName: order.snapshot.name, status: 'queued', errorCode: null },
      });
      try {
        deps.services.recordClone(await deps.getModule()!.hooks.provisionedFromSnapshot(service.id, order.reference));
      } catch (err) {
        // Nothing was made on the new server: the panel takes it back, and the order stays open.
        deps.services.remove(service.id);
        deps.orders.release(order);
        // The module words its refusals in the user's language itself.
        const refusal = deps.getModule()!.describeError(err, pageLanguage(req, actor));
        if (!refusal) throw err;
        return show(req, res, actor, order, refusal.status, { error: refusal.message });
      }
      deps.orders.complete(order, service.id);
      res.redirect(303, `/services?ordered=${encodeURIComponent(service.id)}`);
    });
  return r;
}

const fields = (req: Request): { plan?: string; name?: string } => {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { plan: text(body.plan), name: text(body.name) };
};

// Control characters and direction overrides would make the name print as something else; lone surrogates are not text.
const UNPRINTABLE = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u;

/** The chosen plan and the name, or why not: a plan must exist and hold the snapshot's disk. */
function readForm(posted: { plan?: string; name?: string }, order: ServerOrder, words: OrderText):
  { plan: (typeof PLANS)[number]; name: string } | Required<Pick<Refusal, 'fieldErrors'>> {
  const fieldErrors: NonNullable<Refusal['fieldErrors']> = {};
  const plan = PLANS.find((p) => p.id === posted.plan);
  if (!plan) fieldErrors.plan = words.planMissing;
  else if (plan.diskBytes < order.minDiskBytes) {
    fieldErrors.plan = fill(words.planTooSmallError, { plan: plan.name, offered: formatBytes(plan.diskBytes), needed: formatBytes(order.minDiskBytes) });
  }
  const name = (posted.name ?? '').normalize('NFC').trim();
  if (!name) fieldErrors.name = words.nameMissing;
  else if ([...name].length > 64 || UNPRINTABLE.test(name)) fieldErrors.name = words.nameInvalid;
  return plan && !fieldErrors.plan && !fieldErrors.name ? { plan, name } : { fieldErrors };
}
