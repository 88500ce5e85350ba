import { execFileSync, fork, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverError, HypervisorTarget, SnapshotDriver } from '../../module/drivers/contract.js';
import { partPath, writeJournal, type CloneJournal } from '../../module/drivers/qemu/clone-files.js';
import { qemuDriver } from '../../module/drivers/qemu/index.js';
import { identify } from '../../module/drivers/qemu/process-identity.js';
import { encodeTaskRef } from '../../module/drivers/qemu/task-ref.js';
import { waitForTask } from '../drivers/conformance.js';
import { waitFor } from '../helpers/wait-for.js';
import { createDisk, expectedImage, HAS_QEMU, KiB, qemuIoOffline, rawBytes, SKIP_NOTE, tempDir } from './qemu-harness.js';

const WORKER = fileURLToPath(new URL('./clone-worker.ts', import.meta.url));
const source: HypervisorTarget = { driver: 'qemu', node: 'local', vmId: 'src' };
const dest: HypervisorTarget = { driver: 'qemu', node: 'local', vmId: 'copy' };

/** Whether a process with this pid exists (kill 0 sends nothing). */
const exists = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Clones interrupted or raced: a dead panel process, a second driver instance, a snapshot replaced mid-copy. */
describe.skipIf(!HAS_QEMU)(`QEMU clone across restarts and crashes${SKIP_NOTE}`, () => {
  let dir: ReturnType<typeof tempDir> | undefined;
  const children: number[] = [];
  afterEach(() => {
    for (const pid of children.splice(0)) if (exists(pid)) process.kill(pid, 'SIGKILL');
    dir?.cleanup();
    dir = undefined;
  });

  /**
   * A stopped two-disk source with snapshot 's' over a known pattern, a destination, and a qemu-img
   * that waits `seconds` before any convert whose arguments contain `match` (in small sleeps, so a
   * killed wrapper leaves no long sleep behind).
   */
  function setup(seconds: number, match: string) {
    dir = tempDir();
    const disks = [createDisk(dir.path, 'a.qcow2'), createDisk(dir.path, 'b.qcow2')];
    qemuIoOffline(disks[0]!, 'write -P 0x5a 0 64k');
    qemuIoOffline(disks[1]!, 'write -P 0x6b 64k 64k');
    for (const d of disks) execFileSync('qemu-img', ['snapshot', '-c', 's', d]);
    qemuIoOffline(disks[0]!, 'write -P 0x01 0 64k');
    const wrapper = join(dir.path, 'slow-qemu-img');
    writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do case "$a" in *${match}*) i=0; while [ $i -lt ${seconds * 10} ]; do sleep 0.1; i=$((i+1)); done;; esac; done\nexec qemu-img "$@"\n`);
    chmodSync(wrapper, 0o755);
    const copies = [join(dir.path, 'copy-a.qcow2'), join(dir.path, 'copy-b.qcow2')];
    const vms = { 'local/src': { disks }, 'local/copy': { disks: copies } };
    return { disks, copies, vms, wrapper, driver: qemuDriver({ vms }) };
  }
  const done = (driver: SnapshotDriver, ref: string) => waitForTask(driver, source, ref, 60_000, 20);
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as DriverError);
  const cloneFiles = () => readdirSync(dir!.path).filter((f) => f.includes('.clone-'));
  const journal = () => {
    const file = cloneFiles().find((f) => f.endsWith('.json'));
    return file ? JSON.parse(readFileSync(join(dir!.path, file), 'utf8')) as CloneJournal : null;
  };
  const matches = (copies: string[]) => copies.every((c, i) =>
    rawBytes(c, dir!.path).equals(expectedImage([i === 0 ? { offset: 0, length: 64 * KiB, byte: 0x5a } : { offset: 64 * KiB, length: 64 * KiB, byte: 0x6b }])));

  it('a clone whose panel process died ends failed, never running; its leftovers are partial until discarded, which stops its qemu-img', async () => {
    const { copies, vms, wrapper, driver } = setup(60, '.part');
    const worker = fork(WORKER, [JSON.stringify({ options: { vms, qemuImg: wrapper }, source, dest, name: 's' })],
      { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(worker.pid!);
    const ref = await new Promise<string>((resolve, reject) => {
      worker.once('message', (m) => resolve(String(m)));
      worker.once('exit', (code) => reject(new Error(`clone worker exited (${code})`)));
    });
    const copier = (await waitFor(() => journal()?.copier, 20_000, 'the copier in the journal')).pid;
    children.push(copier);
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(exists(copier)).toBe(true); // left behind, still "copying"

    const state = await driver.taskStatus(source, ref);
    expect(state).toMatchObject({ state: 'failed', error: { code: 'rejected', detail: expect.stringContaining('is gone') } });
    expect(await driver.taskStatus(source, ref)).toEqual(state);
    expect(await qemuDriver({ vms }).taskStatus(source, ref)).toMatchObject({ state: 'failed' }); // another restart: same answer
    expect(await driver.cloneState(dest)).toBe('partial');
    expect(await failure(driver.clone!(source, 's', dest))).toMatchObject({ code: 'already_exists', detail: expect.stringContaining('discardClone') });

    await driver.discardClone!(dest);
    await waitFor(() => !exists(copier), 5_000, 'the orphaned copier to end');
    expect(cloneFiles()).toEqual([]);
    expect(await driver.cloneState(dest)).toBe('absent');
    expect(await done(driver, await driver.clone!(source, 's', dest))).toEqual({ state: 'succeeded' });
    expect(matches(copies)).toBe(true);
  });

  it('a crash between moving the first disk into place and the second removes both on discard', async () => {
    const { copies, vms, driver } = setup(0, 'none');
    const dead = spawnSync('true').pid; // a process that has exited: its identity names nobody alive
    const token = 'abcdef012345';
    writeJournal({ token, owner: { ...identify(), pid: dead, start: 'gone' }, copier: null, source, snapshot: 's', disks: copies });
    copyFileSync(vms['local/src'].disks[0]!, copies[0]!);
    copyFileSync(vms['local/src'].disks[1]!, partPath(copies[1]!, token));
    const ref = encodeTaskRef({ kind: 'clone', token, tag: 's', dest: { node: 'local', vmId: 'copy' } });
    expect(await driver.taskStatus(source, ref)).toMatchObject({ state: 'failed', error: { code: 'rejected' } });
    expect(await driver.cloneState(dest)).toBe('partial');
    await driver.discardClone!(dest);
    expect(existsSync(copies[0]!)).toBe(false);
    expect(cloneFiles()).toEqual([]);
    expect(await driver.cloneState(dest)).toBe('absent');
  });

  it('a second driver instance in the same process sees a running clone as running and cannot discard it', async () => {
    const { copies, vms, wrapper } = setup(1, '.part');
    const first = qemuDriver({ vms, qemuImg: wrapper });
    const ref = await first.clone!(source, 's', dest);
    const restarted = qemuDriver({ vms });
    expect(await restarted.taskStatus(source, ref)).toEqual({ state: 'running' });
    expect(await restarted.cloneState(dest)).toBe('partial');
    expect(await failure(restarted.discardClone!(dest))).toMatchObject({ code: 'locked' });
    expect(await failure(restarted.clone!(source, 's', dest))).toMatchObject({ code: 'locked' });
    expect(await done(restarted, ref)).toEqual({ state: 'succeeded' });
    expect(await restarted.cloneState(dest)).toBe('complete');
    expect(matches(copies)).toBe(true);
  });

  it('a snapshot deleted and made again under its name while the copy runs fails the clone and leaves nothing', async () => {
    const { disks, wrapper, vms } = setup(2, 'copy-b');
    const driver = qemuDriver({ vms, qemuImg: wrapper });
    const ref = await driver.clone!(source, 's', dest);
    // The first disk is copied; the second waits in the wrapper.
    const copyingB = () => {
      const pid = journal()?.copier?.pid;
      return pid !== undefined && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('copy-b');
    };
    await waitFor(copyingB, 20_000, 'the first disk copied');
    execFileSync('qemu-img', ['snapshot', '-d', 's', disks[0]!]);
    execFileSync('qemu-img', ['snapshot', '-c', 's', disks[0]!]);
    expect(await done(driver, ref)).toMatchObject({ state: 'failed', error: { code: 'rejected', detail: expect.stringContaining('replaced') } });
    expect(cloneFiles()).toEqual([]);
    expect(await driver.cloneState(dest)).toBe('absent');
  });
});
