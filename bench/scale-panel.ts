// bench/scale.ts's host panel: the module mounted the way the demo panel mounts it, with an in-memory
// panel adapter like the tests' (services in a Map, the actor named by a request header). The
// module's entry is passed in, not imported, so the measuring process can load either the sources
// (under tsx) or the compiled build (under plain node).
import express, { type Express } from 'express';
import type { Knex } from 'knex';
import pino from 'pino';
import type * as Entry from '../module/index.js';
import type { Actor, PanelService, SnapshotModule } from '../module/index.js';
import type { SimulatedDriver } from '../module/drivers/simulated/simulated-driver.js';

/** What the bench uses of the package's entry. */
export type ModuleEntry = Pick<typeof Entry, 'createSnapshotModule' | 'simulatedDriver'>;

export const ACTOR_HEADER = 'x-bench-actor';

/** 'admin', 'cust-N' or 'res-N', all in English and UTC. */
function actorFor(id: string | undefined): Actor | null {
  if (!id) return null;
  const role = id === 'admin' ? 'admin' : id.startsWith('res-') ? 'reseller' : 'customer';
  return { id, role, locale: 'en', timezone: 'UTC' };
}

export async function scaleModule(entry: ModuleEntry, db: Knex, services: PanelService[], driver: SimulatedDriver): Promise<SnapshotModule> {
  const byId = new Map(services.map((s) => [s.id, s]));
  return entry.createSnapshotModule({
    db,
    panel: {
      getActor: (req) => actorFor(req.get(ACTOR_HEADER)),
      getService: (id) => byId.get(id) ?? null,
      listServices: (actor) => services.filter((s) => actor.role === 'admin' || s.ownerId === actor.id || s.resellerId === actor.id),
      listPlans: () => [{ id: 'std', name: 'Standard' }],
    },
    drivers: { simulated: driver },
    config: {
      csrfSecret: 'bench-scale-secret-bench-scale-secret-01',
      defaultLimits: { maxSnapshots: 20, maxSchedules: 3, maxKeep: 10, memoryAllowed: true, schedulesAllowed: true },
      // Reconcile is measured on its own (one pass on demand), not left to run in the background.
      scheduler: { enabled: true, reconcileEveryMs: 0 },
    },
    logger: pino({ level: 'silent' }),
  });
}

export const benchDriver = (entry: ModuleEntry) => entry.simulatedDriver();

/** The demo panel's mounting order: client, admin, API, webhook. */
export function hostApp(mod: SnapshotModule): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(mod.routers.client);
  app.use(mod.routers.admin);
  app.use(mod.routers.api);
  app.use(mod.routers.webhook);
  return app;
}
