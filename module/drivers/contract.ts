/** Where a service's VM lives: which driver, which node, which VM. Supplied by the panel adapter. */
export interface HypervisorTarget {
  driver: string;
  node: string;
  vmId: string;
  /** Proxmox: a QEMU VM (default) or an LXC container. Other drivers ignore it. */
  guestType?: 'qemu' | 'lxc';
  /**
   * Where a new guest's disks go when it is made by cloning (Proxmox: the target storage of a full
   * clone; default: the source's). Ignored for guests that already exist.
   */
  storage?: string;
}

export interface DriverCapabilities {
  /** Snapshots can include the VM's memory state. */
  memory: boolean;
  /** Rollback works only to the newest snapshot (ZFS-backed disks). */
  rollbackOnlyLatest: boolean;
  /** Hard ceiling of the hypervisor, if any (Proxmox has none worth naming; qcow2 neither). */
  maxSnapshots?: number;
  /** A new guest can be made from a snapshot (`clone`); false when the driver or the guest's storage cannot. */
  clone: boolean;
}

export interface HypervisorSnapshot {
  name: string;
  description: string | null;
  createdAt: Date | null;
  withMemory: boolean;
  diskBytes: number | null;
  memoryBytes: number | null;
  /**
   * A snapshot the hypervisor has not finished: `prepare` while a create runs or after it died,
   * `delete` while a delete runs or after it failed. Never a usable snapshot.
   */
  incomplete?: 'prepare' | 'delete';
}

export interface CreateSnapshotInput {
  name: string;
  description: string | null;
  includeMemory: boolean;
}

/** What a clone's destination holds: nothing yet, a guest a clone left unfinished, or a finished clone. */
export type CloneState = 'absent' | 'partial' | 'complete';

/** A reference to an asynchronous hypervisor task; stored with the operation so it can be resumed. */
export type DriverTaskRef = string;

export type TaskState =
  | { state: 'running' }
  | { state: 'succeeded'; warnings?: number }
  | { state: 'failed'; error: DriverError };

/**
 * `restore_incomplete`: a restore failed after the hypervisor had begun to change the VM (disks
 * reverted, memory only partly loaded), so the VM was left stopped for an admin to look at.
 */
export const DRIVER_ERROR_CODES = [
  'locked', 'not_found', 'already_exists', 'unsupported_storage', 'unreachable', 'timeout', 'rejected',
  'permission', 'restore_incomplete', 'guest_missing', 'stale_lock', 'snapshot_incomplete',
] as const;
export type DriverErrorCode = (typeof DRIVER_ERROR_CODES)[number];

const TRANSIENT: readonly DriverErrorCode[] = ['locked', 'unreachable', 'timeout'];

/** A hypervisor failure classified into a code the UI translates (`errors:driver_<code>`). */
export class DriverError extends Error {
  readonly code: DriverErrorCode;
  /** The hypervisor's own words, kept for admins and the audit log. */
  readonly detail: string;
  constructor(code: DriverErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.name = 'DriverError';
    this.code = code;
    this.detail = detail;
  }
  /** Worth retrying later: the VM was busy or the hypervisor was out of reach. */
  get transient(): boolean {
    return TRANSIENT.includes(this.code);
  }
}

/**
 * What every hypervisor driver implements. Mutating calls start a task and return its reference;
 * `taskStatus` is polled until it ends. A driver whose call completes synchronously returns a
 * reference whose status is already final.
 */
export interface SnapshotDriver {
  readonly name: string;
  /** Shown in the UI next to anything this driver reports (the simulated driver says so). */
  readonly simulated: boolean;
  capabilities(target: HypervisorTarget): Promise<DriverCapabilities>;
  list(target: HypervisorTarget): Promise<HypervisorSnapshot[]>;
  create(target: HypervisorTarget, input: CreateSnapshotInput): Promise<DriverTaskRef>;
  delete(target: HypervisorTarget, name: string): Promise<DriverTaskRef>;
  restore(target: HypervisorTarget, name: string, options: { startAfter: boolean }): Promise<DriverTaskRef>;
  taskStatus(target: HypervisorTarget, task: DriverTaskRef): Promise<TaskState>;
  /**
   * Starts making a new guest at `dest` from snapshot `name` of `source`: a full, independent copy of
   * every disk as it was when the snapshot was taken (no memory state). The task is polled with
   * `taskStatus(source, task)`. Refuses (`already_exists`) when `dest` already holds a guest. Only
   * drivers whose capabilities say `clone` implement it.
   */
  clone?(source: HypervisorTarget, name: string, dest: HypervisorTarget): Promise<DriverTaskRef>;
  /** What `dest` holds, so a clone interrupted by a crash is resumed, finished or cleaned up, never doubled. */
  cloneState?(dest: HypervisorTarget): Promise<CloneState>;
  /** Removes what an unfinished clone left at `dest`; never touches a finished guest (`complete`). */
  discardClone?(dest: HypervisorTarget): Promise<void>;
  /** Changes a snapshot's description on the hypervisor, where it keeps one. */
  updateDescription?(target: HypervisorTarget, name: string, description: string | null): Promise<void>;
  /** Registers a listener for notices: things an admin should know that fail nothing. */
  onNotice?(listener: (notice: DriverNotice) => void): void;
  /** What the driver's credentials lack for its calls (checked when the module starts). */
  checkAccess?(): Promise<MissingAccess[]>;
}

/** A privilege the hypervisor credentials lack, where it is needed and for what. */
export interface MissingAccess {
  privilege: string;
  path: string;
  neededFor: string;
}

/** The guest was found on another node than its target names (a migration or an HA failover). */
export interface DriverNotice {
  code: 'guest_moved';
  target: HypervisorTarget;
  from: string;
  to: string;
}
