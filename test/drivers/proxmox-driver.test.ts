import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DriverError, type DriverErrorCode } from '../../module/drivers/contract.js';
import { classifyMessage } from '../../module/drivers/proxmox/errors.js';
import { proxmoxDriver, type ProxmoxDriver } from '../../module/drivers/proxmox/proxmox-driver.js';
import { isValidSnapname, toSnapname } from '../../module/drivers/proxmox/snapshot-names.js';
import { describeDriverConformance, waitForTask } from './conformance.js';
import { testCerts } from './proxmox-fake/certs.js';
import { fakeProxmox, rejection, TARGET } from './proxmox-fake/fixture.js';

type Fx = Awaited<ReturnType<typeof fakeProxmox>>;

/** Runs a driver call and its task to the end; returns the failure, whichever way it came. */
async function failure(d: ProxmoxDriver, start: () => Promise<string>): Promise<DriverError> {
  try {
    const state = await waitForTask(d, TARGET, await start(), 10_000, 5);
    if (state.state === 'failed') return state.error;
    throw new Error(`expected a failure, got ${JSON.stringify(state)}`);
  } catch (err) {
    if (err instanceof DriverError) return err;
    throw err;
  }
}

const create = (d: ProxmoxDriver, name: string, includeMemory = false, description: string | null = null) =>
  d.create(TARGET, { name, description, includeMemory });

