import type { HypervisorTarget } from '../contract.js';
import type { ProxmoxClient } from './http-client.js';
import { guestTypeOf, type GuestType } from './paths.js';

/** Config keys that carry snapshottable volumes: a VM's disks, a container's root and mount points. */
const DISK_KEY = /^((ide|sata|scsi|virtio|efidisk|tpmstate|mp)\d+|rootfs)$/;
/** Storage types whose snapshots can only be rolled back to the newest (ZFS local and over iSCSI). */
const LATEST_ONLY_TYPES = new Set(['zfspool', 'zfs']);
/**
 * Storage types a full clone cannot copy a disk from a snapshot of. qemu-server asks the storage for
 * `copy` of the snapshot, which pve-storage 9.1.7 lacks for ZFS (local and over iSCSI) and iSCSI LUNs;
 * pve-container mounts the snapshot and copies files, which it cannot for btrfs subvolumes.
 */
const NO_COPY_FROM_SNAPSHOT: Record<GuestType, Set<string>> = {
  qemu: new Set(['zfspool', 'zfs', 'iscsi', 'iscsidirect']),
  lxc: new Set(['btrfs']),
};

/** One entry of GET /storage: the cluster's storage configuration. */
interface PveStorage {
  storage?: string;
  type?: string;
  /** PVE 9: snapshots as a chain of qcow2 volumes (dir, NFS, CIFS, LVM); rollback only to the newest. */
  'snapshot-as-volume-chain'?: number | boolean | string;
}

function latestOnly(s: PveStorage): boolean {
  const chain = s['snapshot-as-volume-chain'];
  return LATEST_ONLY_TYPES.has(s.type ?? '') || chain === true || chain === 1 || chain === '1';
}

/** The guest's volumes as written in its config (`local-lvm:vm-100-disk-0`, `/dev/sdb`), CD-ROMs left out. */
function volumes(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!DISK_KEY.test(key) || typeof value !== 'string') continue;
    if (/(^|,)media=cdrom(,|$)/.test(value)) continue;
    out.push(value.split(',')[0] ?? '');
  }
  return out;
}

/** Storage ids of the guest's volumes, CD-ROMs and passthrough devices left out. */
export function diskStorages(config: Record<string, unknown>): string[] {
  const ids = new Set<string>();
  for (const volume of volumes(config)) {
    const colon = volume.indexOf(':');
    // "/dev/sdb" passthrough has no storage id; "none" is an empty drive.
    if (colon > 0 && !volume.startsWith('/')) ids.add(volume.slice(0, colon));
  }
  return [...ids];
}

/** What a guest's storage allows, as `capabilities` reports it. */
export interface StorageTraits {
  rollbackOnlyLatest: boolean;
  /** A full clone from a snapshot can copy every volume. */
  cloneFromSnapshot: boolean;
}

interface Entry {
  value: StorageTraits;
  expiresAt: number;
}

/**
 * What a guest's volumes allow, read from its config and the storage configuration (`GET /storage`
 * lists every storage the token has `Datastore.Audit` on, options included), cached per guest for a
 * short while since pages ask on every render: rollback only to the newest snapshot (ZFS, or a
 * storage with `snapshot-as-volume-chain`), and whether a clone can copy every volume from a snapshot.
 */
export class GuestStorageTraits {
  private readonly cache = new Map<string, Entry>();
  constructor(private readonly client: ProxmoxClient, private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  /** `readConfig` reads the guest's config on the node it lives on now. */
  async of(target: HypervisorTarget, readConfig: () => Promise<Record<string, unknown>>): Promise<StorageTraits> {
    const type = guestTypeOf(target);
    const key = `${type}/${target.vmId}`;
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    const config = (await readConfig()) ?? {};
    const used = diskStorages(config);
    const storages = used.length > 0 ? ((await this.client.get<PveStorage[]>('/storage')) ?? []).filter((s) => used.includes(s.storage ?? '')) : [];
    const value: StorageTraits = {
      rollbackOnlyLatest: storages.some(latestOnly),
      // A passthrough disk (qemu) or a bind or device mount point (lxc) is no volume a clone can copy.
      cloneFromSnapshot: !volumes(config).some((v) => v.startsWith('/')) && !storages.some((s) => NO_COPY_FROM_SNAPSHOT[type].has(s.type ?? '')),
    };
    if (this.ttlMs > 0) this.cache.set(key, { value, expiresAt: this.now() + this.ttlMs });
    return value;
  }
}
