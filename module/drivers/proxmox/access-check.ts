import type { MissingAccess } from '../contract.js';
import type { ProxmoxClient } from './http-client.js';

interface Needed extends MissingAccess {
  /** Only cloning needs it: a token without it still does everything else, with `clone` off. */
  forClone?: true;
}

const CLONE_ONLY = 'optional, only for cloning a snapshot into a new guest';

/** What the driver's calls need, where (an ACL on the path or above it), and why; see README. */
const NEEDED: Needed[] = [
  { privilege: 'VM.Audit', path: '/vms', neededFor: 'listing snapshots, reading guest configs, finding guests in /cluster/resources' },
  { privilege: 'VM.Snapshot', path: '/vms', neededFor: 'creating and deleting snapshots, editing descriptions' },
  { privilege: 'VM.Snapshot.Rollback', path: '/vms', neededFor: 'restoring snapshots' },
  { privilege: 'VM.PowerMgmt', path: '/vms', neededFor: 'restoring with start afterwards (checked by qemu-server since 9.1.10)' },
  { privilege: 'Datastore.Audit', path: '/storage', neededFor: 'the storage configuration (rollback only to the newest snapshot)' },
  { privilege: 'Sys.Audit', path: '/nodes', neededFor: "other users' running tasks, to tell a stale lock from a busy one" },
  // qemu-server and pve-container clone_vm: VM.Clone on the source, VM.Allocate on the new id,
  // Datastore.AllocateSpace on each storage a disk is copied to, SDN.Use on each bridge a NIC keeps.
  { privilege: 'VM.Clone', path: '/vms', neededFor: `the guest a clone is made from (${CLONE_ONLY})`, forClone: true },
  { privilege: 'VM.Allocate', path: '/vms', neededFor: `the new guest's id (${CLONE_ONLY})`, forClone: true },
  { privilege: 'Datastore.AllocateSpace', path: '/storage', neededFor: `the storage a clone's disks are copied to (${CLONE_ONLY})`, forClone: true },
  { privilege: 'SDN.Use', path: '/sdn/zones', neededFor: `the bridges a clone's network devices keep (${CLONE_ONLY})`, forClone: true },
];

/** Pools hold guests and storages, so a pool ACL may grant what `/vms` or `/storage` needs. */
const POOLED = new Set(['/vms', '/storage']);

export interface AccessReport {
  missing: MissingAccess[];
  /** Every privilege cloning needs is granted somewhere the driver could use it. */
  cloneAllowed: boolean;
}

/**
 * The token's effective permissions (`GET /access/permissions`, which any token may read for itself)
 * against what the driver needs. A privilege counts when an ACL grants it on the needed path, above
 * it, or below it — or on a pool, for guests and storages: narrowing `/vms` to single guests is fine.
 */
export async function missingAccess(client: ProxmoxClient): Promise<AccessReport> {
  const perms = (await client.get<Record<string, Record<string, number>>>('/access/permissions')) ?? {};
  const granted = (privilege: string, path: string) => Object.entries(perms).some(([p, privs]) =>
    privs[privilege] !== undefined && (p === '/' || path === p || path.startsWith(`${p}/`) || p.startsWith(`${path}/`) || (POOLED.has(path) && p.startsWith('/pool/'))));
  const lacking = NEEDED.filter((n) => !granted(n.privilege, n.path));
  return {
    missing: lacking.map(({ privilege, path, neededFor }) => ({ privilege, path, neededFor })),
    cloneAllowed: !lacking.some((n) => n.forClone),
  };
}
