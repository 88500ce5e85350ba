import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import express, { type Router } from 'express';
import type { SnapshotModule } from '../../module/index.js';
import { createAuth } from './auth.js';
import { createLayout, DEMO_ASSETS } from './layout.js';
import { orderPagesRouter } from './order-pages.js';
import { pagesRouter } from './pages.js';
import { mailPreviewPolicy, panelCsrf, securityHeaders } from './panel-security.js';
import { createOrderBook } from './server-orders.js';
import { createServiceBook } from './service-book.js';
import { createSessionStore } from './session-store.js';

const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

/**
 * The demo panel itself: sessions, login, its pages and their chrome. `https` turns on Secure cookies
 * (the CSRF cookie then `__Host-`) and HSTS; leave it off for plain-HTTP localhost. `servicesFile`
 * keeps the servers customers order (JSON); without it they live in memory only.
 */
export function createDemoPanel(opts: { csrfSecret: string; https?: boolean; getModule: () => SnapshotModule | null; servicesFile?: string }) {
  const https = opts.https ?? false;
  const sessions = createSessionStore();
  const csrf = panelCsrf({ secret: opts.csrfSecret, https, sessionIdOf: sessions.idOf });
  const layout = createLayout(opts.getModule, csrf.tokenFor);
  const auth = createAuth({ sessions, csrf, layout });
  const services = createServiceBook({ file: opts.servicesFile });
  const orders = createOrderBook();
  return {
    actorOf: auth.actorOf,
    layout,
    /** The panel's service records (fixed demo services plus ordered ones); the adapter reads them. */
    services,
    /** Open orders for new servers from snapshots; the adapter's order hook adds to them. */
    orders,
    /** Everything the panel serves, with the module's routers mounted where a real panel mounts them. */
    router(moduleRouters: Router[] = []): Router {
      const r = express.Router();
      r.use(cookieParser()); // before the module: the adapter's getActor reads the session cookie
      for (const moduleRouter of moduleRouters) r.use(moduleRouter);
      // The module sends its own headers on its routes; from here on it is the panel's.
      r.use(securityHeaders(https));
      r.use(DEMO_ASSETS, express.static(PUBLIC_DIR, { maxAge: '1h', index: false }));
      // Pages are the user's own and carry CSRF tokens: no shared or back-button caches.
      r.use((_req, res, next) => {
        res.set('Cache-Control', 'no-store');
        next();
      });
      r.use(auth.router());
      r.use(orderPagesRouter({ actorOf: auth.actorOf, layout, csrf, orders, services, getModule: opts.getModule }));
      r.use(pagesRouter({ actorOf: auth.actorOf, layout, services, getModule: opts.getModule, mailPreviewPolicy: mailPreviewPolicy(https) }));
      return r;
    },
  };
}
