import { randomInt } from 'node:crypto';
import {
  DriverError, type CloneState, type CreateSnapshotInput, type DriverCapabilities, type DriverTaskRef,
  type HypervisorSnapshot, type HypervisorTarget, type SnapshotDriver, type TaskState,
} from '../contract.js';
import { discardGuest, guestOrigin, guestState, recordGuest, settleClone, type SimOrigin } from './sim-clones.js';
import {
  FAILURE_TEXT, unfinished, vmKey, type InjectedFailure, type Operation, type SimSnapshot, type SimState, type SimTask,
} from './sim-state.js';
import { JsonStateFile } from './state-file.js';

export interface SimulatedDriverOptions {
  /** JSON file that keeps the simulated hypervisor across restarts; omit for memory only. */
  stateFile?: string;
  /** How long tasks take, in milliseconds: [min, max]. Memory snapshots take twice as long. */
  delayMs?: Partial<Record<Operation, [number, number]>>;
  /** Probability (0–1) that any task fails with `rejected`, for demos of failure paths. */
  failureRate?: number;
  memory?: boolean;
  rollbackOnlyLatest?: boolean;
  /** Whether new guests can be cloned from snapshots (default true); false simulates a driver that cannot. */
  clone?: boolean;
  /** Memory size of every simulated VM, reported as the memory-state size. */
  vmMemoryBytes?: number;
  now?: () => number;
}

/**
 * A hypervisor that lives in a JSON file: tasks take realistic time, VMs lock while a task runs,
 * failures can be injected, and everything survives a restart. For the demo and UI tests only —
 * `simulated: true` makes the UI label it.
 */
export function simulatedDriver(options: SimulatedDriverOptions = {}): SimulatedDriver {
  return new SimulatedDriver(options);
}

export class SimulatedDriver implements SnapshotDriver {
  readonly name = 'simulated';
  readonly simulated = true;
  private readonly store: JsonStateFile<SimState>;
  private readonly now: () => number;

  constructor(private readonly options: SimulatedDriverOptions) {
    this.store = new JsonStateFile<SimState>(options.stateFile ?? null, () => ({ seq: 0, vms: {}, tasks: {}, failures: [] }));
    this.now = options.now ?? Date.now;
  }

  async capabilities(): Promise<DriverCapabilities> {
    return { memory: this.options.memory ?? true, rollbackOnlyLatest: this.options.rollbackOnlyLatest ?? false, clone: this.options.clone ?? true };
  }

  async list(target: HypervisorTarget): Promise<HypervisorSnapshot[]> {
    return this.settled((s) => (s.vms[vmKey(target)] ?? []).map((snap) => ({
      name: snap.name,
      description: snap.description,
      createdAt: new Date(snap.createdAt),
      withMemory: snap.withMemory,
      diskBytes: snap.diskBytes,
      memoryBytes: snap.memoryBytes,
    })));
  }

  async create(target: HypervisorTarget, input: CreateSnapshotInput): Promise<DriverTaskRef> {
    return this.settled((s) => {
      if (input.includeMemory && this.options.memory === false) {
        throw new DriverError('unsupported_storage', 'memory snapshots are not supported');
      }
      if ((s.vms[vmKey(target)] ?? []).some((x) => x.name === input.name)) {
        throw new DriverError('already_exists', `snapshot name '${input.name}' already used`);
      }
      const memoryBytes = input.includeMemory ? (this.options.vmMemoryBytes ?? 2 * 1024 ** 3) : null;
      const snapshot: SimSnapshot = {
        name: input.name,
        description: input.description,
        createdAt: this.now(),
        withMemory: input.includeMemory,
        diskBytes: randomInt(200, 2000) * 1024 ** 2,
        memoryBytes,
      };
      return this.startTask(s, target, 'create', snapshot, input.includeMemory ? 2 : 1);
    });
  }

  async delete(target: HypervisorTarget, name: string): Promise<DriverTaskRef> {
    return this.settled((s) => this.startTask(s, target, 'delete', this.find(s, target, name), 1));
  }

  async restore(target: HypervisorTarget, name: string): Promise<DriverTaskRef> {
    return this.settled((s) => {
      const snapshot = this.find(s, target, name);
      if (this.options.rollbackOnlyLatest) {
        const newest = [...(s.vms[vmKey(target)] ?? [])].sort((a, b) => b.createdAt - a.createdAt)[0];
        if (newest && newest.name !== name) throw new DriverError('rejected', "can't rollback, more recent snapshots exist");
      }
      return this.startTask(s, target, 'restore', snapshot, snapshot.withMemory ? 2 : 1);
    });
  }

  /**
   * Starts a clone of snapshot `name` of `source` to a new guest `dest`, which shows as `partial`
   * while the task runs (the source is locked, as for its other tasks), `complete` once it
   * succeeded, and is gone again when it failed.
   */
  async clone(source: HypervisorTarget, name: string, dest: HypervisorTarget): Promise<DriverTaskRef> {
    return this.settled((s) => {
      if (this.options.clone === false) throw new DriverError('unsupported_storage', 'cloning is not supported');
      const snapshot = this.find(s, source, name);
      const to = vmKey(dest);
      if (s.guests?.[to] || s.vms[to]?.length) throw new DriverError('already_exists', `guest ${to} already exists`);
      return this.startTask(s, source, 'clone', snapshot, 1, to);
    });
  }

