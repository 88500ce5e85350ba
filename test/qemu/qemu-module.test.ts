import type { Knex } from 'knex';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActionContext } from '../../module/index.js';
import { qemuDriver } from '../../module/drivers/qemu/index.js';
import { DATABASES } from '../helpers/databases.js';
import { makeService, type moduleFixture } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  AFTER, AT_SNAPSHOT, createDisk, expectedImage, HAS_QEMU, imageSnapshots, KiB, qemuIoOffline, rawBytes, SKIP_NOTE, type TestVm,
} from './qemu-harness.js';
import { useQemuScratch } from './qemu-scratch.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
// The fixture registers its driver under the name 'simulated'; here that driver is the real QEMU one.
const SERVICE = makeService({ target: { driver: 'simulated', node: 'local', vmId: 'vm1' } });

describe.skipIf(!HAS_QEMU).each(DATABASES)(`QEMU through the module ($kind)${SKIP_NOTE}`, (kind) => {
  const scratch = useQemuScratch();
  let handle: { db: Knex } | undefined;
  let fx: Awaited<ReturnType<typeof moduleFixture>> | undefined;
  let vm: TestVm | undefined;
  let dir: { path: string };

  /** Two zeroed disks, the VM running them (or none: stopped), and the module over the QEMU driver. */
  async function setup(running: boolean) {
    dir = scratch.dir();
    const disks = [createDisk(dir.path, 'a.qcow2'), createDisk(dir.path, 'b.qcow2')];
    vm = running ? await scratch.vm(dir.path, disks) : undefined;
    handle = await scratch.database(kind);
    // A stopped VM's socket does not exist: the driver falls back to qemu-img.
    const qmpSocket = vm?.socket ?? join(dir.path, 'not-running.sock');
    const driver = qemuDriver({ vms: { 'local/vm1': { qmpSocket, disks } }, commandTimeoutMs: 30_000 });
    fx = await scratch.module(handle.db, { services: [SERVICE], driver });
    await fx.mod.start();
    return disks;
  }
  const db = () => handle!.db;
  const snapshotRow = (id: number) => db()('snapshot_snapshots').where({ id }).first();
  const operationOf = (id: number, kind: string) => db()('snapshot_operations').where({ snapshot_id: id, kind }).first();
  const settled = (id: number, kind: string) => waitFor(async () => {
    const op = await operationOf(id, kind);
    return op && ['succeeded', 'failed'].includes(op.status) ? op : null;
  }, 60_000, `${kind} operation of snapshot ${id}`, 50);

  async function writeRunning(regions: typeof AT_SNAPSHOT) {
    for (const [i, list] of regions.entries()) for (const r of list) await vm!.write(`virtio${i}`, r.byte, r.offset, r.length);
  }

  it('running VM: create with memory, restore to exactly the bytes of snapshot time, delete', async () => {
    const disks = await setup(true);
    await writeRunning(AT_SNAPSHOT);
    const snap = await fx!.mod.snapshots.create(SERVICE, { name: 'Before upgrade', description: 'known bytes', includeMemory: true }, CTX);
    const created = await settled(snap.id, 'create');
    expect(created.status).toBe('succeeded');
    expect(created.driver_task).toMatch(/^qemu-job:save:snap-save-/);
    const row = await snapshotRow(snap.id);
    expect(row).toMatchObject({ status: 'active', name: 'Before upgrade', description: 'known bytes', hv_name: snap.hvName });
    // The memory state went to the first disk; its size is what QEMU reports for the snapshot.
    const onA = (await vm!.snapshots('virtio0')).find((s) => s.name === snap.hvName);
    expect(onA?.['vm-state-size']).toBeGreaterThan(0);
    expect(Number(row.memory_bytes)).toBe(onA!['vm-state-size']);
    expect((await vm!.snapshots('virtio1')).map((s) => s.name)).toEqual([snap.hvName]);

    await writeRunning(AFTER);
    expect(await vm!.holds('virtio0', 0xbb, 0, 64 * KiB)).toBe(true); // the new bytes really are there
    expect(await vm!.holds('virtio0', 0xaa, 0, 64 * KiB)).toBe(false);

    await fx!.mod.snapshots.restore(SERVICE, snap.id, { typedServiceName: SERVICE.name }, CTX);
    const restored = await settled(snap.id, 'restore');
    expect(restored).toMatchObject({ status: 'succeeded', error_code: null });
    expect(restored.driver_task).toMatch(/^qemu-job:load:/);
    expect((await snapshotRow(snap.id)).status).toBe('active');
    expect(await vm!.status()).toBe('running');
    // Exactly the snapshot's bytes, region by region, while the VM runs…
    expect(await vm!.holds('virtio0', 0xaa, 0, 64 * KiB)).toBe(true);
    expect(await vm!.holds('virtio0', 0, 64 * KiB, 704 * KiB)).toBe(true);
    expect(await vm!.holds('virtio0', 0x5c, 768 * KiB, 4 * KiB)).toBe(true);
    expect(await vm!.holds('virtio0', 0, 772 * KiB, 252 * KiB)).toBe(true);
    expect(await vm!.holds('virtio1', 0x3e, 128 * KiB, 64 * KiB)).toBe(true);

    await fx!.mod.snapshots.delete(SERVICE, snap.id, { confirm: true }, CTX);
    expect((await settled(snap.id, 'delete')).status).toBe('succeeded');
    expect(await snapshotRow(snap.id)).toBeUndefined();
    expect(await vm!.snapshots('virtio0')).toEqual([]);
    expect(await vm!.snapshots('virtio1')).toEqual([]);

    // …and every byte of both images once QEMU has exited.
    await vm!.stop();
    for (const [i, disk] of disks.entries()) {
      expect(rawBytes(disk, dir.path).equals(expectedImage(AT_SNAPSHOT[i]!))).toBe(true);
      expect(imageSnapshots(disk)).toEqual([]);
    }
  });

  it('stopped VM: disk-only snapshot through qemu-img, memory refused, exact restore, delete', async () => {
    const disks = await setup(false);
    const writeOffline = (regions: typeof AT_SNAPSHOT) => {
      for (const [i, list] of regions.entries()) for (const r of list) qemuIoOffline(disks[i]!, `write -P 0x${r.byte.toString(16)} ${r.offset} ${r.length}`);
    };
    writeOffline(AT_SNAPSHOT);
    const refused = await fx!.mod.snapshots.create(SERVICE, { name: 'with memory', includeMemory: true }, CTX).catch((e: { fields?: Record<string, { code: string }> }) => e);
    expect((refused as { fields?: Record<string, { code: string }> }).fields?.includeMemory?.code).toBe('memory_unsupported_by_hypervisor');

    const snap = await fx!.mod.snapshots.create(SERVICE, { name: 'Nightly', description: 'offline' }, CTX);
    const created = await settled(snap.id, 'create');
    expect(created).toMatchObject({ status: 'succeeded', driver_task: `qemu-img:save:${snap.hvName}` });
    const row = await snapshotRow(snap.id);
    expect(row).toMatchObject({ status: 'active', memory_bytes: null });
    for (const disk of disks) expect(imageSnapshots(disk)).toEqual([expect.objectContaining({ name: snap.hvName, 'vm-state-size': 0 })]);

    writeOffline(AFTER);
    expect(rawBytes(disks[0]!, dir.path).equals(expectedImage(AT_SNAPSHOT[0]!))).toBe(false);

    await fx!.mod.snapshots.restore(SERVICE, snap.id, { typedServiceName: SERVICE.name }, CTX);
    expect((await settled(snap.id, 'restore')).status).toBe('succeeded');
    for (const [i, disk] of disks.entries()) expect(rawBytes(disk, dir.path).equals(expectedImage(AT_SNAPSHOT[i]!))).toBe(true);

    await fx!.mod.snapshots.delete(SERVICE, snap.id, { confirm: true }, CTX);
    expect((await settled(snap.id, 'delete')).status).toBe('succeeded');
    for (const disk of disks) expect(imageSnapshots(disk)).toEqual([]);
    expect(await snapshotRow(snap.id)).toBeUndefined();
  });

  /** A running VM whose disks hold AT_SNAPSHOT, and a completed memory snapshot of that. */
  async function runningWithSnapshot(name: string) {
    await setup(true);
    await writeRunning(AT_SNAPSHOT);
    const snap = await fx!.mod.snapshots.create(SERVICE, { name, includeMemory: true }, CTX);
    expect((await settled(snap.id, 'create')).status).toBe('succeeded');
    return snap;
  }

  it('running VM: a restore whose snapshot was deleted behind our back fails clearly and the VM keeps running', async () => {
    const snap = await runningWithSnapshot('gone soon');
    await vm!.hmp(`delvm ${snap.hvName}`);
    expect(await vm!.snapshots('virtio0')).toEqual([]);
    await writeRunning(AFTER);

    await fx!.mod.snapshots.restore(SERVICE, snap.id, { typedServiceName: SERVICE.name }, CTX);
    const op = await settled(snap.id, 'restore');
    expect(op).toMatchObject({ status: 'failed', error_code: 'driver_not_found' });
    expect(op.error_message).toContain('does not exist');
    // The load job stopped the VM before finding out; the driver continued it.
    expect(await vm!.status()).toBe('running');
    expect(await snapshotRow(snap.id)).toMatchObject({ status: 'active', error_code: 'driver_not_found' });
    expect(await vm!.holds('virtio0', 0xbb, 0, 64 * KiB)).toBe(true); // nothing was reverted
  });

  it('running VM: a load that QEMU refuses (disk-only snapshot under our name) fails clearly, the VM keeps running', async () => {
    const snap = await runningWithSnapshot('replaced');
    // Someone swaps it for a disk-only snapshot of the same name: it exists, but cannot be loaded live.
    await vm!.hmp(`delvm ${snap.hvName}`);
    for (const device of ['virtio0', 'virtio1']) await vm!.qmp('blockdev-snapshot-internal-sync', { device, name: snap.hvName });
    await writeRunning(AFTER);

    await fx!.mod.snapshots.restore(SERVICE, snap.id, { typedServiceName: SERVICE.name }, CTX);
    const op = await settled(snap.id, 'restore');
    expect(op).toMatchObject({ status: 'failed', error_code: 'driver_rejected' });
    expect(op.error_message).toMatch(/disk-only/i);
    expect(await vm!.status()).toBe('running');
    expect(await snapshotRow(snap.id)).toMatchObject({ status: 'active', error_code: 'driver_rejected' });
    expect(await vm!.holds('virtio0', 0xbb, 0, 64 * KiB)).toBe(true);
    expect(await vm!.holds('virtio1', 0x22, 900 * KiB, 8 * KiB)).toBe(true);
  });
});
