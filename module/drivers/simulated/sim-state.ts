import type { DriverErrorCode, HypervisorTarget } from '../contract.js';

export type Operation = 'create' | 'delete' | 'restore' | 'clone';

export interface SimSnapshot {
  name: string;
  description: string | null;
  createdAt: number;
  withMemory: boolean;
  diskBytes: number;
  memoryBytes: number | null;
}

export interface SimTask {
  id: string;
  vm: string;
  operation: Operation;
  snapshot: SimSnapshot;
  /** A clone's destination (vm key); the guest there is made when the task succeeds. */
  dest?: string;
  startedAt: number;
  endsAt: number | null; // null: hangs until an admin looks
  failure: { code: DriverErrorCode; detail: string } | null;
  done: boolean;
}

/** A guest a clone made or is making, and where it came from. */
export interface SimGuest {
  source: { node: string; vmId: string };
  snapshot: string;
  diskBytes: number;
  /** The clone task making it: the guest is complete once that task has succeeded. */
  task: string;
  complete: boolean;
}

export interface InjectedFailure {
  operation: Operation;
  code: DriverErrorCode;
  /** Only tasks on this VM (a clone's: its source). */
  vmId?: string;
  times: number;
  hang?: boolean;
}

export interface SimState {
  seq: number;
  vms: Record<string, SimSnapshot[]>;
  /** Every task of about the last day (kept for taskStatus). */
  tasks: Record<string, SimTask>;
  /** Ids of the tasks not done yet: what each call has to look at (absent in files from before it). */
  running?: string[];
  failures: InjectedFailure[];
  /** Guests made by clones, by vm key (absent in files from before clones). */
  guests?: Record<string, SimGuest>;
}

export const FAILURE_TEXT: Record<DriverErrorCode, string> = {
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

/** The ids of the tasks not done yet; derived once for a state file written before the list existed. */
export function unfinished(s: SimState): string[] {
  s.running ??= Object.values(s.tasks).filter((t) => !t.done).map((t) => t.id);
  return s.running;
}

export function vmKey(target: HypervisorTarget): string {
  return `${target.node}/${target.vmId}`;
}
