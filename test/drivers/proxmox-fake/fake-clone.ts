/**
 * Full clones in the fake, as PVE makes them: qemu-server 9.2.6 (e6352be6, src/PVE/API2/Qemu.pm
 * clone_vm), pve-container 6.1.10 (94f55852, src/PVE/API2/LXC.pm clone_vm), pve-guest-common 4a8f6cbf (AbstractConfig set_lock, create_and_lock_config,
 * check_lock), pve-cluster 9.1.6 (7091d92e: check_vmid_unused; pmxcfs memdb_rename refuses a guest
 * config whose id exists on another node), pve-storage 9.1.7 (0c56bad8: `copy` from a snapshot per
 * plugin, @SHARED_STORAGE) and pve-access-control 9.1.1 (5ccd07d9: permission errors).
 *
 * Where things are while a clone runs: qemu-server checks before forking, then in the worker holds a
 * flock on the source (exclusive if it runs, shared if not; nothing in its config) and writes the new
 * config on the source's node holding only `lock: clone`. pve-container locks the source's config
 * `disk` and creates the new one with `lock: create` before forking. Both move the new config to the
 * target node at the very end, after dropping its lock. A worker that fails removes the new guest
 * (and a container clone the source's `disk` lock); one that is killed leaves them as they are.
 */
import { randomBytes } from 'node:crypto';
import type { FakeCluster, FakeGuest, GuestType } from './fake-cluster.js';
import { denied, fail, type Can } from './fake-destroy.js';
import { isTrue } from './fake-schema.js';
import { copiesFromSnapshot, isShared, storageOf } from './fake-storages.js';

const DISK = /^((ide|sata|scsi|virtio|efidisk|tpmstate|mp)\d+|rootfs)$/;
const NET = /^net\d+$/;

const volumeOf = (value: string) => value.split(',')[0]!;
const isDisk = (opt: string, value: string) => DISK.test(opt) && !value.includes('media=cdrom') && volumeOf(value) !== 'none';

/** The source as it was: what a clone copies. */
interface Origin {
  guest: FakeGuest;
  conf: Record<string, string>;
  diskData: string;
}

export class FakeCloner {
  /** `can(privilege, path)`: the token's permission, as pveproxy checks it. */
  constructor(private readonly c: FakeCluster, private readonly can: Can) {}

  /** POST /nodes/{node}/{qemu|lxc}/{vmid}/clone: the worker's UPID, or PVE's refusal as a PveError. */
  clone(node: string, type: GuestType, vmid: string, p: Record<string, string>): string {
    // The method's permission check runs before its code.
    if (!this.can('VM.Clone', `/vms/${vmid}`)) denied(`/vms/${vmid}, VM.Clone`);
    if (!this.can('VM.Allocate', `/vms/${p.newid}`)) denied();
    const target = p.target === node ? undefined : p.target;
    if (target && !this.c.nodes.has(target)) fail(`no such cluster node '${target}'`);
    if (p.storage !== undefined) {
      const s = storageOf(p.storage) ?? fail(`storage '${p.storage}' does not exist`);
      if (target && !isShared(s)) fail(`can't clone to non-shared storage '${p.storage}'`);
    }
    // Without `full` PVE copies every disk of a guest that is no template; linked clones are not faked.
    if (p.full !== undefined && !isTrue(p.full)) fail('the fake makes full clones only');
    return type === 'qemu' ? this.cloneVm(node, vmid, p, target) : this.cloneCt(node, vmid, p, target);
  }

