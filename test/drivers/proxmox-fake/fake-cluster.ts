/**
 * The state behind the fake Proxmox API: guests (QEMU VMs and LXC containers) on nodes, their
 * snapshots with `snapstate`, the config lock, storages, and worker tasks. What happens inside a
 * task and the words it fails with follow pve-guest-common's AbstractConfig (snapshot_create,
 * snapshot_delete, snapshot_rollback at 4a8f6cbf), qemu-server 9.2.6 (e6352be6) and pve-container
 * (94f55852), since the driver classifies by those words. Clones and destroys: fake-clone.ts.
 */
import { storageOf } from './fake-storages.js';
import { FakeTasks, type TaskType } from './fake-tasks.js';

export type GuestType = 'qemu' | 'lxc';

export interface FakeSnapshot {
  name: string;
  description: string;
  /** 0 or absent: a snapshot written by an old or foreign tool without a time. */
  snaptime?: number;
  vmstate?: 0 | 1;
  parent?: string;
  snapstate?: 'prepare' | 'delete';
  /** The volume snapshots are already gone (a delete that died half way). */
  disksGone?: boolean;
  /** The guest's config and disk contents when it was taken (a clone copies these, not the current ones). */
  config?: Record<string, string>;
  diskData?: string;
}

export interface FakeGuest {
  type: GuestType;
  node: string;
  vmid: string;
  config: Record<string, string>;
  snapshots: Map<string, FakeSnapshot>;
  /** The snapshot the current state descends from. */
  parent?: string;
  lock: string | null;
  running: boolean;
  /** What is on the disks: tests change it to tell a snapshot's contents from the current ones. */
  diskData: string;
  /** A clone's origin: the guest and snapshot its disks were copied from. */
  origin?: { type: GuestType; vmid: string; snapshot: string };
  /** flock(2)s on /var/lock/{qemu-server,lxc}/lock-<id>.conf held by running workers (not in the config). */
  flocks: Map<object, 'shared' | 'exclusive'>;
}
/** Most tests use VMs; the name stays. */
export type FakeVm = FakeGuest;

const DISK_KEY = /^(scsi|virtio|sata|ide|rootfs|mp)\d*$/;

export class FakeCluster {
  /** By VM id: a guest lives on exactly one node at a time. */
  readonly guests = new Map<string, FakeGuest>();
  /** Cluster members (check_node_exists); guests may still be moved anywhere by `migrate`. */
  readonly nodes = new Set(['pve1', 'pve2', 'pve3']);
  readonly tasks: FakeTasks;

  constructor(user: string) {
    this.tasks = new FakeTasks(user);
  }

  get taskDurationMs(): number {
    return this.tasks.durationMs;
  }
  set taskDurationMs(ms: number) {
    this.tasks.durationMs = ms;
  }

  addVm(node: string, vmid: string, disks: Record<string, string> = { scsi0: 'local-lvm:vm-DISK-disk-0,size=32G' }): FakeGuest {
    return this.add('qemu', node, vmid, {
      name: `vm${vmid}`, memory: '2048', ide2: 'local:iso/debian-12.iso,media=cdrom', net0: 'virtio=BC:24:11:00:01:00,bridge=vmbr0',
    }, disks);
  }

  addContainer(node: string, vmid: string, disks: Record<string, string> = { rootfs: 'local-lvm:vm-DISK-disk-0,size=8G' }): FakeGuest {
    return this.add('lxc', node, vmid, {
      hostname: `ct${vmid}`, memory: '512', ostype: 'debian', net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth',
    }, disks);
  }

  /** A live migration or an HA failover: the guest now runs on `node`. */
  migrate(vmid: string, node: string): void {
    this.guests.get(vmid)!.node = node;
  }

  /** The guest as seen by `node` (which reads only its own config directory), or PVE's error. */
  guest(node: string, type: GuestType, vmid: string): FakeGuest {
    const g = this.guests.get(vmid);
    if (!g || g.node !== node || g.type !== type) throw new PveError(500, this.missingError(node, type, vmid));
    return g;
  }

  /** GET /cluster/resources?type=vm */
  resources(): Record<string, unknown>[] {
    return [...this.guests.values()].map((g) => ({
      id: `${g.type}/${g.vmid}`, type: g.type, vmid: Number(g.vmid), node: g.node, name: g.config.name ?? g.config.hostname,
      status: g.running ? 'running' : 'stopped', template: 0, ...(g.lock ? { lock: g.lock } : {}),
    }));
  }

  settle(): void {
    this.tasks.settle();
  }

  snapshot(node: string, type: GuestType, vmid: string, name: string, description: string, vmstate: boolean): string {
    let g!: FakeGuest;
    return this.task(node, type, vmid, type === 'qemu' ? 'qmsnapshot' : 'vzsnapshot', (guest) => {
      g = guest;
      const refused = this.lockError(g) ?? (g.snapshots.has(name) ? `snapshot name '${name}' already used` : null)
        ?? (this.volumes(g).some((v) => storageOf(v)?.type === 'lvm' && !storageOf(v)?.['snapshot-as-volume-chain']) ? 'snapshot feature is not available' : null);
      if (refused) return refused;
      g.lock = 'snapshot';
      g.snapshots.set(name, {
        name, description, snaptime: Math.floor(Date.now() / 1000), snapstate: 'prepare', config: { ...g.config }, diskData: g.diskData,
        ...(type === 'qemu' ? { vmstate: vmstate && g.running ? 1 : 0 } : {}), ...(g.parent ? { parent: g.parent } : {}),
      });
      return null;
    }, () => {
      delete g.snapshots.get(name)!.snapstate;
      g.parent = name;
      g.lock = null;
      return null;
    }, () => {
      g.snapshots.delete(name);
      g.lock = null;
    });
  }

