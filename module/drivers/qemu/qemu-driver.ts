import {
  DriverError, type CloneState, type CreateSnapshotInput, type DriverCapabilities, type DriverTaskRef, type HypervisorSnapshot,
  type HypervisorTarget, type SnapshotDriver, type TaskState,
} from '../contract.js';
import { classifyQemuError } from './classify.js';
import { QemuCloner } from './clone.js';
import { SnapshotMetadata } from './metadata.js';
import { OfflineVm } from './offline-vm.js';
import { qemuDriverOptionsSchema, resolveVm, type ParsedQemuDriverOptions, type QemuDriverOptions, type QemuVm } from './options.js';
import { QemuImg } from './qemu-img.js';
import { QmpClient, QmpCommandError, QmpConnectionError } from './qmp-client.js';
import { concludeJob, isRunning, listSnapshots, startJob } from './qmp-vm.js';
import { toHypervisorSnapshot } from './snapshots.js';
import { decodeTaskRef, encodeTaskRef, type QemuTaskRef } from './task-ref.js';

type JobRef = Extract<QemuTaskRef, { kind: 'job' }>;

/** No QEMU answers on the VM's socket: the VM is stopped and its disks are handled with qemu-img. */
const STOPPED = Symbol('stopped');

/** Outcomes of concluded (and dismissed) jobs, kept for repeated polls; bounded. */
const MAX_REMEMBERED = 1000;

/**
 * Snapshots of local QEMU VMs: running VMs through QMP snapshot jobs (with memory state), stopped
 * VMs through qemu-img on their qcow2 disks. Throws on invalid options.
 */
export function qemuDriver(options: QemuDriverOptions = {}): QemuDriver {
  return new QemuDriver(qemuDriverOptionsSchema.parse(options));
}

export class QemuDriver implements SnapshotDriver {
  readonly name: string;
  readonly simulated = false;
  private readonly img: QemuImg;
  private readonly cloner: QemuCloner;
  private readonly outcomes = new Map<string, TaskState>();
  /** QEMU serves one QMP client at a time: conversations on a socket take turns. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: ParsedQemuDriverOptions) {
    this.name = options.name;
    this.img = new QemuImg({ binary: options.qemuImg, timeoutMs: options.commandTimeoutMs });
    this.cloner = new QemuCloner(this.img, (target) => resolveVm(options, target), options.name);
  }

  /** Memory snapshots need a running QEMU; qcow2 internal snapshots restore to any of them and clone from any. */
  async capabilities(target: HypervisorTarget): Promise<DriverCapabilities> {
    const vm = await resolveVm(this.options, target);
    const running = await this.qmp(vm, async () => true);
    return { memory: running === true, rollbackOnlyLatest: false, clone: true };
  }

  async list(target: HypervisorTarget): Promise<HypervisorSnapshot[]> {
    const vm = await resolveVm(this.options, target);
    const online = await this.qmp(vm, (qmp) => listSnapshots(qmp, vm));
    const meta = new SnapshotMetadata(vm.metadataFile).all();
    return (online === STOPPED ? await new OfflineVm(this.img, vm).list() : online).map((s) => toHypervisorSnapshot(s, meta[s.name] ?? null));
  }

  /**
   * Running VM: a snapshot-save job, which always stores the memory state — QEMU loads nothing else
   * into a running VM — so a snapshot asked for without memory is marked disk-only and its restore
   * resets the guest. Stopped VM: qemu-img, disks only.
   */
  async create(target: HypervisorTarget, input: CreateSnapshotInput): Promise<DriverTaskRef> {
    const vm = await resolveVm(this.options, target);
    const meta = new SnapshotMetadata(vm.metadataFile);
    const remember = () => meta.set(input.name, { description: input.description, diskOnly: !input.includeMemory });
    const ref = await this.qmp(vm, async (qmp) => {
      if ((await listSnapshots(qmp, vm)).some((s) => s.name === input.name)) {
        throw new DriverError('already_exists', `snapshot '${input.name}' already exists`);
      }
      remember();
      return this.jobRef(qmp, vm, { op: 'save', tag: input.name, wasRunning: false, startAfter: false, diskOnly: !input.includeMemory });
    });
    if (ref !== STOPPED) return ref;
    if (input.includeMemory) throw new DriverError('rejected', 'the VM is not running: a memory snapshot needs a running VM');
    const offline = new OfflineVm(this.img, vm);
    await offline.create(input.name, remember);
    return encodeTaskRef({ kind: 'img', op: 'save', tag: input.name });
  }

  async delete(target: HypervisorTarget, name: string): Promise<DriverTaskRef> {
    const vm = await resolveVm(this.options, target);
    const ref = await this.qmp(vm, async (qmp) => {
      if (!(await listSnapshots(qmp, vm)).some((s) => s.name === name)) throw new DriverError('not_found', `snapshot '${name}' does not exist`);
      return this.jobRef(qmp, vm, { op: 'delete', tag: name, wasRunning: false, startAfter: false, diskOnly: false });
    });
    if (ref !== STOPPED) return ref;
    await new OfflineVm(this.img, vm).delete(name);
    new SnapshotMetadata(vm.metadataFile).remove(name);
    return encodeTaskRef({ kind: 'img', op: 'delete', tag: name });
  }

