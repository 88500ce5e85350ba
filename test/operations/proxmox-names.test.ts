import { afterEach, describe, expect, it } from 'vitest';
import type { PanelService } from '../../module/index.js';
import { fakeProxmox } from '../drivers/proxmox-fake/fixture.js';
import type { FakeGuest } from '../drivers/proxmox-fake/fake-cluster.js';
import { DATABASES } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const A = '/admin/snapshots';
// The fixture registers its driver as 'simulated'; here that driver speaks to the fake Proxmox API.
const VM = makeService({ target: { driver: 'simulated', node: 'pve1', vmId: '100' } });
const CT = makeService({ id: 'svc-ct', name: 'ct-01', target: { driver: 'simulated', node: 'pve1', vmId: '200', guestType: 'lxc' } });

/**
 * Issue "Names": a name seen on the hypervisor must reach Proxmox again exactly as listed, or a delete
 * lands on another snapshot (or on none, which the runner counts as done) and still reports success.
 * Here the name travels the whole way: reconcile records it, an admin deletes it over HTTP, the
 * operation runner hands the recorded name to the Proxmox driver, and the fake shows what was hit.
 */
describe.each(DATABASES)('hypervisor snapshot names through the module and the Proxmox driver ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let pve: Awaited<ReturnType<typeof fakeProxmox>> | undefined;
  let fx: ModuleFixture | undefined;
  // The module stops before the fake it talks to; useDatabase's own stop afterwards is then a no-op.
  afterEach(async () => {
    await fx?.mod.stop();
    await pve?.stop();
    fx = undefined;
    pve = undefined;
  });

  async function setup(service: PanelService, guest: (p: Awaited<ReturnType<typeof fakeProxmox>>) => FakeGuest, names: string[]) {
    pve = await fakeProxmox();
    pve.fake.cluster.taskDurationMs = 5;
    const g = guest(pve);
    for (const name of names) g.snapshots.set(name, { name, description: '', snaptime: 1_700_000_000, vmstate: 0 });
    fx = await handle.module({ services: [service], driver: pve.driver() });
    await fx.mod.start();
    // Reconcile walks only the services the module has a state row for; none was created here.
    const now = new Date();
    await handle.db('snapshot_services').insert({ service_id: service.id, plan_id: service.planId, suspended: false, terminated: false, created_at: now, updated_at: now });
    return g;
  }
  const records = async (service: PanelService) =>
    (await handle.db('snapshot_snapshots').where({ service_id: service.id }).orderBy('id'))
      .map((r: { hv_name: string; name: string; status: string; origin: string }) => ({ hvName: r.hv_name, name: r.name, status: r.status, origin: r.origin }));
  // Compared as sorted arrays, not sets of lower-cased strings: a case-folded name must show as a difference.
  const onGuest = (g: FakeGuest) => [...g.snapshots.keys()].sort();
  const deletes = () => pve!.calls().filter((c) => c.startsWith('DELETE '));

  async function adminDelete(service: PanelService, hvName: string) {
    const rows = await handle.db('snapshot_snapshots').where({ service_id: service.id });
    // Picked in JS, not by `where hv_name`: MariaDB's _ci collation would match either case.
    const target = rows.find((r: { hv_name: string }) => r.hv_name === hvName);
    expect(target, `a record for ${hvName}`).toBeDefined();
    const { agent, token } = await sessionFor(fx!.mod, 'admin', `${A}/items/${target.id}/delete`);
    const res = await agent.post(`${A}/items/${target.id}/delete`).type('form').send({ _csrf: token, confirm: '1' });
    expect(res.status).toBe(303);
    const lastOp = () => handle.db('snapshot_operations').where({ snapshot_id: target.id }).orderBy('id', 'desc').first();
    await waitFor(async () => ['succeeded', 'failed'].includes((await lastOp())?.status), 15_000, `delete of ${hvName} settled`);
    expect(await lastOp()).toMatchObject({ kind: 'delete', status: 'succeeded', error_code: null });
    expect(await handle.db('snapshot_snapshots').where({ id: target.id }).first()).toBeUndefined();
  }

  it('a VM: unmanaged snapshots that differ only in case are recorded and deleted each under its own exact name', async () => {
    // `Current` is a valid VM snapshot name (only `current` is reserved); like the other unprefixed
    // names it is not ours, so nothing here may touch it.
    const foreign = ['Before-Upgrade', 'Current', 'before-upgrade'];
    const vm = await setup(VM, (p) => p.vm, ['psnap-Before-Upgrade', 'psnap-before-upgrade', ...foreign]);

    expect((await fx!.mod.reconcile())[0]).toMatchObject({ serviceId: VM.id, unmanaged: 2, vanished: 0 });
    expect(await records(VM)).toEqual(expect.arrayContaining([
      { hvName: 'psnap-Before-Upgrade', name: 'psnap-Before-Upgrade', status: 'unmanaged', origin: 'adopted' },
      { hvName: 'psnap-before-upgrade', name: 'psnap-before-upgrade', status: 'unmanaged', origin: 'adopted' },
    ]));
    expect(await records(VM)).toHaveLength(2);

    await adminDelete(VM, 'psnap-Before-Upgrade');
    expect(deletes()).toEqual(['DELETE /nodes/pve1/qemu/100/snapshot/psnap-Before-Upgrade']);
    expect(onGuest(vm)).toEqual(['Before-Upgrade', 'Current', 'before-upgrade', 'psnap-before-upgrade'].sort());
    // The remaining record still matches its snapshot exactly: nothing vanished, nothing new to record.
    expect((await fx!.mod.reconcile())[0]).toMatchObject({ unmanaged: 0, vanished: 0 });
    expect(await records(VM)).toEqual([{ hvName: 'psnap-before-upgrade', name: 'psnap-before-upgrade', status: 'unmanaged', origin: 'adopted' }]);

    await adminDelete(VM, 'psnap-before-upgrade');
    expect(deletes().at(-1)).toBe('DELETE /nodes/pve1/qemu/100/snapshot/psnap-before-upgrade');
    expect(onGuest(vm)).toEqual([...foreign].sort());
    expect(await records(VM)).toEqual([]);
  });

  it('a container: the same through the /lxc/ endpoints, beside names reserved only in another case or for VMs', async () => {
    // `Vzdump` and `Current` are valid container names (only `vzdump` and `current` are reserved), and
    // `pending` is reserved for VMs only.
    const foreign = ['Current', 'Vzdump', 'pending'];
    const ct = await setup(CT, (p) => p.fake.cluster.addContainer('pve1', '200'), ['psnap-Vzdump', 'psnap-vzdump', ...foreign]);

    expect((await fx!.mod.reconcile())[0]).toMatchObject({ serviceId: CT.id, unmanaged: 2, vanished: 0 });
    expect((await records(CT)).map((r) => [r.hvName, r.status]).sort()).toEqual([['psnap-Vzdump', 'unmanaged'], ['psnap-vzdump', 'unmanaged']]);

    await adminDelete(CT, 'psnap-Vzdump');
    expect(deletes()).toEqual(['DELETE /nodes/pve1/lxc/200/snapshot/psnap-Vzdump']);
    expect(onGuest(ct)).toEqual(['Current', 'Vzdump', 'pending', 'psnap-vzdump'].sort());
    expect((await fx!.mod.reconcile())[0]).toMatchObject({ unmanaged: 0, vanished: 0 });

    await adminDelete(CT, 'psnap-vzdump');
    expect(deletes().at(-1)).toBe('DELETE /nodes/pve1/lxc/200/snapshot/psnap-vzdump');
    expect(onGuest(ct)).toEqual([...foreign].sort());
    expect(pve!.calls().some((c) => c.includes('/qemu/200'))).toBe(false);
  });

  it.each([
    ['a VM', VM, ['Current', 'vzdump']],
    ['a container', CT, ['Vzdump', 'pending']],
  ] as const)('%s: a record whose hypervisor name is reserved only in another case or for the other guest type is deleted under that very name', async (_, service, names) => {
    const g = await setup(service, (p) => (service === CT ? p.fake.cluster.addContainer('pve1', '200') : p.vm), [...names, 'Keep-Me']);
    // Reconcile records only names carrying the module's prefix, so no module path yields these
    // records today; they are written directly to reach the delete path with names the driver must
    // send unmapped (the adopted/unmanaged case). A mapped name would meet "does not exist",
    // which the runner takes as deleted: only the fake can tell the difference.
    const now = new Date();
    for (const hvName of names) {
      await handle.db('snapshot_snapshots').insert({
        service_id: service.id, name: hvName, description: null, hv_name: hvName, status: 'unmanaged', pinned: false,
        include_memory: false, origin: 'adopted', schedule_id: null, created_by: null, created_at: now, updated_at: now,
      });
    }
    const path = service === CT ? '/nodes/pve1/lxc/200' : '/nodes/pve1/qemu/100';

    await adminDelete(service, names[0]);
    expect(deletes()).toEqual([`DELETE ${path}/snapshot/${names[0]}`]);
    expect(onGuest(g)).toEqual(['Keep-Me', names[1]].sort());

    await adminDelete(service, names[1]);
    expect(deletes().at(-1)).toBe(`DELETE ${path}/snapshot/${names[1]}`);
    expect(onGuest(g)).toEqual(['Keep-Me']);
  });
});
