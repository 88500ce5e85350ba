import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DriverError, HypervisorTarget, SnapshotDriver } from '../../module/drivers/contract.js';
import { qemuDriver } from '../../module/drivers/qemu/index.js';
import { waitForTask } from '../drivers/conformance.js';
import {
  AFTER, AT_SNAPSHOT, createDisk, DISK_BYTES, expectedImage, HAS_QEMU, imageSnapshots, KiB, qemuIoOffline, rawBytes, SKIP_NOTE, type TestVm,
} from './qemu-harness.js';
import { useQemuScratch } from './qemu-scratch.js';

const source: HypervisorTarget = { driver: 'qemu', node: 'local', vmId: 'src' };
const dest: HypervisorTarget = { driver: 'qemu', node: 'local', vmId: 'copy' };

describe.skipIf(!HAS_QEMU)(`QEMU clone from a snapshot${SKIP_NOTE}`, () => {
  const scratch = useQemuScratch();
  let dir: { path: string } | undefined;
  let vm: TestVm | undefined;

  /** A two-disk source VM (running or not) and a destination whose disks are not there yet. */
  async function setup(running: boolean, destDisks = ['copy-a.qcow2', 'copy-b.qcow2']) {
    dir = scratch.dir();
    const disks = [createDisk(dir.path, 'a.qcow2'), createDisk(dir.path, 'b.qcow2')];
    vm = running ? await scratch.vm(dir.path, disks) : undefined;
    const copies = destDisks.map((d) => join(dir!.path, d));
    const driver = qemuDriver({
      vms: { 'local/src': { qmpSocket: vm?.socket ?? join(dir.path, 'none.sock'), disks }, 'local/copy': { disks: copies } },
      commandTimeoutMs: 20_000,
    });
    const write = async (regions: typeof AT_SNAPSHOT) => {
      for (const [i, list] of regions.entries()) {
        for (const r of list) {
          if (vm) await vm.write(`virtio${i}`, r.byte, r.offset, r.length);
          else qemuIoOffline(disks[i]!, `write -P 0x${r.byte.toString(16)} ${r.offset} ${r.length}`);
        }
      }
    };
    return { disks, copies, driver, write };
  }
  const done = (driver: SnapshotDriver, ref: string) => waitForTask(driver, source, ref, 60_000, 20);
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as DriverError);
  const cloneFiles = () => readdirSync(dir!.path).filter((f) => f.includes('.clone-'));

  it.each([['running', true], ['stopped', false]] as const)('%s VM: every disk of the copy holds exactly the snapshot-time bytes; the source keeps its snapshot and its data', async (_mode, running) => {
    const { disks, copies, driver, write } = await setup(running);
    expect(await driver.capabilities(source)).toMatchObject({ clone: true });
    await write(AT_SNAPSHOT);
    const create = await driver.create(source, { name: 'golden', description: null, includeMemory: running });
    expect(await done(driver, create)).toEqual({ state: 'succeeded' });
    await write(AFTER);
    expect(await driver.cloneState(dest)).toBe('absent');

    const ref = await driver.clone!(source, 'golden', dest);
    // The guest keeps writing while its snapshot is read.
    if (vm) await vm.write('virtio0', 0xee, 0, 4 * KiB);
    expect(await done(driver, ref)).toEqual({ state: 'succeeded' });

    for (const [i, copy] of copies.entries()) {
      expect(rawBytes(copy, dir!.path).equals(expectedImage(AT_SNAPSHOT[i]!)), `disk ${i}`).toBe(true);
      const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', copy], { encoding: 'utf8' })) as Record<string, unknown>;
      expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': DISK_BYTES });
      expect(info['backing-filename']).toBeUndefined();
      expect(imageSnapshots(copy)).toEqual([]);
    }
    expect(await driver.cloneState(dest)).toBe('complete');
    expect(await driver.list(dest)).toEqual([]);
    expect(cloneFiles()).toEqual([]);
    expect(await driver.taskStatus(source, ref)).toEqual({ state: 'succeeded' }); // final when polled again

    // The source: same snapshot on both disks, current bytes untouched.
    expect((await driver.list(source)).map((s) => s.name)).toEqual(['golden']);
    for (const disk of disks) expect(imageSnapshots(disk).map((s) => s.name)).toEqual(['golden']);
    if (vm) {
      expect(await vm.holds('virtio0', 0xee, 0, 4 * KiB)).toBe(true);
      expect(await vm.holds('virtio1', 0x22, 900 * KiB, 8 * KiB)).toBe(true);
      await vm.stop();
    }
    const now = [expectedImage([...AT_SNAPSHOT[0]!, ...AFTER[0]!, ...(running ? [{ offset: 0, length: 4 * KiB, byte: 0xee }] : [])]),
      expectedImage([...AT_SNAPSHOT[1]!, ...AFTER[1]!])];
    for (const [i, disk] of disks.entries()) expect(rawBytes(disk, dir!.path).equals(now[i]!), `source disk ${i}`).toBe(true);

    // A finished clone is never discarded, and a second clone over it is refused.
    await driver.discardClone!(dest);
    expect(await driver.cloneState(dest)).toBe('complete');
    expect(await failure(driver.clone!(source, 'golden', dest))).toMatchObject({ code: 'already_exists' });
    expect(rawBytes(copies[0]!, dir!.path).equals(expectedImage(AT_SNAPSHOT[0]!))).toBe(true);
  });

  it('refuses a missing snapshot, a snapshot on only some disks, a destination of another disk count, and writes nothing', async () => {
    const { disks, driver } = await setup(false);
    await done(driver, await driver.create(source, { name: 'both', description: null, includeMemory: false }));
    expect(await failure(driver.clone!(source, 'never', dest))).toMatchObject({ code: 'not_found' });
    execFileSync('qemu-img', ['snapshot', '-d', 'both', disks[1]!]);
    expect(await failure(driver.clone!(source, 'both', dest))).toMatchObject({ code: 'not_found', detail: expect.stringContaining('b.qcow2') });
    expect(await driver.cloneState(dest)).toBe('absent');
    expect(cloneFiles()).toEqual([]);

    const single = qemuDriver({ vms: { 'local/src': { disks }, 'local/copy': { disks: [join(dir!.path, 'one.qcow2')] } } });
    expect(await failure(single.clone!(source, 'both', dest))).toMatchObject({ code: 'rejected', detail: expect.stringContaining('disk') });
    expect(readdirSync(dir!.path).sort()).toEqual(['a.qcow2', 'a.qcow2.snapshots.json', 'b.qcow2']);
  });

  it('refuses a destination where one disk already exists, and never discards a disk no clone wrote', async () => {
    const { copies, driver } = await setup(false);
    await done(driver, await driver.create(source, { name: 's', description: null, includeMemory: false }));
    writeFileSync(copies[1]!, 'somebody else\'s disk');
    expect(await failure(driver.clone!(source, 's', dest))).toMatchObject({ code: 'already_exists', detail: expect.stringContaining('copy-b.qcow2') });
    expect(await driver.cloneState(dest)).toBe('partial');
    expect(await failure(driver.discardClone!(dest))).toMatchObject({ code: 'rejected' });
    expect(readFileSync(copies[1]!, 'utf8')).toBe('somebody else\'s disk');
    expect(cloneFiles()).toEqual([]);
  });

  it('a snapshot deleted while it is copied fails the clone and leaves nothing at the destination', async () => {
    const { disks, driver } = await setup(false);
    await done(driver, await driver.create(source, { name: 'brief', description: null, includeMemory: false }));
    const ref = await driver.clone!(source, 'brief', dest);
    // The first disk's copy is under way (and this synchronous call holds back the driver's next step):
    // whether its read fails or the check after the copy finds the snapshot gone, nothing may remain.
    execFileSync('qemu-img', ['snapshot', '-d', 'brief', disks[0]!]);
    const state = await done(driver, ref);
    expect(state).toMatchObject({ state: 'failed', error: { code: 'not_found' } });
    expect(await driver.cloneState(dest)).toBe('absent');
    expect(cloneFiles()).toEqual([]);
  });
});
