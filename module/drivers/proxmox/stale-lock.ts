import { DriverError } from '../contract.js';
import type { ProxmoxClient } from './http-client.js';
import { guestWords, nodePath, type GuestType } from './paths.js';

/** Locks our own tasks take and a dead task leaves behind (AbstractConfig: snapshot_create/delete/rollback). */
const SNAPSHOT_LOCKS = new Set(['snapshot', 'snapshot-delete', 'rollback']);
/** pve-container's clone_vm (and move_volume) lock the source container `disk` until the worker ends. */
const CLONE_SOURCE_LOCK = 'disk';
const LOCKED = /\b(?:VM|CT) is locked \(([a-z-]+)\)/;

interface PveTask {
  id?: string;
  status?: string;
}

/**
 * A snapshot lock with no task running for the guest is stale: a worker died or a delete failed half
 * way, and Proxmox refuses every later call until someone unlocks the guest on the node. Retrying
 * cannot help, so such a lock becomes `stale_lock` with what to run; a lock a running task holds stays
 * `locked` (wait). A container's `disk` lock is judged the same way: a clone worker that was killed
 * never removes it from its source. Other locks (backup, migrate, suspended) are left as they are:
 * they have owners or mean something else.
 */
export async function staleLock(client: ProxmoxClient, error: DriverError, at: { node: string; vmid: string; type: GuestType; configPath: string }): Promise<DriverError> {
  const lock = error.code === 'locked' ? LOCKED.exec(error.detail)?.[1] : undefined;
  const ours = lock !== undefined && (SNAPSHOT_LOCKS.has(lock) || (at.type === 'lxc' && lock === CLONE_SOURCE_LOCK));
  if (!ours) return error;
  try {
    // Lists only tasks the token may see: its own, or all with Sys.Audit on the node.
    const tasks = (await client.get<PveTask[]>(`${nodePath(at.node)}/tasks`, { vmid: at.vmid, source: 'active' })) ?? [];
    if (tasks.some((t) => t.id === at.vmid && t.status === 'RUNNING')) return error;
    // Read after the task list: a lock that is gone now belonged to a task that has just ended.
    const config = await client.get<{ lock?: string }>(at.configPath);
    if (config?.lock !== lock) return error;
  } catch {
    return error; // cannot tell: treat it as busy, as before
  }
  const { noun, cli } = guestWords(at.type);
  const head = `${noun} ${at.vmid} on node ${at.node} is locked (${lock}) and no task is running for it: `;
  if (lock === CLONE_SOURCE_LOCK) {
    return new DriverError('stale_lock', `${head}an earlier clone or volume move of it was interrupted. Remove any half-made clone `
      + `(a container locked 'create'), then run '${cli} unlock ${at.vmid}' on ${at.node}.`);
  }
  return new DriverError('stale_lock', `${head}an earlier snapshot task was interrupted. Check the guest's snapshots, then run `
    + `'${cli} unlock ${at.vmid}' on ${at.node}; a retried delete then finishes the interrupted one.`);
}
