import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';
import { cloneEnded, cloneFixture, currentSnapshot, CUSTOMER, newService, SOURCE, type CloneFixture } from './clone-fixture.js';

/** Another of alice's servers, on the source's hypervisor node. */
const NEIGHBOUR = makeService({ id: 'svc-next', name: 'web-03', resellerId: 'rex', target: { driver: 'simulated', node: 'node1', vmId: '102' } });

/**
 * A clone is an operation of its source guest like any other: it waits for the guest's earlier work,
 * work queued after it waits for it, and it takes one of its node's slots while it copies.
 */
describe.each(DATABASES)('a clone in the operations queue ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  const db = () => handle.db;
  const op = async (where: Record<string, unknown>) => {
    const row = await db()('snapshot_operations').where(where).orderBy('id', 'desc').first();
    return { ...row, startedAt: row.started_at ? new Date(row.started_at).getTime() : null, finishedAt: row.finished_at ? new Date(row.finished_at).getTime() : null };
  };

  async function cloneInto(fx: CloneFixture, id: number) {
    await supertest(appFor(fx.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${id}/new-server`).set('x-test-actor', 'alice').send({}).expect(200);
    const NEW = newService();
    fx.services.set(NEW.id, NEW);
    await fx.mod.hooks.provisionedFromSnapshot(NEW.id, fx.orders.at(-1)!.reference);
    return NEW;
  }

  it('a snapshot asked for on the source while its clone copies starts only after the copy', async () => {
    const fx = await cloneFixture(handle, { driver: { delayMs: { create: [5, 5], clone: [600, 600] } } });
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    const NEW = await cloneInto(fx, s.id);
    await waitFor(async () => (await op({ kind: 'clone' })).status === 'running' || null, 5000, 'clone running');
    const later = await fx.mod.snapshots.create(SOURCE, { name: 'after the copy' }, CUSTOMER);
    expect((await cloneEnded(db(), NEW.id)).status).toBe('succeeded');
    await waitFor(async () => (await op({ snapshot_id: later.id })).status === 'succeeded' || null, 5000, 'create done');
    const clone = await op({ kind: 'clone' });
    const create = await op({ snapshot_id: later.id });
    expect(create.startedAt).toBeGreaterThanOrEqual(clone.finishedAt!);
  });

  it('takes a slot of its node: with one per node, a neighbour\'s snapshot waits for the copy', async () => {
    const fx = await cloneFixture(handle, { perNode: 1, services: [SOURCE, NEIGHBOUR], driver: { delayMs: { create: [5, 5], clone: [600, 600] } } });
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    const NEW = await cloneInto(fx, s.id);
    await waitFor(async () => (await op({ kind: 'clone' })).status === 'running' || null, 5000, 'clone running');
    const neighbour = await fx.mod.snapshots.create(NEIGHBOUR, { name: 'next door' }, CUSTOMER);
    // While the copy holds node1's one slot, the neighbour's create is claimed by no worker.
    await new Promise((r) => setTimeout(r, 200));
    expect((await op({ snapshot_id: neighbour.id })).status).toBe('queued');
    expect((await cloneEnded(db(), NEW.id)).status).toBe('succeeded');
    await waitFor(async () => (await op({ snapshot_id: neighbour.id })).status === 'succeeded' || null, 5000, 'neighbour done');
    expect((await op({ snapshot_id: neighbour.id })).startedAt).toBeGreaterThanOrEqual((await op({ kind: 'clone' })).finishedAt!);
  });
});
