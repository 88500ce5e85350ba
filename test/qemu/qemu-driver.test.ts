import { describe, expect, it } from 'vitest';
import { DriverError, type SnapshotDriver, type TaskState } from '../../module/drivers/contract.js';
import { qemuDriver, type QemuVmConfig } from '../../module/drivers/qemu/index.js';
import { waitForTask } from '../drivers/conformance.js';
import { createDisk, HAS_QEMU, imageSnapshots, KiB, qemuIoOffline, SKIP_NOTE, type TestVm } from './qemu-harness.js';
import { useQemuScratch } from './qemu-scratch.js';

const target = { driver: 'qemu', node: 'local', vmId: 'vm1' };

describe.skipIf(!HAS_QEMU)(`QEMU driver against real QEMU${SKIP_NOTE}`, () => {
  const scratch = useQemuScratch();
  let dir: { path: string };
  let vm: TestVm | undefined;

  async function setup(opts: { running?: boolean; paused?: boolean; config?: Partial<QemuVmConfig> } = {}) {
    dir = scratch.dir();
    const disks = [createDisk(dir.path, 'a.qcow2')];
    vm = opts.running || opts.paused ? await scratch.vm(dir.path, disks, { run: !opts.paused }) : undefined;
    const config = { qmpSocket: vm?.socket, disks, ...opts.config };
    return { disks, driver: qemuDriver({ vms: { 'local/vm1': config }, commandTimeoutMs: 20_000 }) };
  }
  const done = (driver: SnapshotDriver, ref: string) => waitForTask(driver, target, ref, 30_000, 20);
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as DriverError);

  it('memory for running VMs only; sizes and descriptions in the list', async () => {
    const { driver } = await setup({ running: true });
    expect(await driver.capabilities(target)).toEqual({ memory: true, rollbackOnlyLatest: false, clone: true });
    expect(await done(driver, await driver.create(target, { name: 'with-mem', description: 'RAM too', includeMemory: true }))).toEqual({ state: 'succeeded' });
    expect(await done(driver, await driver.create(target, { name: 'disk-only', description: null, includeMemory: false }))).toEqual({ state: 'succeeded' });
    const [mem, disk] = await driver.list(target);
    const qemuSize = (await vm!.snapshots('virtio0')).find((s) => s.name === 'with-mem')!['vm-state-size'];
    expect(mem).toMatchObject({ name: 'with-mem', description: 'RAM too', withMemory: true, memoryBytes: qemuSize, diskBytes: null });
    expect(qemuSize).toBeGreaterThan(0);
    expect(disk).toMatchObject({ name: 'disk-only', description: null, withMemory: false, memoryBytes: null });
    expect(Math.abs(mem!.createdAt!.getTime() - Date.now())).toBeLessThan(60_000);
    await vm!.stop();
    vm = undefined;
    // The same snapshots, now read by qemu-img; the VM being gone takes memory off the table.
    expect(await driver.capabilities(target)).toEqual({ memory: false, rollbackOnlyLatest: false, clone: true });
    expect((await driver.list(target)).map((s) => [s.name, s.withMemory, s.description])).toEqual([['with-mem', true, 'RAM too'], ['disk-only', false, null]]);
  });

  it('a disk-only restore of a running VM resets the guest; start-after false leaves it paused', async () => {
    const { driver } = await setup({ running: true });
    await vm!.write('virtio0', 0x7e, 0, 64 * KiB);
    await done(driver, await driver.create(target, { name: 'plain', description: null, includeMemory: false }));
    await vm!.write('virtio0', 0x01, 0, 64 * KiB);
    expect(await done(driver, await driver.restore(target, 'plain', { startAfter: false }))).toEqual({ state: 'succeeded' });
    // QEMU calls a VM reset while not running 'prelaunch': stopped, waiting for `cont`.
    expect(await vm!.status()).toBe('prelaunch');
    // A reset x86 CPU waits at the reset vector: the snapshot's memory was not resumed.
    expect(await vm!.hmp('info registers')).toMatch(/EIP=0000fff0/);
    expect(await vm!.holds('virtio0', 0x7e, 0, 64 * KiB)).toBe(true);
    expect(await done(driver, await driver.restore(target, 'plain', { startAfter: true }))).toEqual({ state: 'succeeded' });
    expect(await vm!.status()).toBe('running');
  });

  it('start-after continues a paused VM after a memory restore', async () => {
    const { driver } = await setup({ paused: true });
    await done(driver, await driver.create(target, { name: 'm', description: null, includeMemory: true }));
    await done(driver, await driver.restore(target, 'm', { startAfter: false }));
    expect(await vm!.status()).toBe('prelaunch');
    await done(driver, await driver.restore(target, 'm', { startAfter: true }));
    expect(await vm!.status()).toBe('running');
  });

  it('a task survives a panel restart: another driver instance finishes the job, the first judges by the list', async () => {
    const { driver, disks } = await setup({ running: true });
    const ref = await driver.create(target, { name: 'resumed', description: null, includeMemory: true });
    const restarted = qemuDriver({ vms: { 'local/vm1': { qmpSocket: vm!.socket, disks } } });
    expect(await done(restarted, ref)).toEqual({ state: 'succeeded' });
    expect(await vm!.qmp('query-jobs')).toEqual([]); // dismissed
    expect(await driver.taskStatus(target, ref)).toEqual({ state: 'succeeded' });
  });

  it('a VM that dies during a restore makes the task unreachable', async () => {
    const { driver } = await setup({ running: true });
    await done(driver, await driver.create(target, { name: 'r', description: null, includeMemory: true }));
    const ref = await driver.restore(target, 'r', { startAfter: true });
    vm!.process.kill('SIGKILL');
    await vm!.exited;
    const state = await driver.taskStatus(target, ref) as Extract<TaskState, { state: 'failed' }>;
    expect(state.state).toBe('failed');
    expect(state.error).toMatchObject({ code: 'unreachable' });
  });

  it('a restore QEMU refuses before touching a disk (tag missing on one disk) resumes the VM, disks as they were', async () => {
    dir = scratch.dir();
    const disks = [createDisk(dir.path, 'a.qcow2'), createDisk(dir.path, 'b.qcow2')];
    vm = await scratch.vm(dir.path, disks);
    const driver = qemuDriver({ vms: { 'local/vm1': { qmpSocket: vm.socket, disks } }, commandTimeoutMs: 20_000 });
    await done(driver, await driver.create(target, { name: 'half', description: null, includeMemory: true }));
    await vm.qmp('blockdev-snapshot-delete-internal-sync', { device: 'virtio1', name: 'half' });
    await vm.write('virtio0', 0x33, 0, 64 * KiB);
    const state = await done(driver, await driver.restore(target, 'half', { startAfter: true })) as Extract<TaskState, { state: 'failed' }>;
    expect(state.state).toBe('failed');
    expect(state.error).toMatchObject({ code: 'not_found', detail: expect.stringContaining('does not exist in one or more devices') });
    expect(await vm.status()).toBe('running');
    expect(await vm.holds('virtio0', 0x33, 0, 64 * KiB)).toBe(true);
  });

  it('a restore whose memory state fails to load after the disks were reverted leaves the VM stopped: restore_incomplete', async () => {
    dir = scratch.dir();
    const disks = [createDisk(dir.path, 'a.qcow2')];
    vm = await scratch.vm(dir.path, disks);
    const driver = qemuDriver({ vms: { 'local/vm1': { qmpSocket: vm.socket, disks } }, commandTimeoutMs: 20_000 });
    await done(driver, await driver.create(target, { name: 'small-ram', description: null, includeMemory: true }));
    await vm.stop();
    // The same disks under another RAM size: QEMU reverts them, then refuses the 64 MiB memory state.
    vm = await scratch.vm(dir.path, disks, { memoryMiB: 128 });
    await vm.write('virtio0', 0x55, 0, 64 * KiB);
    const state = await done(driver, await driver.restore(target, 'small-ram', { startAfter: true })) as Extract<TaskState, { state: 'failed' }>;
    expect(state.state).toBe('failed');
    expect(state.error).toMatchObject({ code: 'restore_incomplete', detail: expect.stringContaining('while loading VM state') });
    expect(state.error.transient).toBe(false);
    expect(await vm.qmp('query-status')).toMatchObject({ running: false, status: 'restore-vm' });
    expect(await vm.holds('virtio0', 0x00, 0, 64 * KiB)).toBe(true); // reverted: why it must not run on
    expect(await driver.taskStatus(target, await driver.restore(target, 'small-ram', { startAfter: true })))
      .toMatchObject({ state: 'failed', error: { code: 'restore_incomplete' } });
    expect(await vm.status()).toBe('restore-vm');
  });

  it('a disk held by a QEMU the driver cannot reach is locked, and stays untouched', async () => {
    const { driver, disks } = await setup({ running: true, config: { qmpSocket: undefined } });
    const err = await failure(driver.create(target, { name: 'x', description: null, includeMemory: false }));
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({ code: 'locked', detail: expect.stringContaining('lock') });
    expect(err!.transient).toBe(true);
    expect(imageSnapshots(disks[0]!)).toEqual([]);
  });

  it('stopped VM: a duplicate name is refused although qemu-img would create it', async () => {
    const { driver, disks } = await setup();
    qemuIoOffline(disks[0]!, 'write -P 0x42 0 4k');
    await done(driver, await driver.create(target, { name: 'once', description: 'first', includeMemory: false }));
    expect(await failure(driver.create(target, { name: 'once', description: 'again', includeMemory: false }))).toMatchObject({ code: 'already_exists' });
    expect(imageSnapshots(disks[0]!).map((s) => s.name)).toEqual(['once']);
    expect((await driver.list(target))[0]).toMatchObject({ name: 'once', description: 'first' });
    expect(await failure(driver.restore(target, 'never', { startAfter: true }))).toMatchObject({ code: 'not_found' });
  });

  it('misconfiguration is rejected with a reason, never mistaken for a missing snapshot', async () => {
    const { driver } = await setup({ config: { disks: ['/nonexistent/disk.qcow2'] } });
    expect(await failure(driver.delete(target, 'x'))).toMatchObject({ code: 'rejected', detail: expect.stringContaining('No such file') });
    expect(await failure(driver.list({ ...target, vmId: 'other' }))).toMatchObject({ code: 'rejected', detail: expect.stringContaining('no QEMU VM configured') });
    const bad = qemuDriver({ vms: { 'local/vm1': { disks: ['a'], vmstateDisk: 'b' } } });
    expect(await failure(bad.list(target))).toMatchObject({ code: 'rejected', detail: expect.stringContaining('vmstateDisk') });
    expect(() => qemuDriver({ commandTimeoutMs: -1 })).toThrow();
  });
});
