import type { HypervisorTarget } from '../contract.js';
import type { ProxmoxClient } from './http-client.js';
import { guestTypeOf } from './paths.js';

/** Config keys that carry snapshottable volumes: a VM's disks, a container's root and mount points. */
const DISK_KEY = /^((ide|sata|scsi|virtio|efidisk|tpmstate|mp)\d+|rootfs)$/;
/** Storage types whose snapshots can only be rolled back to the newest (ZFS local and over iSCSI). */
const LATEST_ONLY_TYPES = new Set(['zfspool', 'zfs']);

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

/** Storage ids of the guest's volumes, CD-ROMs and passthrough devices left out. */
export function diskStorages(config: Record<string, unknown>): string[] {
  const ids = new Set<string>();
  for (const [key, value] of Object.entries(config)) {
    if (!DISK_KEY.test(key) || typeof value !== 'string') continue;
    if (/(^|,)media=cdrom(,|$)/.test(value)) continue;
    const volume = value.split(',')[0] ?? '';
    const colon = volume.indexOf(':');
    // "/dev/sdb" passthrough has no storage id; "none" is an empty drive.
    if (colon > 0 && !volume.startsWith('/')) ids.add(volume.slice(0, colon));
  }
  return [...ids];
}

interface Entry {
  value: boolean;
  expiresAt: number;
}

/**
 * Whether a guest's volumes sit where rollback reaches only the newest snapshot (ZFS, or a storage
 * with `snapshot-as-volume-chain`), read from its config and the storage configuration (`GET
 * /storage` lists every storage the token has `Datastore.Audit` on, options included), cached per
 * guest for a short while since pages ask on every render.
 */
export class RollbackLatestOnly {
  private readonly cache = new Map<string, Entry>();
  constructor(private readonly client: ProxmoxClient, private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  /** `readConfig` reads the guest's config on the node it lives on now. */
  async of(target: HypervisorTarget, readConfig: () => Promise<Record<string, unknown>>): Promise<boolean> {
    const key = `${guestTypeOf(target)}/${target.vmId}`;
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    const config = await readConfig();
    const used = diskStorages(config ?? {});
    let value = false;
    if (used.length > 0) {
      const storages = await this.client.get<PveStorage[]>('/storage');
      value = (storages ?? []).some((s) => used.includes(s.storage ?? '') && latestOnly(s));
    }
    if (this.ttlMs > 0) this.cache.set(key, { value, expiresAt: this.now() + this.ttlMs });
    return value;
  }
}
