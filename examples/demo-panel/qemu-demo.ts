import { qemuDriver, type SnapshotDriver } from '../../module/index.js';

/**
 * Optional: put the demo's web-01 (VM 101) on a real local QEMU VM instead of the simulated one.
 *
 *   DEMO_QEMU_DISKS=/vm/web01.qcow2[,/vm/data.qcow2]   qcow2 images as given to -drive file=
 *   DEMO_QEMU_QMP=/run/web01.qmp                       its QMP socket (-qmp unix:PATH,server=on,wait=off);
 *                                                      omit, or leave QEMU stopped, for qemu-img mode
 */
const DISKS = (process.env.DEMO_QEMU_DISKS ?? '').split(',').map((d) => d.trim()).filter(Boolean);
const QEMU_VM_ID = '101';

/** The driver a demo VM uses. */
export function demoDriverFor(vmId: string): string {
  return DISKS.length && vmId === QEMU_VM_ID ? 'qemu' : 'simulated';
}

/** `{ qemu }` when DEMO_QEMU_DISKS is set, otherwise nothing. */
export function demoQemuDrivers(): Record<string, SnapshotDriver> {
  if (!DISKS.length) return {};
  return { qemu: qemuDriver({ vms: { [QEMU_VM_ID]: { qmpSocket: process.env.DEMO_QEMU_QMP || undefined, disks: DISKS } } }) };
}
