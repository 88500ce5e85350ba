import { join } from 'node:path';
import { qemuDriver } from '../../module/drivers/qemu/index.js';
import { describeDriverConformance } from '../drivers/conformance.js';
import { createDisk, HAS_QEMU, SKIP_NOTE, tempDir, TestVm } from './qemu-harness.js';

const target = { driver: 'qemu', node: 'local', vmId: 'conf' };
/** The clone test's new guest: two disks that do not exist yet, in the suite's directory. */
const cloneDisks = (dir: string) => ({ disks: [join(dir, 'clone-a.qcow2'), join(dir, 'clone-b.qcow2')] });

describeDriverConformance(`QEMU, running VM (QMP jobs)${SKIP_NOTE}`, async () => {
  const dir = tempDir();
  const disks = [createDisk(dir.path, 'a.qcow2'), createDisk(dir.path, 'b.qcow2')];
  const vm = await TestVm.start(dir.path, disks);
  return {
    driver: qemuDriver({ vms: { 'local/conf': { qmpSocket: vm.socket, disks }, 'local/conf-clone': cloneDisks(dir.path) }, commandTimeoutMs: 30_000 }),
    target,
    cloneDest: { ...target, vmId: 'conf-clone' },
    pollIntervalMs: 20,
    taskTimeoutMs: 60_000,
    async cleanup() {
      await vm.stop();
      dir.cleanup();
    },
  };
}, { skip: !HAS_QEMU });

describeDriverConformance(`QEMU, stopped VM (qemu-img)${SKIP_NOTE}`, async () => {
  const dir = tempDir();
  const disks = [createDisk(dir.path, 'a.qcow2'), createDisk(dir.path, 'b.qcow2')];
  return {
    // The socket is configured but nothing listens: the VM counts as stopped.
    driver: qemuDriver({ vms: { conf: { qmpSocket: join(dir.path, 'qmp.sock'), disks }, 'conf-clone': cloneDisks(dir.path) }, commandTimeoutMs: 30_000 }),
    target,
    cloneDest: { ...target, vmId: 'conf-clone' },
    pollIntervalMs: 20,
    async cleanup() {
      dir.cleanup();
    },
  };
}, { skip: !HAS_QEMU });