  async cloneState(dest: HypervisorTarget): Promise<CloneState> {
    return this.settled((s) => guestState(s, vmKey(dest)));
  }

  /** Forgets an unfinished clone's guest; its task, if it still runs (or hangs), ends failed. */
  async discardClone(dest: HypervisorTarget): Promise<void> {
    this.settled((s) => discardGuest(s, vmKey(dest)));
  }

  /** Where a guest a finished clone made came from (the demo's "disk from snapshot X"); null for any other. */
  async origin(target: HypervisorTarget): Promise<SimOrigin | null> {
    return this.settled((s) => guestOrigin(s, vmKey(target)));
  }

  async taskStatus(_target: HypervisorTarget, task: DriverTaskRef): Promise<TaskState> {
    return this.settled((s) => {
      const t = s.tasks[task];
      if (!t) return { state: 'failed', error: new DriverError('not_found', `no such task '${task}'`) };
      if (!t.done) return { state: 'running' };
      return t.failure ? { state: 'failed', error: new DriverError(t.failure.code, t.failure.detail) } : { state: 'succeeded' };
    });
  }

  /** Makes the next `times` tasks of `operation` (optionally on one VM) fail with `code`, or hang. */
  injectFailure(failure: Omit<InjectedFailure, 'times'> & { times?: number }): void {
    this.store.reload();
    this.store.update((s) => s.failures.push({ times: 1, ...failure }));
  }

  private settled<R>(fn: (s: SimState) => R): R {
    this.store.reload();
    return this.store.update((s) => {
      const now = this.now();
      // Only the unfinished tasks: scanning a day's history on every call made a busy simulator
      // quadratic (10,000 snapshots: tens of milliseconds per call).
      s.running = unfinished(s).filter((id) => {
        const t = s.tasks[id]!;
        if (t.endsAt === null || t.endsAt > now) return true;
        this.finish(s, t);
        return false;
      });
      return fn(s);
    });
  }

  private finish(s: SimState, t: SimTask): void {
    t.done = true;
    if (t.dest) return settleClone(s, t);
    if (t.failure) return;
    const snaps = (s.vms[t.vm] ??= []);
    if (t.operation === 'create') snaps.push(t.snapshot);
    if (t.operation === 'delete') s.vms[t.vm] = snaps.filter((x) => x.name !== t.snapshot.name);
  }

  private find(s: SimState, target: HypervisorTarget, name: string): SimSnapshot {
    const snap = (s.vms[vmKey(target)] ?? []).find((x) => x.name === name);
    if (!snap) throw new DriverError('not_found', `snapshot '${name}' does not exist`);
    return snap;
  }

  private startTask(s: SimState, target: HypervisorTarget, operation: Operation, snapshot: SimSnapshot, factor: number, dest?: string): string {
    const vm = vmKey(target);
    const now = this.now();
    // A guest being cloned is as busy as the one it is cloned from.
    const busy = unfinished(s).some((id) => s.tasks[id]!.vm === vm || s.tasks[id]!.dest === vm);
    const injected = s.failures.find((f) => f.operation === operation && (!f.vmId || f.vmId === target.vmId) && f.times > 0);
    if (injected) injected.times -= 1;
    s.failures = s.failures.filter((f) => f.times > 0);
    let failure: SimTask['failure'] = null;
    if (busy) failure = { code: 'locked', detail: FAILURE_TEXT.locked };
    else if (injected && !injected.hang) failure = { code: injected.code, detail: FAILURE_TEXT[injected.code] };
    else if (this.options.failureRate && Math.random() < this.options.failureRate) failure = { code: 'rejected', detail: FAILURE_TEXT.rejected };
    const [min, max] = this.options.delayMs?.[operation] ?? [0, 0];
    const duration = (max > min ? randomInt(min, max + 1) : min) * factor;
    s.seq += 1;
    const id = `SIM:${target.node}:${String(s.seq).padStart(8, '0')}:${operation}:${target.vmId}`;
    s.tasks[id] = {
      id, vm, operation, snapshot, ...(dest ? { dest } : {}), startedAt: now, endsAt: injected?.hang ? null : now + duration, failure, done: false,
    };
    if (dest) recordGuest(s, dest, target, snapshot, id);
    // Finished tasks of over a day ago are history nobody polls any more: forgotten to keep the file
    // small, looked for every 100th task (a scan of all of them on every task made a busy simulator slow).
    if (s.seq % 100 === 0) {
      for (const t of Object.values(s.tasks)) if (t.done && now - t.startedAt > 24 * 3600_000) delete s.tasks[t.id];
    }
    if (duration === 0 && !injected?.hang) this.finish(s, s.tasks[id]!);
    else unfinished(s).push(id);
    return id;
  }
}