describe('proxmox driver against the fake API', () => {
  let fx: Fx;
  let d: ProxmoxDriver;
  beforeEach(async () => {
    fx = await fakeProxmox();
    d = fx.driver();
  });
  afterEach(async () => fx.stop());

  describe('requests', () => {
    it('authenticates with the API token and creates with snapname, description and vmstate', async () => {
      const upid = await create(d, 'psnap-20260101120000-abc123', true, 'before upgrade');
      const post = fx.fake.requests.find((r) => r.method === 'POST')!;
      expect(post.path).toBe('/nodes/pve1/qemu/100/snapshot');
      expect(post.authorization).toBe(`PVEAPIToken=${fx.fake.tokenId}=${fx.fake.tokenSecret}`);
      expect(post.params).toEqual({ snapname: 'psnap-20260101120000-abc123', description: 'before upgrade', vmstate: '1' });
      expect(upid).toMatch(/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmsnapshot:100:snapshots@pve!panel:$/);
    });

    it('leaves out vmstate and an empty description for a disk-only snapshot', async () => {
      await create(d, 'psnap-disk-only');
      expect(fx.fake.requests.find((r) => r.method === 'POST')!.params).toEqual({ snapname: 'psnap-disk-only' });
    });

    it('rolls back with start=1 only when asked, and deletes with DELETE', async () => {
      await waitForTask(d, TARGET, await create(d, 'psnap-a'), 5_000, 5);
      expect(await waitForTask(d, TARGET, await d.restore(TARGET, 'psnap-a', { startAfter: true }), 5_000, 5)).toEqual({ state: 'succeeded' });
      await waitForTask(d, TARGET, await d.restore(TARGET, 'psnap-a', { startAfter: false }), 5_000, 5);
      const rollbacks = fx.fake.requests.filter((r) => r.path.endsWith('/rollback'));
      expect(rollbacks.map((r) => [r.method, r.path, r.params])).toEqual([
        ['POST', '/nodes/pve1/qemu/100/snapshot/psnap-a/rollback', { start: '1' }],
        ['POST', '/nodes/pve1/qemu/100/snapshot/psnap-a/rollback', {}],
      ]);
      await waitForTask(d, TARGET, await d.delete(TARGET, 'psnap-a'), 5_000, 5);
      expect(fx.calls()).toContain('DELETE /nodes/pve1/qemu/100/snapshot/psnap-a');
      expect(fx.vm.snapshots.size).toBe(0);
    });

    it('maps names Proxmox would refuse to a valid, stable snapname', async () => {
      const name = '배포 전 backup';
      await waitForTask(d, TARGET, await create(d, name), 5_000, 5);
      const sent = fx.fake.requests.find((r) => r.method === 'POST')!.params.snapname!;
      expect(sent).toBe(toSnapname(name));
      expect(isValidSnapname(sent)).toBe(true);
      expect((await d.list(TARGET)).map((s) => s.name)).toEqual([sent]);
      await waitForTask(d, TARGET, await d.delete(TARGET, name), 5_000, 5);
      expect(await d.list(TARGET)).toEqual([]);
    });

    it('refuses a target that is not a Proxmox node and VM id without calling the API', async () => {
      expect((await rejection(d.list({ driver: 'proxmox', node: '../etc', vmId: '100' }))).code).toBe('rejected');
      expect((await rejection(d.list({ ...TARGET, vmId: '12a' }))).code).toBe('rejected');
      expect(fx.fake.requests).toHaveLength(0);
    });
  });

  describe('tasks', () => {
    it('polls the UPID at /nodes/{node}/tasks/{upid}/status until it stops', async () => {
      fx.fake.cluster.taskDurationMs = 150;
      const upid = await create(d, 'psnap-poll');
      expect(await d.taskStatus(TARGET, upid)).toEqual({ state: 'running' });
      expect(fx.calls()).toContain(`GET /nodes/pve1/tasks/${encodeURIComponent(upid)}/status`);
      expect(await waitForTask(d, TARGET, upid, 5_000, 10)).toEqual({ state: 'succeeded' });
      expect(fx.vm.snapshots.has('psnap-poll')).toBe(true);
    });

    it('counts "WARNINGS: n" as success with the number of warnings', async () => {
      fx.fake.cluster.tasks.inject({ type: 'qmsnapshot', exitstatus: 'WARNINGS: 1' });
      const state = await waitForTask(d, TARGET, await create(d, 'psnap-warn'), 5_000, 5);
      expect(state).toEqual({ state: 'succeeded', warnings: 1 });
      expect(fx.vm.snapshots.has('psnap-warn')).toBe(true);
    });

    it('reports a hung task as running, however often it is asked', async () => {
      fx.fake.cluster.tasks.inject({ type: 'qmsnapshot', hang: true });
      const upid = await create(d, 'psnap-hang');
      for (let i = 0; i < 5; i += 1) {
        await sleep(fx.fake.cluster.taskDurationMs);
        expect(await d.taskStatus(TARGET, upid)).toEqual({ state: 'running' });
      }
    });

    it('ends tasks Proxmox does not know, and strings that are no UPID, as not_found', async () => {
      const unknown = 'UPID:pve1:0000ABCD:0001ABCD:6560A000:qmsnapshot:100:snapshots@pve!panel:';
      const a = await d.taskStatus(TARGET, unknown);
      expect(a.state === 'failed' && a.error.code).toBe('not_found');
      const before = fx.fake.requests.length;
      const b = await d.taskStatus(TARGET, 'SIM:pve1:1:create:100');
      expect(b.state === 'failed' && b.error.code).toBe('not_found');
      expect(fx.fake.requests.length).toBe(before);
    });

    it('throws a transient error when the task status cannot be read', async () => {
      const upid = await create(d, 'psnap-x');
      fx.fake.failHttp({ path: /\/tasks\//, status: 595, message: 'No route to host' });
      const err = await rejection(d.taskStatus(TARGET, upid));
      expect(err).toBeInstanceOf(DriverError);
      expect([(err as DriverError).code, (err as DriverError).transient]).toEqual(['unreachable', true]);
    });
  });

  describe('errors', () => {
    it('a second task while the VM is locked fails with locked (as task exit status)', async () => {
      fx.fake.cluster.taskDurationMs = 200;
      await create(d, 'psnap-first');
      const err = await failure(d, () => create(d, 'psnap-second'));
      expect([err.code, err.detail]).toEqual(['locked', 'VM is locked (snapshot)']);
    });

    it.each<[string, string, DriverErrorCode]>([
      ['config lock timeout', "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", 'locked'],
      ['backup lock', 'VM is locked (backup)', 'locked'],
      ['qmp timeout', "VM 100 qmp command 'savevm-start' failed - got timeout", 'timeout'],
      ['other', "command 'qemu-img snapshot -c psnap-x /var/lib/vz/images/100/vm-100-disk-0.qcow2' failed: exit code 1", 'rejected'],
    ])('a task ending in %s (%j) is %s', async (_label, exitstatus, code) => {
      fx.fake.cluster.tasks.inject({ type: 'qmsnapshot', exitstatus });
      const err = await failure(d, () => create(d, 'psnap-inj'));
      expect([err.code, err.detail]).toEqual([code, exitstatus]);
    });

    it('duplicate name → already_exists; no snapshot feature → unsupported_storage; unknown delete → not_found', async () => {
      await waitForTask(d, TARGET, await create(d, 'psnap-dup'), 5_000, 5);
      expect((await failure(d, () => create(d, 'psnap-dup'))).code).toBe('already_exists');
      expect((await failure(d, () => d.delete(TARGET, 'psnap-nope'))).code).toBe('not_found');
      fx.fake.cluster.addVm('pve1', '101', { scsi0: 'san-lvm:vm-DISK-disk-0,size=8G' });
      const thick = { ...TARGET, vmId: '101' };
      const err = await d.create(thick, { name: 'psnap-lvm', description: null, includeMemory: false })
        .then((t) => waitForTask(d, thick, t, 5_000, 5));
      expect(err.state === 'failed' && [err.error.code, err.error.detail]).toEqual(['unsupported_storage', 'snapshot feature is not available']);
    });

    it('rollback of an older snapshot on ZFS is rejected with Proxmox words', async () => {
      fx.fake.cluster.addVm('pve1', '102', { scsi0: 'local-zfs:vm-DISK-disk-0,size=8G' });
      const zfs = { ...TARGET, vmId: '102' };
      for (const n of ['psnap-old', 'psnap-new']) {
        await waitForTask(d, zfs, await d.create(zfs, { name: n, description: null, includeMemory: false }), 5_000, 5);
        await sleep(1_050);
      }
      const state = await waitForTask(d, zfs, await d.restore(zfs, 'psnap-old', { startAfter: false }), 5_000, 5);
      expect(state.state === 'failed' && [state.error.code, state.error.detail])
        .toEqual(['rejected', "can't rollback, 'psnap-old' is not most recent snapshot on 'local-zfs:vm-102-disk-0'"]);
      expect(await waitForTask(d, zfs, await d.restore(zfs, 'psnap-new', { startAfter: false }), 5_000, 5)).toEqual({ state: 'succeeded' });
    });

    it('HTTP errors: unknown snapshot, unknown VM, permission, bad token, proxy and parameter errors', async () => {
      expect((await rejection(d.restore(TARGET, 'psnap-none', { startAfter: false }))).code).toBe('not_found');
      const missingVm = await rejection(d.list({ ...TARGET, vmId: '999' }));
      expect([missingVm.code, missingVm.detail]).toEqual([
        'guest_missing', "HTTP 500: Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist (qemu 999: the cluster lists it on no node)",
      ]);
      fx.fake.failHttp({ method: 'POST', path: /\/snapshot$/, status: 403, message: 'Permission check failed (/vms/100, VM.Snapshot)' });
      expect((await rejection(create(d, 'psnap-p'))).code).toBe('permission');
      const wrongToken = fx.driver({ tokenSecret: 'not-the-secret' });
      const unauthorized = await rejection(wrongToken.list(TARGET));
      expect([unauthorized.code, unauthorized.detail]).toEqual(['permission', 'HTTP 401: authentication failure']);
      fx.fake.failHttp({ path: /\/snapshot$/, status: 595, message: 'Connection refused' });
      expect((await rejection(d.list(TARGET))).code).toBe('unreachable');
      fx.fake.failHttp({ path: /\/snapshot$/, status: 500, message: 'unable to open file - Read-only file system' });
      const ro = await rejection(d.list(TARGET));
      expect([ro.code, ro.detail]).toEqual(['rejected', 'HTTP 500: unable to open file - Read-only file system']);
      fx.fake.failHttp({ method: 'POST', path: /\/snapshot$/, status: 400, message: 'Parameter verification failed.', errors: { description: 'value may only be 8192 characters long' } });
      const param = await rejection(create(d, 'psnap-long'));
      expect([param.code, param.detail]).toEqual(['rejected', 'HTTP 400: Parameter verification failed. — description: value may only be 8192 characters long']);
    });

    it('HTTP timeout → timeout, within the configured request time', async () => {
      const quick = fx.driver({ timeouts: { requestMs: 300, capabilitiesCacheMs: 0 } });
      fx.fake.failHttp({ path: /\/snapshot$/, stall: true });
      const started = Date.now();
      const err = await rejection(quick.list(TARGET));
      expect(err.code).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(3_000);
      // The connection pool is usable again afterwards.
      expect(await quick.list(TARGET)).toEqual([]);
    });

    it('connection refused and an unknown host are unreachable', async () => {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as { port: number }).port;
      await new Promise((r) => closed.close(r));
      const refused = proxmoxDriver({ url: `https://127.0.0.1:${port}`, tokenId: 'ab@pve!tok', tokenSecret: 's' });
      expect((await rejection(refused.list(TARGET))).code).toBe('unreachable');
      const dns = proxmoxDriver({ url: 'https://pve.invalid:8006', tokenId: 'ab@pve!tok', tokenSecret: 's' });
      const err = await rejection(dns.list(TARGET));
      expect([err.code, err.transient]).toEqual(['unreachable', true]);
      refused.close();
      dns.close();
    });

    it.each<[string, DriverErrorCode]>([
      ['VM is locked (snapshot-delete)', 'locked'],
      ["can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", 'locked'],
      ["cfs-lock 'file-replication_cfg' error: got lock request timeout", 'locked'],
      ["snapshot name 'psnap-a' already used", 'already_exists'],
      ['snapshot feature is not available', 'unsupported_storage'],
      ["snapshot 'psnap-a' does not exist", 'not_found'],
      // The config still has the snapshot; a volume snapshot is gone: not "the snapshot is gone".
      ["can't rollback, snapshot 'psnap-a' does not exist on 'local-zfs:vm-100-disk-0'", 'rejected'],
      ["Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist", 'guest_missing'],
      ["Configuration file 'nodes/pve2/lxc/104.conf' does not exist", 'guest_missing'],
      ["storage 'local-zfs' does not exist", 'rejected'],
      ["volume 'local-lvm:vm-100-disk-0' does not exist", 'rejected'],
      ['unable to rollback to incomplete snapshot (snapstate = prepare)', 'snapshot_incomplete'],
      ['Permission check failed (/vms/100, VM.Snapshot.Rollback)', 'permission'],
      ["can't rollback, 'psnap-a' is not most recent snapshot on 'local-zfs:vm-100-disk-0'", 'rejected'],
      ['unable to rollback vm 100: vm is running', 'rejected'],
      ["you can't take a snapshot if it's a template", 'rejected'],
    ])('classifies %j as %s', (message, code) => {
      expect(classifyMessage(message)).toBe(code);
    });
  });

  describe('list and capabilities', () => {
    it('sorts by snaptime, breaks ties by the parent chain, drops "current", maps fields', async () => {
      const snaps = fx.vm.snapshots;
      snaps.set('psnap-c', { name: 'psnap-c', description: '', snaptime: 1_700_000_300, vmstate: 0, parent: 'psnap-b' });
      snaps.set('psnap-a', { name: 'psnap-a', description: 'first', snaptime: 1_700_000_100, vmstate: 1 });
      snaps.set('psnap-b', { name: 'psnap-b', description: 'same second as a', snaptime: 1_700_000_100, vmstate: 0, parent: 'psnap-a' });
      fx.vm.parent = 'psnap-c';
      for (let i = 0; i < 5; i += 1) {
        const list = await d.list(TARGET);
        expect(list.map((s) => s.name)).toEqual(['psnap-a', 'psnap-b', 'psnap-c']);
        expect(list[0]).toEqual({
          name: 'psnap-a', description: 'first', createdAt: new Date(1_700_000_100_000), withMemory: true, diskBytes: null, memoryBytes: null,
        });
        expect(list[2]!.description).toBeNull();
        expect(list[2]!.withMemory).toBe(false);
      }
    });

    it('rollbackOnlyLatest follows the storage type of the disks, cached per VM', async () => {
      fx.fake.cluster.addVm('pve1', '102', { scsi0: 'local-lvm:vm-DISK-disk-0,size=8G', scsi1: 'local-zfs:vm-DISK-disk-1,size=8G' });
      expect(await d.capabilities(TARGET)).toEqual({ memory: true, rollbackOnlyLatest: false, clone: true });
      expect(await d.capabilities({ ...TARGET, vmId: '102' })).toEqual({ memory: true, rollbackOnlyLatest: true, clone: false });
      const asked = fx.fake.requests.length;
      expect(await d.capabilities({ ...TARGET, vmId: '102' })).toEqual({ memory: true, rollbackOnlyLatest: true, clone: false });
      expect(fx.fake.requests.length).toBe(asked);
      expect(fx.calls()).toEqual(expect.arrayContaining(['GET /nodes/pve1/qemu/102/config', 'GET /storage']));
    });

    it('without caching, a changed disk layout shows at once', async () => {
      const fresh = fx.driver({ timeouts: { requestMs: 5_000, capabilitiesCacheMs: 0 } });
      expect((await fresh.capabilities(TARGET)).rollbackOnlyLatest).toBe(false);
      fx.vm.config.scsi0 = 'local-zfs:vm-100-disk-0,size=32G';
      expect((await fresh.capabilities(TARGET)).rollbackOnlyLatest).toBe(true);
    });

    it('memory turned off: capabilities say so and a memory create is refused before any call', async () => {
      const noMem = fx.driver({ memory: false });
      expect((await noMem.capabilities(TARGET)).memory).toBe(false);
      const before = fx.fake.requests.length;
      expect((await rejection(create(noMem, 'psnap-m', true))).code).toBe('unsupported_storage');
      expect(fx.fake.requests.length).toBe(before);
    });
  });

  it('options are validated with the field named', () => {
    const base = { url: 'https://pve.example.net:8006', tokenId: 'snapshots@pve!panel', tokenSecret: 'x' };
    expect(() => proxmoxDriver({ ...base, url: 'http://pve.example.net:8006' })).toThrow(/url: an https:\/\/ URL/);
    expect(() => proxmoxDriver({ ...base, tokenId: 'root' })).toThrow(/tokenId: USER@REALM!TOKENID/);
    expect(() => proxmoxDriver({ ...base, tls: { fingerprint: 'abc' } })).toThrow(/tls.fingerprint/);
    expect(() => proxmoxDriver({ ...base, tls: { ca: testCerts().caPem, insecure: true } })).toThrow(/choose one of/);
    expect(proxmoxDriver(base).name).toBe('proxmox');
    expect(proxmoxDriver({ ...base, name: 'pve-eu' }).simulated).toBe(false);
  });
});

describeDriverConformance('proxmox (fake API over HTTPS)', async () => {
  const fx = await fakeProxmox();
  return { driver: fx.driver(), target: TARGET, pollIntervalMs: 10, namePrefix: 'psnap', cleanup: () => fx.stop(),
    cloneDest: { ...TARGET, vmId: '190' },
  };
});
