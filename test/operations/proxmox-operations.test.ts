import { afterEach, describe, expect, it } from 'vitest';
import type { ActionContext } from '../../module/domain/deps.js';
import { fakeProxmox } from '../drivers/proxmox-fake/fixture.js';
import { DATABASES, migratedDatabase } from '../helpers/databases.js';
import { sessionFor } from '../helpers/http-app.js';
import { makeService, moduleFixture } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const ADMIN_OPS = '/admin/snapshots/operations?problem=errors';

type Pve = Awaited<ReturnType<typeof fakeProxmox>>;
/** The two kinds of Proxmox guest: every case that applies to both runs on both. */
const GUESTS = [
  // `guest`: the test's guest (the fixture always has VM 100); `add`: a new guest of that kind and id.
  { type: 'qemu', vmId: '100', cli: 'qm', snapshotTask: 'qmsnapshot', disk: 'scsi0', guest: (pve: Pve) => pve.vm, add: (pve: Pve) => pve.fake.cluster.addVm('pve1', '100') },
  {
    type: 'lxc', vmId: '200', cli: 'pct', snapshotTask: 'vzsnapshot', disk: 'rootfs',
    guest: (pve: Pve) => pve.fake.cluster.addContainer('pve1', '200'), add: (pve: Pve) => pve.fake.cluster.addContainer('pve1', '200'),
  },
] as const;

