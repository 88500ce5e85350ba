import type { MissingAccess } from '../contract.js';
import type { ProxmoxClient } from './http-client.js';

/** What the driver's calls need, where (an ACL on the path or above it), and why; see README. */
const NEEDED: { privilege: string; path: string; neededFor: string }[] = [
  { privilege: 'VM.Audit', path: '/vms', neededFor: 'listing snapshots, reading guest configs, finding guests in /cluster/resources' },
  { privilege: 'VM.Snapshot', path: '/vms', neededFor: 'creating and deleting snapshots, editing descriptions' },
  { privilege: 'VM.Snapshot.Rollback', path: '/vms', neededFor: 'restoring snapshots' },
  { privilege: 'VM.PowerMgmt', path: '/vms', neededFor: 'restoring with start afterwards (checked by qemu-server since 9.1.10)' },
  { privilege: 'Datastore.Audit', path: '/storage', neededFor: 'the storage configuration (rollback only to the newest snapshot)' },
  { privilege: 'Sys.Audit', path: '/nodes', neededFor: "other users' running tasks, to tell a stale lock from a busy one" },
];

/**
 * The token's effective permissions (`GET /access/permissions`, which any token may read for itself)
 * against what the driver needs. A privilege counts when any ACL path at or below the needed one —
 * or a pool, which holds guests and storages — grants it: narrowing `/vms` to single guests is fine.
 */
export async function missingAccess(client: ProxmoxClient): Promise<MissingAccess[]> {
  const perms = (await client.get<Record<string, Record<string, number>>>('/access/permissions')) ?? {};
  const granted = (privilege: string, path: string) => Object.entries(perms).some(([p, privs]) =>
    privs[privilege] !== undefined && (p === '/' || p === path || p.startsWith(`${path}/`) || (path !== '/nodes' && p.startsWith('/pool/'))));
  return NEEDED.filter((n) => !granted(n.privilege, n.path));
}
