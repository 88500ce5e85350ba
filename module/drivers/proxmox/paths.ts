import { DriverError, type HypervisorTarget } from '../contract.js';

const NODE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const VMID = /^[1-9][0-9]{2,8}$/;

export type GuestType = 'qemu' | 'lxc';

export function guestTypeOf(target: HypervisorTarget): GuestType {
  return target.guestType ?? 'qemu';
}

/** What PVE calls the guest in its messages and what unlocks it on the node. */
export function guestWords(type: GuestType): { noun: 'VM' | 'CT'; cli: 'qm' | 'pct' } {
  return type === 'lxc' ? { noun: 'CT', cli: 'pct' } : { noun: 'VM', cli: 'qm' };
}

/**
 * `/nodes/{node}/qemu/{vmid}` or `/nodes/{node}/lxc/{vmid}`, refusing targets that are not a Proxmox
 * node name and guest id. `node` is where the guest was last found, which may differ from the stored one.
 */
export function guestPath(target: HypervisorTarget, node: string = target.node): string {
  if (!NODE.test(node) || !VMID.test(target.vmId)) {
    throw new DriverError('rejected', `not a Proxmox target: node '${node}', VM id '${target.vmId}'`);
  }
  return `/nodes/${node}/${guestTypeOf(target)}/${target.vmId}`;
}

export function nodePath(node: string): string {
  if (!NODE.test(node)) throw new DriverError('rejected', `not a Proxmox node name: '${node}'`);
  return `/nodes/${node}`;
}