/** The module over a real database, its operations carried out by the Proxmox driver against the fake. */
describe.each(DATABASES.flatMap((db) => GUESTS.map((g) => ({ db, g, label: `${db.kind}, ${g.type}` }))))('operations through the Proxmox driver ($label)', ({ db: kind, g: guestCase }) => {
  // The fixture registers its driver as 'simulated'; here that driver speaks to the fake Proxmox API.
  const SERVICE = makeService({ target: { driver: 'simulated', node: 'pve1', vmId: guestCase.vmId, ...(guestCase.type === 'lxc' ? { guestType: 'lxc' } : {}) } });
  const path = `${guestCase.type}/${guestCase.vmId}`;
  let handle: Awaited<ReturnType<typeof migratedDatabase>>;
  let pve: Pve;
  let guest: ReturnType<(typeof GUESTS)[number]['guest']>;
  let fx: Awaited<ReturnType<typeof moduleFixture>>;
  afterEach(async () => {
    await fx?.mod.stop();
    await pve?.stop();
    await handle.destroy();
  });
  async function setup() {
    handle = await migratedDatabase(kind);
    pve = await fakeProxmox();
    pve.fake.cluster.taskDurationMs = 5;
    guest = guestCase.guest(pve);
    fx = await moduleFixture(handle.db, { services: [SERVICE], driver: pve.driver() });
    await fx.mod.start();
  }
  const row = (id: number) => handle.db('snapshot_snapshots').where({ id }).first();
  const lastOp = (snapshotId: number) => handle.db('snapshot_operations').where({ snapshot_id: snapshotId }).orderBy('id', 'desc').first();
  async function active(name: string) {
    const s = await fx.mod.snapshots.create(SERVICE, { name }, CTX);
    await waitFor(async () => (await row(s.id))?.status === 'active', 15_000, 'active');
    return s;
  }
  async function settledOp(snapshotId: number) {
    await waitFor(async () => ['succeeded', 'failed'].includes((await lastOp(snapshotId))?.status), 15_000, 'operation settled');
    return lastOp(snapshotId);
  }
  async function retry(opId: number) {
    const { agent, token } = await sessionFor(fx.mod, 'admin', ADMIN_OPS);
    const res = await agent.post(`/admin/snapshots/operations/${opId}/retry`).type('form').send({ _csrf: token, back: ADMIN_OPS });
    expect(res.status).toBe(303);
  }

  it('a delete whose guest is gone fails with guest_missing, keeps the record and shows on the admin page', async () => {
    await setup();
    const s = await active('before upgrade');
    pve.fake.cluster.guests.delete(guestCase.vmId);
    await fx.mod.snapshots.delete(SERVICE, s.id, { confirm: true }, CTX);
    expect(await settledOp(s.id)).toMatchObject({ kind: 'delete', status: 'failed', error_code: 'driver_guest_missing' });
    expect(await row(s.id)).toMatchObject({ status: 'error', error_code: 'driver_guest_missing' });
    const page = await (await sessionFor(fx.mod, 'admin', ADMIN_OPS)).page;
    expect(page.text).toContain("The server&#39;s virtual machine was not found on the hypervisor.");
  });

  it('follows a migrated guest: the delete runs on the new node and the move is audited', async () => {
    await setup();
    const s = await active('kept elsewhere');
    pve.fake.cluster.migrate(guestCase.vmId, 'pve2');
    await fx.mod.snapshots.delete(SERVICE, s.id, { confirm: true }, CTX);
    expect(await settledOp(s.id)).toMatchObject({ status: 'succeeded' });
    expect(await row(s.id)).toBeUndefined();
    expect(guest.snapshots.size).toBe(0);
    expect(pve.calls()).toContain(`DELETE /nodes/pve2/${path}/snapshot/${s.hvName}`);
    // The notice is audited as it happens, beside the operation, not inside its transaction.
    await waitFor(async () => (await handle.db('snapshot_audit_events').where({ action: 'driver.guest_moved' })).length > 0, 15_000, 'move audited');
    const moved = await handle.db('snapshot_audit_events').where({ action: 'driver.guest_moved' });
    expect(moved).toHaveLength(1);
    expect(JSON.parse(moved[0].details)).toMatchObject({ vmId: guestCase.vmId, from: 'pve1', to: 'pve2' });
  });

  it('an unfinished snapshot is not Current: reconcile reports it as an error', async () => {
    await setup();
    const s = await active('half');
    guest.snapshots.get(s.hvName)!.snapstate = 'delete';
    guest.snapshots.set('psnap-20260101000000-crashd', { name: 'psnap-20260101000000-crashd', description: '', snaptime: 1_700_000_000, vmstate: 0, snapstate: 'prepare' });
    const [summary] = await fx.mod.reconcile();
    expect(summary).toMatchObject({ vanished: 0, unmanaged: 0, incomplete: 2 });
    expect(await row(s.id)).toMatchObject({ status: 'error', error_code: 'snapshot_incomplete' });
    expect(await handle.db('snapshot_snapshots').where({ hv_name: 'psnap-20260101000000-crashd' }).first())
      .toMatchObject({ status: 'error', error_code: 'snapshot_incomplete', origin: 'adopted' });
    expect((await fx.mod.reconcile())[0]).toMatchObject({ incomplete: 0 });
  });

  it('an unfinished snapshot cannot be restored and is no longer shown as usable', async () => {
    await setup();
    const s = await active('half made');
    guest.snapshots.get(s.hvName)!.snapstate = 'prepare';
    await fx.mod.snapshots.restore(SERVICE, s.id, { typedServiceName: SERVICE.name, safetySnapshot: false, startAfter: false }, CTX);
    expect(await settledOp(s.id)).toMatchObject({ kind: 'restore', status: 'failed', error_code: 'driver_snapshot_incomplete' });
    expect(await row(s.id)).toMatchObject({ status: 'error', error_code: 'driver_snapshot_incomplete' });
    expect(pve.calls().some((c) => c.endsWith('/rollback'))).toBe(false);
  });

  it('a guest on a snapshot-as-volume-chain storage restores only its newest snapshot', async () => {
    await setup();
    guest.config[guestCase.disk] = `san-chain:vm-${guestCase.vmId}-disk-0.qcow2,size=32G`;
    const older = await active('older');
    await active('newer');
    const err = await fx.mod.snapshots.restore(SERVICE, older.id, { typedServiceName: SERVICE.name, safetySnapshot: false }, CTX).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('restore_only_latest');
    expect(pve.calls().some((c) => c.endsWith('/rollback'))).toBe(false);
    expect(await row(older.id)).toMatchObject({ status: 'active' });
  });

  it('a retried create is not "already done" by a half-made snapshot; the stale lock it meets is named for the admin', async () => {
    await setup();
    // The create dies half way: the snapshot stays in `prepare` and the VM keeps the `snapshot` lock.
    pve.fake.cluster.tasks.inject({ type: guestCase.snapshotTask, exitstatus: 'interrupted by signal', leaveBehind: true });
    const s = await fx.mod.snapshots.create(SERVICE, { name: 'crashing' }, CTX);
    const first = await settledOp(s.id);
    expect(first).toMatchObject({ status: 'failed', error_code: 'driver_rejected' });
    await retry(first.id);
    await waitFor(async () => (await lastOp(s.id)).id !== first.id && (await lastOp(s.id)).status === 'failed', 15_000, 'retry failed');
    const second = await lastOp(s.id);
    expect(second).toMatchObject({ status: 'failed', error_code: 'driver_stale_lock' });
    expect(second.error_message).toContain(`'${guestCase.cli} unlock ${guestCase.vmId}' on pve1`);
    expect((await row(s.id)).status).not.toBe('active');
    const page = (await sessionFor(fx.mod, 'admin', ADMIN_OPS)).page;
    expect(page.text).toContain(`${guestCase.cli} unlock ${guestCase.vmId}`);
  });

  it('a delete that failed half way: stale lock for the admin, then after unlock a retry finishes it with force', async () => {
    await setup();
    const s = await active('stubborn');
    guest.snapshots.get(s.hvName)!.disksGone = true;
    await fx.mod.snapshots.delete(SERVICE, s.id, { confirm: true }, CTX);
    const first = await settledOp(s.id);
    expect(first).toMatchObject({ status: 'failed', error_code: 'driver_rejected' });
    await retry(first.id);
    await waitFor(async () => (await lastOp(s.id)).id !== first.id && (await lastOp(s.id)).status === 'failed', 15_000, 'retry failed');
    const second = await lastOp(s.id);
    expect(second).toMatchObject({ status: 'failed', error_code: 'driver_stale_lock', attempts: 1 });
    guest.lock = null; // the admin ran `qm unlock` / `pct unlock` on pve1
    await retry(second.id);
    await waitFor(async () => (await row(s.id)) === undefined, 15_000, 'deleted');
    expect(guest.snapshots.has(s.hvName)).toBe(false);
    expect(pve.fake.requests.filter((r) => r.method === 'DELETE').at(-1)!.params).toEqual({ force: '1' });
  });

  it('an edited description reaches Proxmox; a hypervisor out of reach fails nothing and is audited', async () => {
    await setup();
    const s = await active('described');
    await fx.mod.snapshots.edit(SERVICE, s.id, { name: 'described', description: 'after the kernel update' }, CTX);
    expect(guest.snapshots.get(s.hvName)!.description).toBe('after the kernel update');
    expect(pve.calls()).toContain(`PUT /nodes/pve1/${path}/snapshot/${s.hvName}/config`);
    pve.fake.failHttp({ method: 'PUT', path: /\/config$/, status: 595, message: 'Connection refused' });
    const edited = await fx.mod.snapshots.edit(SERVICE, s.id, { name: 'described', description: 'second try' }, CTX);
    expect(edited.description).toBe('second try');
    expect(guest.snapshots.get(s.hvName)!.description).toBe('after the kernel update');
    const audits = await handle.db('snapshot_audit_events').where({ action: 'snapshot.edit' }).orderBy('id');
    expect(audits.map((a) => JSON.parse(a.details).hypervisor)).toEqual(['updated', 'driver_unreachable']);
  });

  // The token's privileges are the same question whatever the guest: asked once, with the VM.
  it.runIf(guestCase.type === 'qemu')('at start the module checks the token and audits what it lacks', async () => {
    handle = await migratedDatabase(kind);
    pve = await fakeProxmox();
    delete pve.fake.permissions['/vms']!['VM.PowerMgmt'];
    fx = await moduleFixture(handle.db, { services: [SERVICE], driver: pve.driver() });
    await fx.mod.start();
    await waitFor(async () => (await handle.db('snapshot_audit_events').where({ action: 'driver.access_missing' })).length > 0, 15_000, 'audited');
    const [event] = await handle.db('snapshot_audit_events').where({ action: 'driver.access_missing' });
    expect(JSON.parse(event.details).missing.map((m: { privilege: string }) => m.privilege)).toEqual(['VM.PowerMgmt']);
  });

  it('reconcile never judges snapshots of a missing guest, nor all of a service at once', async () => {
    await setup();
    const a = await active('first');
    const b = await active('second');
    pve.fake.cluster.migrate(guestCase.vmId, 'pve9');
    pve.fake.cluster.guests.delete(guestCase.vmId);
    expect((await fx.mod.reconcile())[0]).toMatchObject({ skipped: 'guest_missing', vanished: 0 });
    guestCase.add(pve); // a new guest with the old id: none of the snapshots
    expect((await fx.mod.reconcile())[0]).toMatchObject({ skipped: 'implausible', vanished: 0 });
    for (const s of [a, b]) expect(await row(s.id)).toMatchObject({ status: 'active' });
    expect(await handle.db('snapshot_audit_events').where({ action: 'reconcile.implausible', result: 'refused' })).toHaveLength(1);
    // One of several gone is still judged.
    pve.fake.cluster.guests.get(guestCase.vmId)!.snapshots.set(a.hvName, { name: a.hvName, description: '', snaptime: 1_700_000_000, vmstate: 0 });
    expect((await fx.mod.reconcile())[0]).toMatchObject({ vanished: 1 });
    expect(await row(b.id)).toMatchObject({ status: 'error', error_code: 'snapshot_vanished' });
  });

  it('operations keep the guest type and use its own endpoints', async () => {
    await setup();
    const s = await active('own endpoints');
    expect(guest.snapshots.has(s.hvName)).toBe(true);
    await fx.mod.snapshots.delete(SERVICE, s.id, { confirm: true }, CTX);
    await waitFor(async () => (await row(s.id)) === undefined, 15_000, 'deleted');
    expect(pve.calls()).toEqual(expect.arrayContaining([`POST /nodes/pve1/${path}/snapshot`, `DELETE /nodes/pve1/${path}/snapshot/${s.hvName}`]));
    const other = guestCase.type === 'qemu' ? '/lxc/' : '/qemu/';
    expect(pve.calls().some((c) => c.includes(other))).toBe(false);
  });
});
