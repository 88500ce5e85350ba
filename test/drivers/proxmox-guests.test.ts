import { describe, expect, it } from 'vitest';
import type { DriverNotice } from '../../module/drivers/contract.js';
import { ProxmoxHttpError } from '../../module/drivers/proxmox/http-client.js';
import { proxmoxDriver } from '../../module/drivers/proxmox/proxmox-driver.js';
import { toSnapname } from '../../module/drivers/proxmox/snapshot-names.js';
import { describeDriverConformance, waitForTask } from './conformance.js';
import { code, CT_TARGET, fakeProxmox, freshFakePerTest, outcome, rawClient, rejection, TARGET } from './proxmox-fake/fixture.js';


describe('proxmox driver: guests that move, vanish, stay locked or are half done', () => {
  const env = freshFakePerTest();

  it('the fake refuses what PVE refuses: unknown parameters, bad formats, vmstate on containers', async () => {
    const client = rawClient(env.fx.fake);
    const refused = async (call: Promise<unknown>) => {
      const err = await call.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ProxmoxHttpError);
      return [(err as ProxmoxHttpError).status, (err as ProxmoxHttpError).message];
    };
    expect(await refused(client.post('/nodes/pve1/lxc/200/snapshot', { snapname: 'psnap-a', vmstate: 1 }))).toEqual([
      400, 'Parameter verification failed. — vmstate: property is not defined in schema and the schema does not allow additional properties',
    ]);
    expect(await refused(client.delete('/nodes/pve1/qemu/100/snapshot/1st', { forced: 1 }))).toEqual([
      400, "Parameter verification failed. — snapname: invalid format - invalid configuration ID '1st' — forced: property is not defined in schema and the schema does not allow additional properties",
    ]);
    expect(await refused(client.get('/cluster/resources', { type: 'qemu' }))).toEqual([
      400, "Parameter verification failed. — type: value 'qemu' does not have a value in the enumeration 'vm, storage, node, sdn'",
    ]);
    client.close();
  });

  describe('clusters', () => {
    it('follows a guest that migrated: finds its node in /cluster/resources, uses it, and says so once', async () => {
      const notices: DriverNotice[] = [];
      env.d.onNotice((n) => notices.push(n));
      await waitForTask(env.d, TARGET, await env.d.create(TARGET, { name: 'psnap-a', description: null, includeMemory: false }), 5_000, 5);
      env.fx.fake.cluster.migrate('100', 'pve2');
      expect((await env.d.list(TARGET)).map((s) => s.name)).toEqual(['psnap-a']);
      expect(await outcome(env.d, TARGET, () => env.d.delete(TARGET, 'psnap-a'))).toEqual({ state: 'succeeded' });
      expect(env.fx.calls()).toContain('DELETE /nodes/pve2/qemu/100/snapshot/psnap-a');
      expect(env.fx.vm.snapshots.size).toBe(0);
      expect(notices).toEqual([{ code: 'guest_moved', target: TARGET, from: 'pve1', to: 'pve2' }]);
      expect(env.fx.calls().filter((c) => c === 'GET /cluster/resources')).toHaveLength(1);
    });

    it('a guest on no node is guest_missing, never "snapshot not found", for every call', async () => {
      const gone = { ...TARGET, vmId: '104' };
      for (const call of [() => env.d.delete(gone, 'psnap-a'), () => env.d.restore(gone, 'psnap-a', { startAfter: false }), () => env.d.create(gone, { name: 'psnap-a', description: null, includeMemory: false })]) {
        const o = await outcome(env.d, gone, call);
        expect(code(o)).toBe('guest_missing');
        expect(o.state === 'failed' && o.error.transient).toBe(false);
      }
      expect((await rejection(env.d.list(gone))).detail).toContain("Configuration file 'nodes/pve1/qemu-server/104.conf' does not exist");
      // A container with that id is not the VM the target names.
      env.fx.fake.cluster.addContainer('pve2', '104');
      expect((await rejection(env.d.list(gone))).code).toBe('guest_missing');
    });

    it('a guest that vanishes after its delete started fails the task with guest_missing', async () => {
      env.fx.fake.cluster.taskDurationMs = 100;
      env.fx.vm.snapshots.set('psnap-a', { name: 'psnap-a', description: '', snaptime: 1_700_000_000, vmstate: 0 });
      env.fx.fake.cluster.tasks.inject({ type: 'qmdelsnapshot', exitstatus: "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist" });
      expect(code(await outcome(env.d, TARGET, () => env.d.delete(TARGET, 'psnap-a')))).toBe('guest_missing');
    });
  });

  describe('unfinished snapshots and stale locks', () => {
    it('lists snapstate as incomplete and refuses to restore it; snaptime 0 is an unknown time', async () => {
      env.fx.vm.snapshots.set('psnap-half', { name: 'psnap-half', description: '', snaptime: 1_700_000_000, vmstate: 0, snapstate: 'prepare' });
      env.fx.vm.snapshots.set('psnap-old', { name: 'psnap-old', description: '', snaptime: 0, vmstate: 0 });
      const list = await env.d.list(TARGET);
      expect(list.map((s) => [s.name, s.incomplete, s.createdAt])).toEqual([
        ['psnap-half', 'prepare', new Date(1_700_000_000_000)], ['psnap-old', undefined, null],
      ]);
      const err = await rejection(env.d.restore(TARGET, 'psnap-half', { startAfter: false }));
      expect([err.code, err.detail]).toEqual(['snapshot_incomplete', 'unable to rollback to incomplete snapshot (snapstate = prepare)']);
      expect(env.fx.calls().some((c) => c.endsWith('/rollback'))).toBe(false);
    });

    it('a failed delete leaves a stale lock: stale_lock with the unlock command; after unlock, force=1 finishes it', async () => {
      env.fx.vm.snapshots.set('psnap-a', { name: 'psnap-a', description: '', snaptime: 1_700_000_000, vmstate: 0, disksGone: true });
      const first = await outcome(env.d, TARGET, () => env.d.delete(TARGET, 'psnap-a'));
      expect(code(first)).toBe('rejected');
      expect([env.fx.vm.lock, env.fx.vm.snapshots.get('psnap-a')?.snapstate]).toEqual(['snapshot-delete', 'delete']);
      const again = await outcome(env.d, TARGET, () => env.d.delete(TARGET, 'psnap-a'));
      expect(again.state === 'failed' && [again.error.code, again.error.transient]).toEqual(['stale_lock', false]);
      expect(again.state === 'failed' && again.error.detail).toMatch(/^VM 100 on node pve1 is locked \(snapshot-delete\) .*'qm unlock 100' on pve1/);
      expect(env.fx.calls()).toContain('GET /nodes/pve1/tasks');
      expect(env.fx.fake.requests.find((r) => r.path === '/nodes/pve1/tasks')!.params).toEqual({ vmid: '100', source: 'active' });
      env.fx.vm.lock = null; // `qm unlock 100` on the node
      expect(await outcome(env.d, TARGET, () => env.d.delete(TARGET, 'psnap-a'))).toEqual({ state: 'succeeded' });
      expect(env.fx.fake.requests.filter((r) => r.method === 'DELETE').map((r) => r.params)).toEqual([{}, { force: '1' }, { force: '1' }]);
      expect(env.fx.vm.snapshots.size).toBe(0);
    });

    it('a lock whose task ended just before the check was not stale: still locked (retried)', async () => {
      env.fx.fake.cluster.taskDurationMs = 60;
      await env.d.create(TARGET, { name: 'psnap-first', description: null, includeMemory: false });
      const second = await env.d.create(TARGET, { name: 'psnap-second', description: null, includeMemory: false });
      await new Promise((r) => setTimeout(r, 150));
      const state = await env.d.taskStatus(TARGET, second);
      expect(state.state === 'failed' && [state.error.code, state.error.detail]).toEqual(['locked', 'VM is locked (snapshot)']);
      expect(env.fx.calls()).toEqual(expect.arrayContaining(['GET /nodes/pve1/tasks', 'GET /nodes/pve1/qemu/100/config']));
    });

    it('a lock held by a running task stays locked (wait), for containers too', async () => {
      env.fx.fake.cluster.taskDurationMs = 300;
      await env.d.create(TARGET, { name: 'psnap-first', description: null, includeMemory: false });
      const busy = await outcome(env.d, TARGET, () => env.d.create(TARGET, { name: 'psnap-second', description: null, includeMemory: false }));
      expect(busy.state === 'failed' && [busy.error.code, busy.error.detail]).toEqual(['locked', 'VM is locked (snapshot)']);
      const ct = env.fx.fake.cluster.addContainer('pve1', '200');
      ct.lock = 'snapshot';
      const stale = await outcome(env.d, CT_TARGET, () => env.d.create(CT_TARGET, { name: 'psnap-c', description: null, includeMemory: false }));
      expect(stale.state === 'failed' && stale.error.detail).toMatch(/^CT 200 on node pve1 is locked \(snapshot\) .*'pct unlock 200'/);
    });
  });

  it('rollbackOnlyLatest: ZFS and snapshot-as-volume-chain storages (VM disks, container rootfs and mount points)', async () => {
    const c = env.fx.fake.cluster;
    c.addVm('pve1', '101', { scsi0: 'san-chain:vm-DISK-disk-0.qcow2,size=8G' });
    c.addVm('pve1', '102', { scsi0: 'san-lvm:vm-DISK-disk-0,size=8G' });
    c.addContainer('pve1', '201', { rootfs: 'local-lvm:vm-DISK-disk-0,size=8G', mp0: 'nfs-chain:201/vm-201-disk-1.raw,mp=/srv,size=8G' });
    c.addContainer('pve1', '202', { rootfs: 'local-zfs:subvol-DISK-disk-0,size=8G' });
    const latestOnly = async (vmId: string, guestType?: 'lxc') => (await env.d.capabilities({ ...TARGET, vmId, ...(guestType ? { guestType } : {}) })).rollbackOnlyLatest;
    expect([await latestOnly('100'), await latestOnly('101'), await latestOnly('102'), await latestOnly('201', 'lxc'), await latestOnly('202', 'lxc')])
      .toEqual([false, true, false, true, true]);
    expect(await env.d.capabilities({ ...TARGET, vmId: '201', guestType: 'lxc' })).toEqual({ memory: false, rollbackOnlyLatest: true, clone: true });
  });

  it('checkAccess names each privilege the token lacks; ACLs narrowed to guests or pools count', async () => {
    expect(await env.d.checkAccess()).toEqual([]);
    env.fx.fake.permissions = {
      '/vms/100': { 'VM.Audit': 1, 'VM.Snapshot': 1 }, '/pool/customers': { 'VM.Snapshot.Rollback': 1 }, '/storage/local-zfs': { 'Datastore.Audit': 1 },
    };
    const missing = await env.d.checkAccess();
    expect(missing.map((m) => [m.privilege, m.path])).toEqual([
      ['VM.PowerMgmt', '/vms'], ['Sys.Audit', '/nodes'],
      ['VM.Clone', '/vms'], ['VM.Allocate', '/vms'], ['Datastore.AllocateSpace', '/storage'], ['SDN.Use', '/sdn/zones'],
    ]);
    expect(missing[0]!.neededFor).toMatch(/start afterwards/);
    expect(missing.slice(2).every((m) => m.neededFor.includes('optional, only for cloning'))).toBe(true);
    expect(env.fx.calls()).toEqual(['GET /access/permissions', 'GET /access/permissions']);
  });

  describe('names, descriptions, proxies, options', () => {
    it('names seen on the hypervisor round-trip unchanged; only the reserved names of the guest type are mapped', async () => {
      for (const n of ['vzdump', 'Current', 'PSNAP-Upper']) env.fx.vm.snapshots.set(n, { name: n, description: '', snaptime: 1_700_000_000, vmstate: 0 });
      for (const n of ['vzdump', 'Current', 'PSNAP-Upper']) expect(await outcome(env.d, TARGET, () => env.d.delete(TARGET, n))).toEqual({ state: 'succeeded' });
      expect(env.fx.vm.snapshots.size).toBe(0);
      expect(toSnapname('Pending', 'qemu')).not.toBe('Pending');
      expect(toSnapname('vzdump', 'lxc')).not.toBe('vzdump');
      expect([toSnapname('Vzdump', 'lxc'), toSnapname('Pending', 'lxc')]).toEqual(['Vzdump', 'Pending']);
    });

    it('updateDescription sends PUT …/snapshot/{name}/config; a stale lock is reported as such', async () => {
      env.fx.vm.snapshots.set('psnap-a', { name: 'psnap-a', description: 'old', snaptime: 1_700_000_000, vmstate: 0 });
      await env.d.updateDescription(TARGET, 'psnap-a', 'after the upgrade');
      expect(env.fx.fake.requests.at(-1)).toMatchObject({ method: 'PUT', path: '/nodes/pve1/qemu/100/snapshot/psnap-a/config', params: { description: 'after the upgrade' } });
      expect((await env.d.list(TARGET))[0]!.description).toBe('after the upgrade');
      await env.d.updateDescription(TARGET, 'psnap-a', null);
      expect((await env.d.list(TARGET))[0]!.description).toBeNull();
      env.fx.vm.lock = 'rollback';
      expect((await rejection(env.d.updateDescription(TARGET, 'psnap-a', 'x'))).code).toBe('stale_lock');
    });

    it.each([597, 598, 599])('pveproxy %i is unreachable (transient)', async (status) => {
      env.fx.fake.failHttp({ path: /\/snapshot$/, status, message: 'proxy error' });
      const err = await rejection(env.d.list(TARGET));
      expect([err.code, err.transient]).toEqual(['unreachable', true]);
    });

    it.each([
      ['u@pve!t', false], ['snapshots@p!panel', false], ['sn/ap@pve!panel', false], ['snap shots@pve!panel', false],
      [`${'u'.repeat(61)}@pve!panel`, false], [`${'u'.repeat(60)}@pve!panel`, true], ['snapshots@pve!panel', true], ['a.b-c@ldap-corp!tok_1.x', true],
    ])('token id %j valid: %s', (tokenId, ok) => {
      const make = () => proxmoxDriver({ url: 'https://pve.example.net:8006', tokenId, tokenSecret: 'x' });
      if (ok) expect(make().name).toBe('proxmox');
      else expect(make).toThrow(/tokenId: USER@REALM!TOKENID/);
    });
  });
});

describeDriverConformance('proxmox containers (fake API over HTTPS)', async () => {
  const fx = await fakeProxmox();
  fx.fake.cluster.addContainer(CT_TARGET.node, CT_TARGET.vmId);
  return { driver: fx.driver(), target: CT_TARGET, pollIntervalMs: 10, namePrefix: 'psnap', cleanup: () => fx.stop(),
    cloneDest: { ...CT_TARGET, vmId: '290' },
  };
});
