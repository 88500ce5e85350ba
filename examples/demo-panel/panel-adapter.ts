import type { Request } from 'express';
import type { Actor, PanelAdapter, PanelNotification } from '../../module/index.js';
import { findService, PLANS, visibleServices } from './demo-data.js';
import type { RenderLayout } from './layout.js';

export interface OutboxEntry extends PanelNotification {
  at: Date;
}

const OUTBOX_MAX = 200;

/** Notifications the module asked the panel to send, newest first; the demo shows them at /outbox. */
export const outbox: OutboxEntry[] = [];

/**
 * The only code a panel writes for the module: who is acting, what a service is and which are
 * theirs, plan names,
 * mail (here: an in-memory outbox) and the panel's layout around module pages.
 */
export function createPanelAdapter(deps: { actorOf: (req: Request) => Actor | null; layout: RenderLayout }): PanelAdapter {
  return {
    getActor: (req) => deps.actorOf(req),
    getService: (serviceId) => findService(serviceId),
    listServices: (actor) => visibleServices(actor),
    listPlans: () => PLANS.map((p) => ({ ...p })),
    notify(notification) {
      outbox.unshift({ ...notification, at: new Date() });
      outbox.length = Math.min(outbox.length, OUTBOX_MAX);
    },
    renderLayout: (ctx) => deps.layout(ctx),
    loginUrl: (req) => `/login?next=${encodeURIComponent(req.originalUrl)}`,
  };
}
