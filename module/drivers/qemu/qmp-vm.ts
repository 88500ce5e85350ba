import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { DriverError, type TaskState } from '../contract.js';
import { classifyLoadFailure, classifyQemuError } from './classify.js';
import type { QemuVm } from './options.js';
import type { QmpClient } from './qmp-client.js';
import type { QemuSnapshotInfo } from './snapshots.js';
import type { QemuOp } from './task-ref.js';

interface BlockInfo {
  device: string;
  inserted?: { file: string; 'node-name': string; image?: { filename: string; snapshots?: QemuSnapshotInfo[] } };
}

interface JobInfo {
  id: string;
  type: string;
  status: string;
  error?: string;
}

const COMMAND: Record<QemuOp, string> = { save: 'snapshot-save', load: 'snapshot-load', delete: 'snapshot-delete' };

/** The configured disks as QEMU's block nodes (what snapshot jobs name), with their snapshots. */
export async function blockNodes(qmp: QmpClient, vm: QemuVm): Promise<Map<string, { node: string; snapshots: QemuSnapshotInfo[] }>> {
  const blocks = await qmp.execute<BlockInfo[]>('query-block');
  const out = new Map<string, { node: string; snapshots: QemuSnapshotInfo[] }>();
  for (const disk of vm.disks) {
    const hit = blocks.find((b) => b.inserted && samePath(b.inserted.file, disk));
    if (!hit?.inserted) throw new DriverError('rejected', `disk ${disk} is not attached to the running VM (query-block)`);
    out.set(disk, { node: hit.inserted['node-name'], snapshots: hit.inserted.image?.snapshots ?? [] });
  }
  return out;
}

/** Snapshots as the memory-state disk lists them (every snapshot-save covers all configured disks). */
export async function listSnapshots(qmp: QmpClient, vm: QemuVm): Promise<QemuSnapshotInfo[]> {
  return (await blockNodes(qmp, vm)).get(vm.vmstateDisk)!.snapshots;
}

/** Whether the VM's CPUs run (not paused, not in prelaunch). */
export async function isRunning(qmp: QmpClient): Promise<boolean> {
  return (await qmp.execute<{ running: boolean }>('query-status')).running;
}

/**
 * Starts a snapshot job after checking no other job is under way (QEMU would queue it behind the
 * other one; we report `locked` and let the operation retry instead). Returns the job id.
 */
export async function startJob(qmp: QmpClient, vm: QemuVm, op: QemuOp, tag: string): Promise<string> {
  const busy = (await qmp.execute<JobInfo[]>('query-jobs')).find((j) => j.status !== 'concluded' && j.status !== 'null');
  if (busy) throw new DriverError('locked', `QEMU job '${busy.id}' (${busy.type}) is ${busy.status}`);
  const nodes = await blockNodes(qmp, vm);
  const devices = vm.disks.map((d) => nodes.get(d)!.node);
  const jobId = `snap-${op}-${randomBytes(6).toString('hex')}`;
  const args: Record<string, unknown> = { 'job-id': jobId, tag, devices };
  if (op !== 'delete') args.vmstate = nodes.get(vm.vmstateDisk)!.node;
  await qmp.execute(COMMAND[op], args);
  return jobId;
}

/**
 * The job's state; once concluded, its outcome is read and the job dismissed (QEMU keeps concluded
 * jobs until then). A failed load leaves the VM stopped: a VM that ran is continued only when QEMU
 * refused before touching a disk; otherwise it stays stopped (`restore_incomplete`), because its
 * disks are reverted under a partly loaded memory. A successful disk-only load resets the guest (it
 * boots from the restored disks, its memory discarded); with start-after a paused VM is continued.
 * Null: QEMU does not know the job.
 */
export async function concludeJob(qmp: QmpClient, jobId: string, after: { op: QemuOp; wasRunning: boolean; startAfter: boolean; diskOnly: boolean }): Promise<TaskState | null> {
  const job = (await qmp.execute<JobInfo[]>('query-jobs')).find((j) => j.id === jobId);
  if (!job) return null;
  if (job.status !== 'concluded') return { state: 'running' };
  await qmp.execute('job-dismiss', { id: jobId });
  if (after.op !== 'load') return job.error ? { state: 'failed', error: classifyQemuError(job.error) } : { state: 'succeeded' };
  const error = job.error === undefined ? null : classifyLoadFailure(job.error);
  if (!error && after.diskOnly) await qmp.execute('system_reset');
  const resume = error ? after.wasRunning && error.code !== 'restore_incomplete' : after.startAfter;
  if (resume && !(await isRunning(qmp))) await qmp.execute('cont');
  return error ? { state: 'failed', error } : { state: 'succeeded' };
}

function samePath(a: string, b: string): boolean {
  return a === b || resolve(a) === resolve(b);
}
