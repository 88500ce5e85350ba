/**
 * The state behind the fake Proxmox API: VMs with snapshots and a config lock, storages, and worker
 * tasks that take time and end with an exit status, the way PVE reports them. Errors use PVE's own
 * wording (qemu-server / pve-storage), since the driver classifies by it.
 */

export interface FakeSnapshot {
  name: string;
  description: string;
  snaptime: number;
  vmstate: 0 | 1;
  parent?: string;
}

export interface FakeVm {
  node: string;
  vmid: string;
  config: Record<string, string>;
  snapshots: Map<string, FakeSnapshot>;
  /** The snapshot the current state descends from. */
  parent?: string;
  lock: string | null;
  running: boolean;
}

export type TaskType = 'qmsnapshot' | 'qmdelsnapshot' | 'qmrollback';

interface FakeTask {
  upid: string;
  node: string;
  type: TaskType;
  /** When the task stops; null: hangs. */
  endsAt: number | null;
  /** Set at start when the worker fails early (lock, duplicate name, …). */
  failure: string | null;
  /** Exit status forced by a test knob. */
  forced: string | null;
  commit: () => void;
  vm: FakeVm;
  done: boolean;
  exitstatus?: string;
}

interface TaskKnob {
  type?: TaskType;
  exitstatus?: string;
  hang?: boolean;
}

export const STORAGES = [
  { storage: 'local', type: 'dir' },
  { storage: 'local-lvm', type: 'lvmthin' },
  { storage: 'local-zfs', type: 'zfspool' },
  { storage: 'san-lvm', type: 'lvm' },
];
const NO_SNAPSHOTS = new Set(['lvm']);

export class FakeCluster {
  readonly vms = new Map<string, FakeVm>();
  private readonly tasks = new Map<string, FakeTask>();
  private readonly knobs: TaskKnob[] = [];
  private pid = 0x1000;
  taskDurationMs = 40;

  constructor(private readonly user: string) {}

  addVm(node: string, vmid: string, disks: Record<string, string> = { scsi0: 'local-lvm:vm-DISK-disk-0,size=32G' }): FakeVm {
    const config: Record<string, string> = { name: `vm${vmid}`, memory: '2048', ide2: 'local:iso/debian-12.iso,media=cdrom' };
    for (const [k, v] of Object.entries(disks)) config[k] = v.replace('DISK', vmid);
    const vm: FakeVm = { node, vmid, config, snapshots: new Map(), lock: null, running: true };
    this.vms.set(`${node}/${vmid}`, vm);
    return vm;
  }

  vm(node: string, vmid: string): FakeVm {
    const vm = this.vms.get(`${node}/${vmid}`);
    if (!vm) throw new PveError(500, `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
    return vm;
  }

  /** The next task (of `type`, if given) ends with `exitstatus` whatever it did, or never ends. */
  injectTask(knob: TaskKnob): void {
    this.knobs.push(knob);
  }

  /** Finishes every task whose time has come; called before each request is answered. */
  settle(now = Date.now()): void {
    for (const t of this.tasks.values()) {
      if (t.done || t.endsAt === null || t.endsAt > now) continue;
      t.done = true;
      t.exitstatus = t.forced ?? t.failure ?? 'OK';
      // Only a task that got past its checks holds the VM's lock, and only a successful one changes it.
      if (t.failure === null) {
        if (/^(OK|WARNINGS: \d+)$/.test(t.exitstatus)) t.commit();
        t.vm.lock = null;
      }
    }
  }

  taskStatus(node: string, upid: string): Record<string, unknown> {
    const t = this.tasks.get(upid);
    if (!t || t.node !== node) throw new PveError(500, `no such task '${upid}'`);
    const base = { upid, node, type: t.type, id: t.vm.vmid, user: this.user, pid: 0, starttime: 0 };
    return t.done ? { ...base, status: 'stopped', exitstatus: t.exitstatus } : { ...base, status: 'running' };
  }

  snapshot(vm: FakeVm, name: string, description: string, vmstate: boolean): string {
    return this.start(vm, 'qmsnapshot', 'snapshot', () => {
      if (vm.snapshots.has(name)) return `snapshot name '${name}' already used`;
      if (this.diskStorageTypes(vm).some((t) => NO_SNAPSHOTS.has(t))) return 'snapshot feature is not available';
      return null;
    }, () => {
      vm.snapshots.set(name, {
        name, description, snaptime: Math.floor(Date.now() / 1000), vmstate: vmstate && vm.running ? 1 : 0,
        ...(vm.parent ? { parent: vm.parent } : {}),
      });
      vm.parent = name;
    });
  }

  deleteSnapshot(vm: FakeVm, name: string): string {
    return this.start(vm, 'qmdelsnapshot', 'snapshot-delete', () => (vm.snapshots.has(name) ? null : `snapshot '${name}' does not exist`), () => {
      const gone = vm.snapshots.get(name)!;
      vm.snapshots.delete(name);
      for (const s of vm.snapshots.values()) if (s.parent === name) s.parent = gone.parent;
      if (vm.parent === name) vm.parent = gone.parent;
    });
  }

  rollback(vm: FakeVm, name: string, start: boolean): string {
    // The API reads the snapshot before forking the worker, so an unknown name is an HTTP error.
    if (!vm.snapshots.has(name)) throw new PveError(500, `snapshot '${name}' does not exist`);
    return this.start(vm, 'qmrollback', 'rollback', () => {
      const zfs = Object.values(vm.config).find((v) => v.startsWith('local-zfs:'));
      const target = vm.snapshots.get(name)!;
      const newer = [...vm.snapshots.values()].some((s) => s.snaptime > target.snaptime || (s.snaptime === target.snaptime && s.parent === name));
      if (zfs && newer) return `can't rollback, '${name}' is not most recent snapshot on '${zfs.split(',')[0]}'`;
      return null;
    }, () => {
      vm.parent = name;
      vm.running = start || vm.snapshots.get(name)!.vmstate === 1;
    });
  }

  private diskStorageTypes(vm: FakeVm): string[] {
    return Object.entries(vm.config)
      .filter(([k, v]) => /^(scsi|virtio|sata|ide)\d+$/.test(k) && !v.includes('media=cdrom'))
      .map(([, v]) => STORAGES.find((s) => s.storage === v.split(':')[0])?.type ?? 'unknown');
  }

  private start(vm: FakeVm, type: TaskType, lock: string, prepare: () => string | null, commit: () => void): string {
    this.settle();
    const knobAt = this.knobs.findIndex((k) => !k.type || k.type === type);
    const knob = knobAt >= 0 ? this.knobs.splice(knobAt, 1)[0]! : null;
    // Like PVE's check_lock inside the worker: a busy VM fails the new task, not the HTTP call.
    const failure = vm.lock ? `VM is locked (${vm.lock})` : prepare();
    if (failure === null) vm.lock = lock;
    this.pid += 1;
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
    const upid = `UPID:${vm.node}:${hex(this.pid)}:${hex(this.pid * 7)}:${hex(Math.floor(Date.now() / 1000))}:${type}:${vm.vmid}:${this.user}:`;
    const endsAt = knob?.hang ? null : Date.now() + this.taskDurationMs;
    this.tasks.set(upid, { upid, node: vm.node, type, endsAt, failure, forced: knob?.exitstatus ?? null, commit, vm, done: false });
    return upid;
  }
}

/** An API error: PVE sends the message as the HTTP reason phrase. */
export class PveError extends Error {
  constructor(readonly status: number, message: string, readonly errors?: Record<string, string>) {
    super(message);
  }
}