  deleteSnapshot(node: string, type: GuestType, vmid: string, name: string, force: boolean): string {
    let g!: FakeGuest;
    return this.task(node, type, vmid, type === 'qemu' ? 'qmdelsnapshot' : 'vzdelsnapshot', (guest) => {
      g = guest;
      if (!g.snapshots.has(name)) return `snapshot '${name}' does not exist`;
      const locked = this.lockError(g);
      if (locked) return locked;
      g.lock = 'snapshot-delete';
      g.snapshots.get(name)!.snapstate = 'delete';
      return null;
    }, () => {
      const gone = g.snapshots.get(name)!;
      // Without force, a volume snapshot that is already gone ends the task; the lock and
      // snapstate stay behind, as in AbstractConfig::snapshot_delete.
      if (gone.disksGone && !force) {
        return `lvremove 'pve/snap_vm-${vmid}-disk-0_${name}' error:   Failed to find logical volume "pve/snap_vm-${vmid}-disk-0_${name}"`;
      }
      g.snapshots.delete(name);
      for (const s of g.snapshots.values()) if (s.parent === name) s.parent = gone.parent;
      if (g.parent === name) g.parent = gone.parent;
      g.lock = null;
      return null;
    }, () => undefined);
  }

  rollback(node: string, type: GuestType, vmid: string, name: string, start: boolean): string {
    let g!: FakeGuest;
    return this.task(node, type, vmid, type === 'qemu' ? 'qmrollback' : 'vzrollback', (guest) => {
      g = guest;
      const target = g.snapshots.get(name);
      if (!target) return `snapshot '${name}' does not exist`;
      if (target.snapstate) return `unable to rollback to incomplete snapshot (snapstate = ${target.snapstate})`;
      const locked = this.lockError(g);
      if (locked) return locked;
      const latestOnly = this.volumes(g).find((v) => storageOf(v)?.type === 'zfspool' || storageOf(v)?.['snapshot-as-volume-chain']);
      const newer = [...g.snapshots.values()].some((s) => (s.snaptime ?? 0) > (target.snaptime ?? 0) || s.parent === name);
      if (latestOnly && newer) return `can't rollback, '${name}' is not most recent snapshot on '${latestOnly.split(',')[0]}'`;
      g.lock = 'rollback';
      return null;
    }, () => {
      g.parent = name;
      g.diskData = g.snapshots.get(name)!.diskData ?? g.diskData;
      g.running = start || g.snapshots.get(name)!.vmstate === 1;
      g.lock = null;
      return null;
    }, () => {
      g.lock = null;
    });
  }

  /** PUT …/snapshot/{name}/config: synchronous, under the config lock. */
  updateDescription(node: string, type: GuestType, vmid: string, name: string, description: string | undefined): null {
    const g = this.guest(node, type, vmid);
    if (description === undefined) return null;
    const locked = this.lockError(g);
    if (locked) throw new PveError(500, locked);
    const snap = g.snapshots.get(name);
    if (!snap) throw new PveError(500, `snapshot '${name}' does not exist`);
    snap.description = description;
    return null;
  }

  /** What a task that changes the config meets first: a worker's flock (waited for, then given up), then the config lock. */
  lockError(g: FakeGuest): string | null {
    if (g.flocks.size > 0) return `can't lock file '/var/lock/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/lock-${g.vmid}.conf' - got timeout`;
    return g.lock ? `${g.type === 'qemu' ? 'VM' : 'CT'} is locked (${g.lock})` : null;
  }

  missingError(node: string, type: GuestType, vmid: string): string {
    return `Configuration file 'nodes/${node}/${type === 'qemu' ? 'qemu-server' : 'lxc'}/${vmid}.conf' does not exist`;
  }

  /** Delete and rollback fork before reading the config, so a missing guest fails the task, not the call. */
  private task(node: string, type: GuestType, vmid: string, taskType: TaskType, begin: (g: FakeGuest) => string | null,
    finish: () => string | null, abort: () => void): string {
    return this.tasks.start({
      node, vmid, type: taskType, finish, abort,
      begin: () => {
        const g = this.guests.get(vmid);
        if (!g || g.node !== node || g.type !== type) return this.missingError(node, type, vmid);
        return begin(g);
      },
    });
  }

  private add(type: GuestType, node: string, vmid: string, base: Record<string, string>, disks: Record<string, string>): FakeGuest {
    const config = { ...base };
    for (const [k, v] of Object.entries(disks)) config[k] = v.replace('DISK', vmid);
    const g: FakeGuest = { type, node, vmid, config, snapshots: new Map(), lock: null, running: true, diskData: `${type} ${vmid} as created`, flocks: new Map() };
    this.guests.set(vmid, g);
    return g;
  }

  private volumes(g: FakeGuest): string[] {
    return Object.entries(g.config).filter(([k, v]) => DISK_KEY.test(k) && !v.includes('media=cdrom')).map(([, v]) => v);
  }
}

/** An API error: PVE sends the message as the HTTP reason phrase. */
export class PveError extends Error {
  constructor(readonly status: number, message: string, readonly errors?: Record<string, string>) {
    super(message);
  }
}
