import { randomInt } from 'node:crypto';
import {
  DriverError, type CreateSnapshotInput, type DriverCapabilities, type DriverErrorCode, type DriverTaskRef,
  type HypervisorSnapshot, type HypervisorTarget, type SnapshotDriver, type TaskState,
} from '../contract.js';
import { JsonStateFile } from './state-file.js';

type Operation = 'create' | 'delete' | 'restore';

interface SimSnapshot {
  name: string;
  description: string | null;
  createdAt: number;
  withMemory: boolean;
  diskBytes: number;
  memoryBytes: number | null;
}

interface SimTask {
  id: string;
  vm: string;
  operation: Operation;
  snapshot: SimSnapshot;
  startedAt: number;
  endsAt: number | null; // null: hangs until an admin looks
  failure: { code: DriverErrorCode; detail: string } | null;
  done: boolean;
}

interface InjectedFailure {
  operation: Operation;
  code: DriverErrorCode;
  vmId?: string;
  times: number;
  hang?: boolean;
}

interface SimState {
  seq: number;
  vms: Record<string, SimSnapshot[]>;
  /** Every task of about the last day (kept for taskStatus). */
  tasks: Record<string, SimTask>;
  /** Ids of the tasks not done yet: what each call has to look at (absent in files from before it). */
  running?: string[];
  failures: InjectedFailure[];
}

export interface SimulatedDriverOptions {
  /** JSON file that keeps the simulated hypervisor across restarts; omit for memory only. */
  stateFile?: string;
  /** How long tasks take, in milliseconds: [min, max]. Memory snapshots take twice as long. */
  delayMs?: Partial<Record<Operation, [number, number]>>;
  /** Probability (0–1) that any task fails with `rejected`, for demos of failure paths. */
  failureRate?: number;
  memory?: boolean;
  rollbackOnlyLatest?: boolean;
  /** Memory size of every simulated VM, reported as the memory-state size. */
  vmMemoryBytes?: number;
  now?: () => number;
}

const FAILURE_TEXT: Record<DriverErrorCode, string> = {
  locked: "VM is locked (snapshot)",
  not_found: 'snapshot does not exist',
  already_exists: 'snapshot name already used',
  unsupported_storage: 'snapshot feature is not available',
  unreachable: 'no route to host',
  timeout: 'got timeout',
  rejected: 'simulated failure',
  permission: 'permission denied',
  restore_incomplete: 'rollback interrupted after the disks were reverted; VM left stopped',
  guest_missing: "Configuration file 'nodes/node1/qemu-server/101.conf' does not exist",
  stale_lock: 'VM is locked (snapshot-delete) and no task is running for it',
  snapshot_incomplete: 'unable to rollback to incomplete snapshot (snapstate = prepare)',
};

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
    return { memory: this.options.memory ?? true, rollbackOnlyLatest: this.options.rollbackOnlyLatest ?? false, clone: false };
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

  private startTask(s: SimState, target: HypervisorTarget, operation: Operation, snapshot: SimSnapshot, factor: number): string {
    const vm = vmKey(target);
    const now = this.now();
    const busy = unfinished(s).some((id) => s.tasks[id]!.vm === vm);
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
      id, vm, operation, snapshot, startedAt: now, endsAt: injected?.hang ? null : now + duration, failure, done: false,
    };
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

/** The ids of the tasks not done yet; derived once for a state file written before the list existed. */
function unfinished(s: SimState): string[] {
  s.running ??= Object.values(s.tasks).filter((t) => !t.done).map((t) => t.id);
  return s.running;
}

function vmKey(target: HypervisorTarget): string {
  return `${target.node}/${target.vmId}`;
}
