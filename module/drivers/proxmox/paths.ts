import { DriverError, type HypervisorTarget } from '../contract.js';

const NODE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const VMID = /^[1-9][0-9]{2,8}$/;

/** `/nodes/{node}/qemu/{vmid}`, refusing targets that are not a Proxmox node name and VM id. */
export function vmPath(target: HypervisorTarget): string {
  if (!NODE.test(target.node) || !VMID.test(target.vmId)) {
    throw new DriverError('rejected', `not a Proxmox target: node '${target.node}', VM id '${target.vmId}'`);
  }
  return `/nodes/${target.node}/qemu/${target.vmId}`;
}
