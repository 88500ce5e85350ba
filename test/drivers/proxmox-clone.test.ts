import { describe, expect, it } from 'vitest';
import type { DriverError, DriverErrorCode, HypervisorTarget } from '../../module/drivers/contract.js';
import { waitForTask } from './conformance.js';
import { CT_TARGET, freshFakePerTest, outcome, rawClient, rejection, snapshotOk, TARGET } from './proxmox-fake/fixture.js';

const fields = (e: DriverError) => [e.code, e.detail];

describe('proxmox driver: clones from snapshots', () => {
  const env = freshFakePerTest();
  const newSnapshot = (target: HypervisorTarget, name: string) => () => env.d.create(target, { name, description: null, includeMemory: false });

  it('clones a VM from a snapshot onto another node and storage: the snapshot copied in full, the task followed to the end', async () => {
    const c = env.fx.fake.cluster;
    const vm = c.addVm('pve1', '110', { scsi0: 'ceph-rbd:vm-DISK-disk-0,size=16G' });
    vm.config.ide2 = 'none,media=cdrom'; // an ISO on local storage would keep the clone on pve1
    const source = { ...TARGET, vmId: '110' };
    vm.diskData = 'before the upgrade';
    await snapshotOk(env.d, source, 'psnap-a');
    vm.diskData = 'after the upgrade';
    vm.config.scsi1 = 'ceph-rbd:vm-110-disk-1,size=4G'; // added after the snapshot
    c.taskDurationMs = 150;
    const dest = { ...TARGET, node: 'pve2', vmId: '120', storage: 'san-chain' };
    const upid = await env.d.clone(source, 'psnap-a', dest);
    expect(upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmclone:110:snapshots@pve!panel:$/);
    expect(env.fx.fake.requests.find((r) => r.path.endsWith('/clone'))).toMatchObject({
      method: 'POST', path: '/nodes/pve1/qemu/110/clone', params: { newid: '120', snapname: 'psnap-a', full: '1', target: 'pve2', storage: 'san-chain' },
    });
    // While it runs the new VM sits on the source's node, locked; the running source is flocked.
    expect(await env.d.cloneState(dest)).toBe('partial');
    expect([c.guests.get('120')?.node, c.guests.get('120')?.lock]).toEqual(['pve1', 'clone']);
    const busy = await outcome(env.d, source, newSnapshot(source, 'psnap-b'));
    expect(busy.state === 'failed' && fields(busy.error)).toEqual(['locked', "can't lock file '/var/lock/qemu-server/lock-110.conf' - got timeout"]);

    expect(await waitForTask(env.d, source, upid, 5_000, 5)).toEqual({ state: 'succeeded' });
    expect(await env.d.cloneState(dest)).toBe('complete');
    const made = c.guests.get('120')!;
    expect(made).toMatchObject({ node: 'pve2', lock: null, diskData: 'before the upgrade', origin: { type: 'qemu', vmid: '110', snapshot: 'psnap-a' } });
    expect([made.config.scsi0, made.config.scsi1, made.config.name]).toEqual(['san-chain:vm-120-disk-0,size=16G', undefined, 'Copy-of-VM-vm110']);
    expect(made.config.net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$/);
    expect(made.config.net0).not.toBe(vm.config.net0);
    expect(vm.flocks.size).toBe(0);
    expect(await outcome(env.d, source, newSnapshot(source, 'psnap-b'))).toEqual({ state: 'succeeded' });
  });

  it('clones a container from a snapshot onto another storage of its node', async () => {
    const c = env.fx.fake.cluster;
    const ct = c.addContainer('pve1', '200');
    ct.diskData = 'v1';
    await snapshotOk(env.d, CT_TARGET, 'psnap-a');
    ct.diskData = 'v2';
    c.taskDurationMs = 150;
    const dest = { ...CT_TARGET, vmId: '210', storage: 'local-zfs' };
    const upid = await env.d.clone(CT_TARGET, 'psnap-a', dest);
    expect(upid).toMatch(/:vzclone:200:snapshots@pve!panel:$/);
    expect(env.fx.fake.requests.find((r) => r.path.endsWith('/clone'))).toMatchObject({
      path: '/nodes/pve1/lxc/200/clone', params: { newid: '210', snapname: 'psnap-a', full: '1', storage: 'local-zfs' },
    });
    // pve-container locks the source `disk` and creates the new config `create` before it forks.
    expect([ct.lock, c.guests.get('210')?.lock, await env.d.cloneState(dest)]).toEqual(['disk', 'create', 'partial']);
    const busy = await outcome(env.d, CT_TARGET, newSnapshot(CT_TARGET, 'psnap-b'));
    expect(busy.state === 'failed' && fields(busy.error)).toEqual(['locked', 'CT is locked (disk)']);

    expect(await waitForTask(env.d, CT_TARGET, upid, 5_000, 5)).toEqual({ state: 'succeeded' });
    const made = c.guests.get('210')!;
    expect(made).toMatchObject({ type: 'lxc', node: 'pve1', lock: null, diskData: 'v1', origin: { type: 'lxc', vmid: '200', snapshot: 'psnap-a' } });
    expect([made.config.rootfs, made.config.hostname]).toEqual(['local-zfs:vm-210-disk-0,size=8G', 'ct200']);
    expect([ct.lock, await env.d.cloneState(dest)]).toEqual([null, 'complete']);
  });

  it('refuses before asking PVE: the id taken anywhere, a snapshot missing or unfinished, a destination of the other type', async () => {
    const c = env.fx.fake.cluster;
    await snapshotOk(env.d, TARGET, 'psnap-a');
    c.addVm('pve2', '101');
    c.addContainer('pve3', '102');
    env.fx.vm.snapshots.set('psnap-half', { name: 'psnap-half', description: '', snaptime: 1_700_000_000, vmstate: 0, snapstate: 'prepare' });
    const cases: [HypervisorTarget, string, DriverErrorCode, string][] = [
      [{ ...TARGET, vmId: '101' }, 'psnap-a', 'already_exists', "VM 101 already exists on node 'pve2'"],
      [{ ...TARGET, vmId: '102' }, 'psnap-a', 'already_exists', "CT 102 already exists on node 'pve3' (the destination names a qemu)"],
      [{ ...TARGET, vmId: '120' }, 'psnap-none', 'not_found', "snapshot 'psnap-none' does not exist"],
      [{ ...TARGET, vmId: '120' }, 'psnap-half', 'snapshot_incomplete', 'unable to clone from incomplete snapshot (snapstate = prepare)'],
      [{ ...CT_TARGET, vmId: '120' }, 'psnap-a', 'rejected', 'a clone of qemu 100 is a qemu too, not a lxc'],
      [{ ...TARGET, vmId: '12' }, 'psnap-a', 'rejected', "not a Proxmox target: node 'pve1', VM id '12'"],
    ];
    for (const [dest, name, code, detail] of cases) expect(fields(await rejection(env.d.clone(TARGET, name, dest)))).toEqual([code, detail]);
    expect(env.fx.calls().filter((x) => x.endsWith('/clone'))).toEqual([]);
  });

  it("maps PVE's refusals: source locked (busy or stale), local disks for another node, privileges, the id taken on another node", async () => {
    const c = env.fx.fake.cluster;
    await snapshotOk(env.d, TARGET, 'psnap-a');
    const dest = { ...TARGET, vmId: '120' };
    env.fx.vm.lock = 'backup';
    expect(fields(await rejection(env.d.clone(TARGET, 'psnap-a', dest)))).toEqual(['locked', 'HTTP 500: VM is locked (backup)']);
    env.fx.vm.lock = 'snapshot'; // no task holds it
    const stale = await rejection(env.d.clone(TARGET, 'psnap-a', dest));
    expect([stale.code, stale.detail]).toEqual(['stale_lock', expect.stringContaining("run 'qm unlock 100' on pve1")]);
    env.fx.vm.lock = null;
    expect(fields(await rejection(env.d.clone(TARGET, 'psnap-a', { ...dest, node: 'pve2' }))))
      .toEqual(['rejected', "HTTP 500: can't clone VM to node 'pve2' (VM uses local storage)"]);
    expect(fields(await rejection(env.d.clone(TARGET, 'psnap-a', { ...dest, node: 'pve2', storage: 'local-lvm' }))))
      .toEqual(['rejected', "HTTP 500: can't clone to non-shared storage 'local-lvm'"]);
    delete env.fx.fake.permissions['/storage']!['Datastore.AllocateSpace'];
    expect(fields(await rejection(env.d.clone(TARGET, 'psnap-a', dest))))
      .toEqual(['permission', 'HTTP 403: Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)']);
    delete env.fx.fake.permissions['/vms']!['VM.Clone'];
    expect(fields(await rejection(env.d.clone(TARGET, 'psnap-a', dest)))).toEqual(['permission', 'HTTP 403: Permission check failed (/vms/100, VM.Clone)']);
    expect(c.guests.has('120')).toBe(false);
    // qemu-server looks for the new id only on its own node; pmxcfs refuses the config in the worker.
    env.fx.fake.permissions = { '/': { 'VM.Clone': 1, 'VM.Allocate': 1, 'Datastore.AllocateSpace': 1, 'SDN.Use': 1 } };
    c.addVm('pve2', '121');
    const client = rawClient(env.fx.fake);
    const upid = await client.post<string>('/nodes/pve1/qemu/100/clone', { newid: 121, snapname: 'psnap-a', full: 1 });
    client.close();
    const late = await waitForTask(env.d, TARGET, upid, 5_000, 5);
    expect(late.state === 'failed' && fields(late.error))
      .toEqual(['already_exists', "close (rename) atomic file '/etc/pve/nodes/pve1/qemu-server/121.conf' failed: File exists"]);
  });

  it('what capabilities rule out, PVE refuses: ZFS under a VM, btrfs under a container, a bind mount', async () => {
    const c = env.fx.fake.cluster;
    c.addVm('pve1', '102', { scsi0: 'local-zfs:vm-DISK-disk-0,size=8G' });
    c.addVm('pve1', '103', { scsi0: 'nfs-chain:103/vm-DISK-disk-0.qcow2,size=8G' });
    c.addContainer('pve1', '200', { rootfs: 'local-zfs:subvol-DISK-disk-0,size=8G' });
    c.addContainer('pve1', '201', { rootfs: 'local-btrfs:subvol-DISK-disk-0,size=8G' });
    c.addContainer('pve1', '202', { rootfs: 'local-lvm:vm-DISK-disk-0,size=8G', mp0: '/srv/shared,mp=/srv' });
    const guest = (vmId: string): HypervisorTarget => ({ ...(vmId.startsWith('2') ? CT_TARGET : TARGET), vmId });
    const ids = ['100', '102', '103', '200', '201', '202'];
    const clonable = async () => Promise.all(ids.map(async (id) => (await env.fx.driver().capabilities(guest(id))).clone));
    expect(await clonable()).toEqual([true, false, true, true, false, false]);
    for (const id of ['102', '201', '202']) await snapshotOk(env.d, guest(id), 'psnap-a');
    const cloned = async (id: string) => {
      const o = await outcome(env.d, guest(id), () => env.d.clone(guest(id), 'psnap-a', { ...guest(id), vmId: `9${id}` }));
      return o.state === 'failed' && fields(o.error);
    };
    expect(await cloned('102')).toEqual(['unsupported_storage', "HTTP 500: Full clone feature is not supported for a snapshot of 'local-zfs:vm-102-disk-0' (scsi0)"]);
    expect(await cloned('201')).toEqual(['unsupported_storage', "clone failed: cannot mount subvol snapshots for storage type 'btrfs'"]);
    expect(await cloned('202')).toEqual(['rejected', "HTTP 500: unable to clone mountpoint 'mp0' (type bind)"]);
    expect(['9102', '9201', '9202'].map((id) => c.guests.has(id))).toEqual([false, false, false]);
    expect(['201', '202'].map((id) => c.guests.get(id)!.lock)).toEqual([null, null]);
  });

  it('capabilities say no clone once checkAccess found a privilege cloning needs missing; everything else still works', async () => {
    delete env.fx.fake.permissions['/vms']!['VM.Clone'];
    expect((await env.d.capabilities(TARGET)).clone).toBe(true); // not known before the check
    const missing = await env.d.checkAccess();
    expect(missing.map((m) => [m.privilege, m.path, m.neededFor])).toEqual([
      ['VM.Clone', '/vms', 'the guest a clone is made from (optional, only for cloning a snapshot into a new guest)'],
    ]);
    expect(await env.d.capabilities(TARGET)).toEqual({ memory: true, rollbackOnlyLatest: false, clone: false });
    await snapshotOk(env.d, TARGET, 'psnap-a');
    env.fx.fake.permissions['/vms']!['VM.Clone'] = 1;
    await env.d.checkAccess();
    expect((await env.d.capabilities(TARGET)).clone).toBe(true);
  });
});
