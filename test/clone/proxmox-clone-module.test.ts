import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { PanelService } from '../../module/index.js';
import { fakeProxmox } from '../drivers/proxmox-fake/fixture.js';
import { DATABASES, migratedDatabase } from '../helpers/databases.js';
import { appFor } from '../helpers/http-app.js';
import { makeService, moduleFixture } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX = { actor: { type: 'customer' as const, id: 'alice' } };
type Pve = Awaited<ReturnType<typeof fakeProxmox>>;
const GUESTS = [
  { type: 'qemu', vmId: '100', newId: '150', guest: (pve: Pve) => pve.vm },
  { type: 'lxc', vmId: '200', newId: '250', guest: (pve: Pve) => pve.fake.cluster.addContainer('pve1', '200') },
] as const;

/**
 * A new server from a snapshot through the module, its clone carried out by the Proxmox driver against
 * the fake PVE: the new guest holds the snapshot's disks, not the source's current ones.
 */
describe.each(DATABASES.flatMap((db) => GUESTS.map((g) => ({ db, g, label: `${db.kind}, ${g.type}` }))))('new server through the Proxmox driver ($label)', ({ db: kind, g }) => {
  const lxc = g.type === 'lxc' ? { guestType: 'lxc' as const } : {};
  const SOURCE = makeService({ target: { driver: 'simulated', node: 'pve1', vmId: g.vmId, ...lxc } });
  const NEW: PanelService = makeService({ id: 'svc-new', name: 'web-02', target: { driver: 'simulated', node: 'pve1', vmId: g.newId, ...lxc } });
  let handle: Awaited<ReturnType<typeof migratedDatabase>>;
  let pve: Pve;
  let fx: Awaited<ReturnType<typeof moduleFixture>>;
  const references: string[] = [];
  afterEach(async () => {
    await fx?.mod.stop();
    await pve?.stop();
    await handle.destroy();
  });

  async function ordered() {
    handle = await migratedDatabase(kind);
    pve = await fakeProxmox();
    pve.fake.cluster.taskDurationMs = 5;
    const guest = g.guest(pve);
    fx = await moduleFixture(handle.db, {
      services: [SOURCE, NEW], driver: pve.driver(),
      panel: { orderServerFromSnapshot: (r) => { references.push(r.reference); return { continueUrl: '/order' }; } },
    });
    await fx.mod.start();
    guest.diskData = 'at snapshot time';
    const s = await fx.mod.snapshots.create(SOURCE, { name: 'golden' }, CTX);
    await waitFor(async () => (await handle.db('snapshot_snapshots').where({ id: s.id }).first())?.status === 'active', 15_000, 'active');
    guest.diskData = 'written since';
    const res = await supertest(appFor(fx.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${s.id}/new-server`).set('x-test-actor', 'alice').send({});
    expect(res.status).toBe(200);
    return s;
  }
  const ended = () => waitFor(async () => {
    const row = await handle.db('snapshot_clones').where({ new_service_id: NEW.id }).first();
    return row && ['succeeded', 'failed'].includes(row.status) ? row : null;
  }, 15_000, 'clone ended');

  it('clones the snapshot into the new guest with a full clone followed like every task', async () => {
    const s = await ordered();
    await fx.mod.hooks.provisionedFromSnapshot(NEW.id, references.at(-1)!);
    expect(await ended()).toMatchObject({ status: 'succeeded' });
    const made = pve.fake.cluster.guests.get(g.newId)!;
    expect(made).toMatchObject({ type: g.type, lock: null, diskData: 'at snapshot time', origin: { type: g.type, vmid: g.vmId, snapshot: s.hvName } });
    expect(pve.fake.requests.find((r) => r.path.endsWith('/clone'))).toMatchObject({
      method: 'POST', path: `/nodes/pve1/${g.type}/${g.vmId}/clone`, params: { newid: g.newId, snapname: s.hvName, full: '1' },
    });
    expect(await handle.db('snapshot_operations').where({ kind: 'clone' }).first()).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('a clone PVE refuses ends failed with its reason and leaves the id free', async () => {
    await ordered();
    // Someone took the id between the order and the provisioning (on the other node, seen cluster-wide).
    pve.fake.cluster.addVm('pve2', g.newId);
    await fx.mod.hooks.provisionedFromSnapshot(NEW.id, references.at(-1)!);
    expect(await ended()).toMatchObject({ status: 'failed', error_code: 'driver_already_exists' });
    expect(pve.fake.cluster.guests.get(g.newId)).toMatchObject({ node: 'pve2', type: 'qemu' });
    expect(pve.fake.requests.some((r) => r.path.endsWith('/clone'))).toBe(false);
  });
});
