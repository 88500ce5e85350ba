/**
 * Destroying a guest in the fake, as qemu-server 9.2.6 (e6352be6, src/PVE/API2/Qemu.pm destroy_vm and
 * PVE/QemuServer.pm destroy_vm) and pve-container 6.1.10 (94f55852, src/PVE/API2/LXC.pm destroy_vm) do:
 * a locked guest is refused whoever asks for it, since `skiplock` is for root@pam alone (never a token,
 * whose user is `user@realm!token`) and a container's destroy has no such option at all.
 */
import { PveError, type FakeCluster, type GuestType } from './fake-cluster.js';
import { isTrue } from './fake-schema.js';

/** `can(privilege, path)`: the token's permission, as pveproxy checks it. */
export type Can = (privilege: string, path: string) => boolean;

/** A handler's `die`: HTTP 500 with the message as the reason phrase. */
export const fail = (message: string): never => {
  throw new PveError(500, message);
};

/** raise_perm_exc: 403, naming the path and privilege where the check says which. */
export const denied = (what?: string): never => {
  throw new PveError(403, `Permission check failed${what ? ` (${what})` : ''}`);
};

/** DELETE /nodes/{node}/{qemu|lxc}/{vmid}: the worker's UPID, or PVE's refusal as a PveError. */
export function destroyGuest(c: FakeCluster, can: Can, at: { node: string; type: GuestType; vmid: string }, p: Record<string, string>): string {
  const { node, type, vmid } = at;
  if (!can('VM.Allocate', `/vms/${vmid}`)) denied(`/vms/${vmid}, VM.Allocate`);
  if (isTrue(p.skiplock)) throw new PveError(400, 'Parameter verification failed.', { skiplock: 'Only root may use this option.' });
  const g = c.guest(node, type, vmid);
  // pve-container checks the lock before forking; qemu-server only in the worker.
  if (type === 'lxc' && g.lock) fail(`CT is locked (${g.lock})`);
  if (g.running && (type === 'qemu' || !isTrue(p.force))) fail(type === 'qemu' ? `VM ${vmid} is running - destroy failed` : `unable to destroy CT ${vmid} - container is running`);
  return c.tasks.start({
    node, vmid, type: type === 'qemu' ? 'qmdestroy' : 'vzdestroy',
    begin: () => {
      if (c.guests.get(vmid) !== g) return c.missingError(node, type, vmid);
      // qemu-server's destroy_vm lets only a `suspended` lock pass.
      const locked = g.lock === 'suspended' && g.flocks.size === 0 ? null : c.lockError(g);
      if (locked) return locked;
      g.lock = 'destroyed';
      return null;
    },
    finish: () => {
      c.guests.delete(vmid);
      return null;
    },
    // A destroy that fails half way leaves the config locked `destroyed`, as PVE's replacement config does.
    abort: () => undefined,
  });
}