  /**
   * Loads a snapshot. Running VM: a snapshot-load job (QEMU checks the name itself; a failed load
   * stops the VM, and the job's end continues it unless the disks were already reverted, see
   * concludeJob). A disk-only snapshot pauses the VM first, so the
   * restored memory never runs before the reset. Stopped VM: the disks are reverted; the VM is not
   * started, since its process belongs to whoever runs it.
   */
  async restore(target: HypervisorTarget, name: string, options: { startAfter: boolean }): Promise<DriverTaskRef> {
    const vm = await resolveVm(this.options, target);
    const diskOnly = new SnapshotMetadata(vm.metadataFile).get(name)?.diskOnly ?? false;
    const ref = await this.qmp(vm, async (qmp) => {
      const wasRunning = await isRunning(qmp);
      if (diskOnly && wasRunning) await qmp.execute('stop');
      try {
        return await this.jobRef(qmp, vm, { op: 'load', tag: name, wasRunning, startAfter: options.startAfter, diskOnly });
      } catch (err) {
        if (diskOnly && wasRunning) await qmp.execute('cont').catch(() => undefined);
        throw err;
      }
    });
    if (ref !== STOPPED) return ref;
    await new OfflineVm(this.img, vm).apply(name);
    return encodeTaskRef({ kind: 'img', op: 'load', tag: name });
  }

  /**
   * Copies every disk of `source` as it was at snapshot `name` into new standalone qcow2 images at
   * `dest`'s disk paths, in the same order (see clone.ts: temporary files, moved into place at the end).
   */
  async clone(source: HypervisorTarget, name: string, dest: HypervisorTarget): Promise<DriverTaskRef> {
    return this.cloner.start(source, name, dest);
  }

  async cloneState(dest: HypervisorTarget): Promise<CloneState> {
    return this.cloner.state(dest);
  }

  async discardClone(dest: HypervisorTarget): Promise<void> {
    return this.cloner.discard(dest);
  }

  async taskStatus(target: HypervisorTarget, task: DriverTaskRef): Promise<TaskState> {
    const ref = decodeTaskRef(task);
    if (!ref) return { state: 'failed', error: new DriverError('not_found', `not a QEMU task reference: '${task}'`) };
    if (ref.kind === 'img') return { state: 'succeeded' };
    if (ref.kind === 'clone') return this.cloner.status(ref);
    const known = this.outcomes.get(task);
    if (known) return known;
    const vm = await resolveVm(this.options, target);
    let state: TaskState | null = null;
    try {
      const online = await this.qmp(vm, (qmp) => concludeJob(qmp, ref.jobId, ref));
      if (online !== STOPPED) state = online;
    } catch (err) {
      // The VM went away mid-job: judged below like a job QEMU no longer knows.
      if (!(err instanceof DriverError && err.code === 'unreachable')) throw err;
    }
    state ??= await this.withoutJob(target, ref);
    if (state.state === 'succeeded' && ref.op === 'delete') new SnapshotMetadata(vm.metadataFile).remove(ref.tag);
    if (state.state !== 'running') this.remember(task, state);
    return state;
  }

  /**
   * The job is gone (dismissed by someone else, or QEMU exited or restarted): judge the outcome by
   * the snapshot list where it can tell; a restore's cannot be known.
   */
  private async withoutJob(target: HypervisorTarget, ref: JobRef): Promise<TaskState> {
    const lost = new DriverError('unreachable', `QEMU no longer knows job '${ref.jobId}' (${ref.op} '${ref.tag}'); did the VM stop?`);
    if (ref.op === 'load') return { state: 'failed', error: lost };
    const present = (await this.list(target)).some((s) => s.name === ref.tag);
    return present === (ref.op === 'save') ? { state: 'succeeded' } : { state: 'failed', error: lost };
  }

  private async jobRef(qmp: QmpClient, vm: QemuVm, job: Omit<JobRef, 'kind' | 'jobId'>): Promise<string> {
    const jobId = await startJob(qmp, vm, job.op, job.tag);
    return encodeTaskRef({ kind: 'job', jobId, ...job });
  }

  private remember(task: string, state: TaskState): void {
    this.outcomes.set(task, state);
    if (this.outcomes.size > MAX_REMEMBERED) this.outcomes.delete(this.outcomes.keys().next().value!);
  }

  /**
   * Runs one QMP conversation with the VM, or returns STOPPED when nothing listens on its socket.
   * Errors become DriverErrors: QEMU's refusals classified by their text, a broken connection
   * `unreachable`, no answer `timeout`.
   */
  private qmp<T>(vm: QemuVm, fn: (qmp: QmpClient) => Promise<T>): Promise<T | typeof STOPPED> {
    const socket = vm.qmpSocket;
    if (!socket) return Promise.resolve(STOPPED);
    const run = async (): Promise<T | typeof STOPPED> => {
      let qmp: QmpClient;
      try {
        qmp = await QmpClient.connect(socket, { timeoutMs: this.options.commandTimeoutMs });
      } catch (err) {
        if (err instanceof QmpConnectionError && err.reason === 'absent') return STOPPED;
        throw toDriverError(err);
      }
      try {
        return await fn(qmp);
      } catch (err) {
        throw toDriverError(err);
      } finally {
        qmp.close();
      }
    };
    const previous = this.queues.get(socket) ?? Promise.resolve();
    const next = previous.then(run, run);
    const settled = next.catch(() => undefined);
    this.queues.set(socket, settled);
    void settled.then(() => { if (this.queues.get(socket) === settled) this.queues.delete(socket); });
    return next;
  }
}

function toDriverError(err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  if (err instanceof QmpCommandError) {
    if (err.errorClass === 'CommandNotFound') return new DriverError('unsupported_storage', `${err.desc} (snapshot jobs need QEMU 6.0 or newer)`);
    return classifyQemuError(err.desc);
  }
  if (err instanceof QmpConnectionError) {
    const code = err.reason === 'timeout' ? 'timeout' : err.reason === 'denied' ? 'permission' : 'unreachable';
    return new DriverError(code, err.message);
  }
  return new DriverError('rejected', err instanceof Error ? err.message : String(err));
}
