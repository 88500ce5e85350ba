import type { Knex } from 'knex';
import type { CloneReport, PanelService, ServerOrderRequest } from '../../module/index.js';
import { SimulatedDriver, type SimulatedDriverOptions } from '../../module/drivers/simulated/simulated-driver.js';
import type { TestDb } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

export const CUSTOMER = { actor: { type: 'customer' as const, id: 'alice' } };
/** alice's server (reseller rex) and what the panel provisions for her orders. */
export const SOURCE = makeService({ id: 'svc-src', name: 'web-01', resellerId: 'rex', target: { driver: 'simulated', node: 'node1', vmId: '101' } });
export const newService = (over: Partial<PanelService> = {}): PanelService => makeService({
  id: 'svc-new', name: 'web-02', resellerId: 'rex', planId: 'big', diskBytes: 40 * 1024 ** 3,
  target: { driver: 'simulated', node: 'node1', vmId: '201' }, ...over,
});

/**
 * A module whose panel offers new servers from snapshots: its order hook keeps each request (the
 * reference is what the panel would carry through its order), its progress hook each report.
 */
export async function cloneFixture(handle: TestDb, opts: { driver?: SimulatedDriverOptions; refuse?: string; services?: PanelService[]; perNode?: number } = {}) {
  const orders: ServerOrderRequest[] = [];
  const progress: CloneReport[] = [];
  const driver = new SimulatedDriver({ delayMs: { create: [5, 5], clone: [30, 30] }, ...opts.driver });
  const fx = await handle.module({
    services: opts.services ?? [SOURCE], driver,
    ...(opts.perNode ? { operations: { perNodeConcurrency: opts.perNode } } : {}),
    panel: {
      orderServerFromSnapshot: (r) => {
        orders.push(r);
        return opts.refuse ? { refused: opts.refuse } : { continueUrl: `/orders/new?ref=${encodeURIComponent(r.reference)}` };
      },
      onCloneProgress: (r) => { progress.push(r); },
    },
  });
  await fx.mod.start();
  return { ...fx, driver, orders, progress };
}

/** A Current snapshot of `service`. */
export async function currentSnapshot(db: Knex, mod: CloneFixture['mod'], service: PanelService, name = 'golden') {
  const s = await mod.snapshots.create(service, { name }, CUSTOMER);
  await waitFor(async () => (await db('snapshot_snapshots').where({ id: s.id, status: 'active' }).first()) ?? null, 10_000, 'snapshot active');
  return s;
}

/** The clone row of a new service once it has ended. */
export function cloneEnded(db: Knex, serviceId: string) {
  return waitFor(async () => {
    const row = await db('snapshot_clones').where({ new_service_id: serviceId }).first();
    return row && ['succeeded', 'failed'].includes(row.status) ? row : null;
  }, 15_000, 'clone ended');
}

export type CloneFixture = Awaited<ReturnType<typeof cloneFixture>>;