  private cloneVm(node: string, vmid: string, p: Record<string, string>, target: string | undefined): string {
    this.checkVm(node, vmid, p, target); // load_and_check runs before forking, and again in the worker
    const holder = {};
    let from: Origin | null = null;
    let made: FakeGuest | null = null;
    return this.c.tasks.start({
      node, vmid, type: 'qmclone',
      begin: () => {
        const src = this.c.guests.get(vmid);
        const mode = src?.running ? 'exclusive' : 'shared';
        if (src && [...src.flocks.values()].some((m) => m === 'exclusive' || mode === 'exclusive')) {
          return `can't lock file '/var/lock/qemu-server/lock-${vmid}.conf' - got timeout`;
        }
        try {
          from = this.checkVm(node, vmid, p, target);
        } catch (err) {
          return (err as Error).message;
        }
        if (this.c.guests.has(p.newid!)) return `close (rename) atomic file '/etc/pve/nodes/${node}/qemu-server/${p.newid}.conf' failed: File exists`;
        from.guest.flocks.set(holder, mode);
        made = this.place('qemu', node, p.newid!, 'clone', {});
        return null;
      },
      finish: () => this.complete(made!, from!, p, target),
      abort: () => this.remove(made),
      release: () => from?.guest.flocks.delete(holder),
    });
  }

  private checkVm(node: string, vmid: string, p: Record<string, string>, target: string | undefined): Origin {
    const g = this.c.guest(node, 'qemu', vmid);
    if (g.lock) fail(`VM is locked (${g.lock})`);
    const from = this.origin(g, p.snapname);
    let shared = true;
    for (const [opt, value] of Object.entries(from.conf)) {
      if (!DISK.test(opt) || volumeOf(value) === 'none') continue;
      const s = storageOf(volumeOf(value));
      if (!s || !isShared(s)) shared = false;
      if (isDisk(opt, value)) this.allocate(p.storage ?? volumeOf(value).split(':')[0]!);
    }
    this.bridges(from.conf);
    if (target && !shared) fail(`can't clone VM to node '${target}' (VM uses local storage)`);
    const there = this.c.guests.get(p.newid!);
    if (there?.node === node && there.type === 'qemu') fail(`unable to create VM ${p.newid}: config file already exists`);
    for (const [opt, value] of Object.entries(from.conf).sort()) {
      if (isDisk(opt, value) && p.snapname && !copiesFromSnapshot(volumeOf(value))) {
        fail(`Full clone feature is not supported for a snapshot of '${volumeOf(value)}' (${opt})`);
      }
    }
    return from;
  }

  private cloneCt(node: string, vmid: string, p: Record<string, string>, target: string | undefined): string {
    const g = this.c.guest(node, 'lxc', vmid);
    const locked = this.c.lockError(g);
    if (locked) fail(locked);
    g.lock = 'disk';
    const taken = this.c.guests.get(p.newid!);
    if (taken) {
      g.lock = null;
      fail(`${taken.type === 'qemu' ? 'VM' : 'CT'} ${p.newid} already exists on node '${taken.node}'`);
    }
    const made = this.place('lxc', node, p.newid!, 'create', {});
    let from: Origin;
    try {
      from = this.origin(g, p.snapname);
      let shared = true;
      for (const [opt, value] of Object.entries(from.conf).sort()) {
        if (NET.test(opt)) this.bridges({ [opt]: value });
        if (!isDisk(opt, value)) continue;
        const volume = volumeOf(value);
        if (volume.startsWith('/')) fail(`unable to clone mountpoint '${opt}' (type ${volume.startsWith('/dev/') ? 'device' : 'bind'})`);
        const sid = p.storage ?? volume.split(':')[0]!;
        const s = storageOf(sid) ?? fail(`storage '${sid}' does not exist`);
        if (!isShared(s)) shared = false;
        this.allocate(sid);
      }
      if (target && !shared) fail(`can't clone CT to node '${target}' (CT uses local storage)`);
    } catch (err) {
      g.lock = null;
      this.remove(made);
      throw err;
    }
    made.config = Object.fromEntries(Object.entries(from.conf).filter(([opt, value]) => !isDisk(opt, value)));
    const unlockSource = () => {
      if (g.lock === 'disk') g.lock = null;
    };
    return this.c.tasks.start({
      node, vmid, type: 'vzclone',
      begin: () => null,
      finish: () => {
        unlockSource();
        // mountpoint_mount of a snapshot: pve-container knows how only for ZFS subvolumes and block devices.
        if (Object.entries(from.conf).some(([opt, value]) => isDisk(opt, value) && storageOf(volumeOf(value))?.type === 'btrfs')) {
          this.remove(made);
          return "clone failed: cannot mount subvol snapshots for storage type 'btrfs'";
        }
        return this.complete(made, from, p, target);
      },
      abort: () => {
        unlockSource();
        this.remove(made);
      },
    });
  }

