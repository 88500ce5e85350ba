import type { Request } from 'express';
import type { Actor, PanelAdapter, PanelNotification } from '../../module/index.js';
import { fill, formatBytes, langOf } from './chrome-text.js';
import { PLANS } from './demo-data.js';
import type { RenderLayout } from './layout.js';
import { orderText } from './order-text.js';
import { createOrderBook, type OrderBook } from './server-orders.js';
import { createServiceBook, type ServiceBook } from './service-book.js';

export interface OutboxEntry extends PanelNotification {
  at: Date;
}

const OUTBOX_MAX = 200;

/** Notifications the module asked the panel to send, newest first; the demo shows them at /outbox. */
export const outbox: OutboxEntry[] = [];

/**
 * The only code a panel writes for the module: who is acting, what a service is and which are
 * theirs, plan names,
 * mail (here: an in-memory outbox), the panel's layout around module pages, and the order flow for
 * new servers from snapshots (`services` and `orders` default to memory-only books, for tests).
 */
export function createPanelAdapter(deps: {
  actorOf: (req: Request) => Actor | null;
  layout: RenderLayout;
  services?: ServiceBook;
  orders?: OrderBook;
}): PanelAdapter {
  const services = deps.services ?? createServiceBook();
  const orders = deps.orders ?? createOrderBook();
  return {
    getActor: (req) => deps.actorOf(req),
    getService: (serviceId) => services.find(serviceId),
    listServices: (actor) => services.visibleTo(actor),
    listPlans: () => PLANS.map(({ id, name }) => ({ id, name })),
    notify(notification) {
      outbox.unshift({ ...notification, at: new Date() });
      outbox.length = Math.min(outbox.length, OUTBOX_MAX);
    },
    renderLayout: (ctx) => deps.layout(ctx),
    loginUrl: (req) => `/login?next=${encodeURIComponent(req.originalUrl)}`,
    // "New server" on a snapshot: the demo's order page, which keeps the module's reference on the
    // server under a random order id. Where the panel cannot serve the order, it says no in the user's language.
    orderServerFromSnapshot(request) {
      const words = orderText(langOf(request.locale));
      // The demo hands out VM ids by counting: on a real Proxmox or QEMU host that id may be someone's VM.
      if (request.source.target.driver !== 'simulated') return { refused: words.onlySimulated };
      if (!PLANS.some((p) => p.diskBytes >= request.minDiskBytes)) {
        return { refused: fill(words.noPlanFits, { disk: formatBytes(request.minDiskBytes) }) };
      }
      return { continueUrl: `/orders/${orders.open(request)}` };
    },
    onCloneProgress: (report) => services.recordClone(report),
  };
}
