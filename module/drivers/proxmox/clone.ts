import { DriverError, type CloneState, type HypervisorTarget } from '../contract.js';
import type { GuestLocator, PveResource } from './guest-location.js';
import type { Params, ProxmoxClient } from './http-client.js';
import { guestPath, guestTypeOf, guestWords, nodePath, type GuestType } from './paths.js';

/**
 * The lock a clone's new guest carries until its worker ends: qemu-server writes a config holding
 * only `lock: clone` first thing in the worker; pve-container creates it with `lock: create` before
 * forking. Either is removed only on success, or with the config when the worker cleans up.
 */
const CLONE_LOCK: Record<GuestType, string> = { qemu: 'clone', lxc: 'create' };
/** The worker types; their UPID names the source guest, not the new one. */
const CLONE_TASK: Record<GuestType, string> = { qemu: 'qmclone', lxc: 'vzclone' };

interface PveTask {
  upid?: string;
  status?: string;
}

/** `POST …/{vmid}/clone` parameters: a full copy of every disk of snapshot `snapname`, made at `dest`. */
export function cloneParams(snapname: string, sourceNode: string, dest: HypervisorTarget): Params {
  return {
    newid: dest.vmId,
    snapname,
    full: 1,
    // Sent only to move the clone elsewhere; whether its disks can be there (shared storage) is PVE's call.
    target: dest.node !== sourceNode ? dest.node : undefined,
    storage: dest.storage,
  };
}

/**
 * The guest holding `dest`'s id anywhere in the cluster (ids are unique across VMs and containers),
 * if the token may see it. One of the other type is refused: no clone of ours made it.
 */
export async function guestAt(locator: GuestLocator, dest: HypervisorTarget): Promise<PveResource | undefined> {
  guestPath(dest); // a destination that is no node and guest id is refused before anything is asked
  const found = await locator.find(dest.vmId);
  if (found && found.type !== guestTypeOf(dest)) {
    const { noun } = guestWords(found.type === 'lxc' ? 'lxc' : 'qemu');
    throw new DriverError('already_exists', `${noun} ${dest.vmId} already exists on node '${found.node}' (the destination names a ${guestTypeOf(dest)})`);
  }
  return found;
}

/** Refuses a destination id that is taken (`already_exists`): qemu-server looks only on its own node and fails late for one taken elsewhere. */
export async function destinationFree(locator: GuestLocator, dest: HypervisorTarget): Promise<void> {
  const taken = await guestAt(locator, dest);
  if (taken) throw new DriverError('already_exists', `${guestWords(guestTypeOf(dest)).noun} ${dest.vmId} already exists on node '${taken.node}'`);
}

/** `partial` while the guest carries the lock a clone's worker puts on it, `complete` once it has none of it. */
export function cloneStateOf(found: PveResource | undefined, type: GuestType): CloneState {
  if (!found) return 'absent';
  return found.lock === CLONE_LOCK[type] ? 'partial' : 'complete';
}

/**
 * What `discardClone` answers for what `dest` holds: nothing to do (null) when it is empty or holds a
 * finished guest (never touched), and for a half-made one the reason it cannot be removed from here.
 */
export async function discardRefusal(client: ProxmoxClient, dest: HypervisorTarget, found: PveResource | undefined): Promise<DriverError | null> {
  return cloneStateOf(found, guestTypeOf(dest)) === 'partial' ? partialCloneError(client, dest, found!) : null;
}

/**
 * Why a half-made clone cannot be removed from here, as the error to report. While a clone worker
 * runs on the guest's node (where the new config stays until the very end) it may be this one, so
 * wait (`locked`). Otherwise the worker was killed and left the locked config behind; Proxmox offers
 * API tokens no way to clear a lock (`skiplock` is for root@pam alone, `delete=lock` is refused while
 * locked, and a container's destroy checks the lock first), so the admin runs the command named.
 */
async function partialCloneError(client: ProxmoxClient, dest: HypervisorTarget, found: PveResource): Promise<DriverError> {
  const type = guestTypeOf(dest);
  const node = found.node ?? dest.node;
  const { noun } = guestWords(type);
  const head = `${noun} ${dest.vmId} on node ${node} is locked (${CLONE_LOCK[type]})`;
  // Lists only tasks the token may see: its own, or all with Sys.Audit on the node.
  const tasks = (await client.get<PveTask[]>(`${nodePath(node)}/tasks`, { source: 'active', typefilter: CLONE_TASK[type] })) ?? [];
  const running = tasks.find((t) => t.status === 'RUNNING');
  if (running) return new DriverError('locked', `${head}: a clone task is still running on ${node} (${running.upid}) and ends with the guest finished or removed`);
  const command = type === 'qemu'
    ? `qm destroy ${dest.vmId} --purge 1 --destroy-unreferenced-disks 1 --skiplock 1`
    : `pct unlock ${dest.vmId} && pct destroy ${dest.vmId} --purge 1 --destroy-unreferenced-disks 1`;
  return new DriverError('stale_lock', `${head} and no clone task is running on ${node}: an interrupted clone left it half made. `
    + `Proxmox lets only root on the node remove a locked guest; run '${command}' on ${node} (not just an unlock: an unlocked guest counts as a finished clone).`);
}
