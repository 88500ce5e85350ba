import { existsSync } from 'node:fs';
import type { Knex } from 'knex';
import { join } from 'node:path';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { qemuDriver } from '../../module/drivers/qemu/index.js';
import { DATABASES } from '../helpers/databases.js';
import { appFor } from '../helpers/http-app.js';
import { makeService, type moduleFixture } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';
import { AFTER, AT_SNAPSHOT, createDisk, expectedImage, HAS_QEMU, imageSnapshots, rawBytes, SKIP_NOTE, type TestVm } from './qemu-harness.js';
import { useQemuScratch } from './qemu-scratch.js';

const CTX = { actor: { type: 'customer' as const, id: 'alice' } };
// The fixture registers its driver as 'simulated'; here it is the real QEMU driver.
const SOURCE = makeService({ target: { driver: 'simulated', node: 'local', vmId: 'vm1' } });
const NEW = makeService({ id: 'svc-new', name: 'web-02', target: { driver: 'simulated', node: 'local', vmId: 'vm2' } });

/**
 * A new server from a snapshot through the module on real QEMU: the customer's order, the panel's
 * provisioning, the clone operation; the new VM's two disks hold exactly the bytes of snapshot time,
 * though the running source VM wrote over them afterwards.
 */
describe.skipIf(!HAS_QEMU).each(DATABASES)(`new server from a QEMU snapshot through the module ($kind)${SKIP_NOTE}`, (kind) => {
  const scratch = useQemuScratch();
  let handle: { db: Knex } | undefined;
  let fx: Awaited<ReturnType<typeof moduleFixture>> | undefined;
  let vm: TestVm | undefined;
  let dir: { path: string };

  it('the new VM\'s disks are the snapshot\'s bytes; the source keeps its snapshot and its newer data', { timeout: 120_000 }, async () => {
    dir = scratch.dir();
    const disks = [createDisk(dir.path, 'a.qcow2'), createDisk(dir.path, 'b.qcow2')];
    const newDisks = [join(dir.path, 'new-a.qcow2'), join(dir.path, 'new-b.qcow2')];
    vm = await scratch.vm(dir.path, disks);
    handle = await scratch.database(kind);
    const driver = qemuDriver({ vms: { 'local/vm1': { qmpSocket: vm.socket, disks }, 'local/vm2': { disks: newDisks } }, commandTimeoutMs: 60_000 });
    const references: string[] = [];
    fx = await scratch.module(handle.db, {
      services: [SOURCE, NEW], driver,
      panel: { orderServerFromSnapshot: (r) => { references.push(r.reference); return { continueUrl: '/order' }; } },
    });
    await fx.mod.start();
    for (const [i, list] of AT_SNAPSHOT.entries()) for (const r of list) await vm.write(`virtio${i}`, r.byte, r.offset, r.length);
    const snap = await fx.mod.snapshots.create(SOURCE, { name: 'golden' }, CTX);
    await waitFor(async () => (await handle!.db('snapshot_snapshots').where({ id: snap.id }).first())?.status === 'active', 60_000, 'snapshot active', 50);
    for (const [i, list] of AFTER.entries()) for (const r of list) await vm.write(`virtio${i}`, r.byte, r.offset, r.length);

    await supertest(appFor(fx.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${snap.id}/new-server`).set('x-test-actor', 'alice').send({}).expect(200);
    expect(await fx.mod.hooks.provisionedFromSnapshot(NEW.id, references[0]!)).toMatchObject({ status: 'queued' });
    const row = await waitFor(async () => {
      const r = await handle!.db('snapshot_clones').where({ new_service_id: NEW.id }).first();
      return r && ['succeeded', 'failed'].includes(r.status) ? r : null;
    }, 90_000, 'clone ended', 100);
    expect(row).toMatchObject({ status: 'succeeded', error_code: null });
    for (const [i, disk] of newDisks.entries()) {
      expect(existsSync(disk)).toBe(true);
      expect(rawBytes(disk, dir.path).equals(expectedImage(AT_SNAPSHOT[i]!)), `new disk ${i}`).toBe(true);
      expect(imageSnapshots(disk)).toEqual([]);
    }
    // The source VM still runs with what it wrote since, and keeps the snapshot.
    expect(await vm.holds('virtio0', 0xbb, 0, 64 * 1024)).toBe(true);
    expect(imageSnapshots(disks[0]!).map((s) => s.name)).toEqual([snap.hvName]);
    expect(await handle.db('snapshot_snapshots').where({ id: snap.id }).first()).toMatchObject({ status: 'active' });
  });
});