  /** The snapshot's config and disks (or the current ones without a snapshot), refusing an unknown snapshot. */
  private origin(g: FakeGuest, snapname: string | undefined): Origin {
    if (snapname === undefined) return { guest: g, conf: g.config, diskData: g.diskData };
    const snap = g.snapshots.get(snapname) ?? fail(`snapshot '${snapname}' does not exist`);
    return { guest: g, conf: snap.config ?? g.config, diskData: snap.diskData ?? g.diskData };
  }

  private allocate(storage: string): void {
    if (!this.can('Datastore.AllocateSpace', `/storage/${storage}`)) denied(`/storage/${storage}, Datastore.AllocateSpace`);
  }

  /** check_vnet_access: SDN.Use on the bridge (or the VLAN of a tagged NIC) in the `localnetwork` zone. */
  private bridges(conf: Record<string, string>): void {
    for (const [opt, value] of Object.entries(conf)) {
      const bridge = NET.test(opt) ? /(?:^|,)bridge=([^,]+)/.exec(value)?.[1] : undefined;
      if (!bridge) continue;
      const tag = /(?:^|,)tag=(\d+)/.exec(value)?.[1];
      const path = `/sdn/zones/localnetwork/${bridge}${tag ? `/${tag}` : ''}`;
      if (!this.can('SDN.Use', path)) denied(`${path}, SDN.Use`);
    }
  }

  private place(type: GuestType, node: string, vmid: string, lock: string, config: Record<string, string>): FakeGuest {
    const g: FakeGuest = { type, node, vmid, config, snapshots: new Map(), lock, running: false, diskData: '', flocks: new Map() };
    this.c.guests.set(vmid, g);
    return g;
  }

  /** The last step of a worker: disks copied to new volumes, new MACs, lock dropped, config moved to the target. */
  private complete(made: FakeGuest, from: Origin, p: Record<string, string>, target: string | undefined): null {
    const config: Record<string, string> = {};
    let disk = 0;
    for (const [opt, value] of Object.entries(from.conf).sort()) {
      if (/^unused\d+$/.test(opt)) continue;
      if (isDisk(opt, value)) {
        const [volume, ...options] = value.split(',');
        const [sid, volname] = volume!.split(':') as [string, string];
        const name = `${volname.startsWith('subvol-') ? 'subvol' : 'vm'}-${made.vmid}-disk-${disk++}${/\.(qcow2|raw|vmdk)$/.exec(volname)?.[0] ?? ''}`;
        config[opt] = [`${p.storage ?? sid}:${name}`, ...options].join(',');
      } else if (NET.test(opt)) {
        config[opt] = value.replace(/([0-9A-F]{2}:){5}[0-9A-F]{2}/i, `BC:24:11:${randomBytes(3).toString('hex').toUpperCase().match(/../g)!.join(':')}`);
      } else config[opt] = value;
    }
    if (made.type === 'qemu') config.name = p.name ?? `Copy-of-VM-${from.conf.name ?? from.guest.vmid}`;
    else if (p.hostname) config.hostname = p.hostname;
    if (p.description) config.description = p.description;
    Object.assign(made, { config, diskData: from.diskData, lock: null, node: target ?? made.node });
    made.origin = { type: from.guest.type, vmid: from.guest.vmid, snapshot: p.snapname ?? 'current' };
    return null;
  }

  private remove(made: FakeGuest | null): void {
    if (made && this.c.guests.get(made.vmid) === made) this.c.guests.delete(made.vmid);
  }
}
