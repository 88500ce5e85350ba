import { DriverError, type DriverNotice, type HypervisorTarget } from '../contract.js';
import type { ProxmoxClient } from './http-client.js';
import { guestTypeOf } from './paths.js';

/** One entry of GET /cluster/resources?type=vm (only guests the token may audit are listed). */
export interface PveResource {
  vmid?: number;
  node?: string;
  type?: string;
  /** The config's `lock` (pve-manager lists it for qemu and lxc guests). */
  lock?: string;
}

/**
 * Where a guest lives now. A service's stored node goes stale after a live migration or an HA
 * failover, and a node answers only for guests in its own config directory; the cluster-wide
 * resource list is the one place that knows. The node last found is remembered per guest, so only
 * the first call after a move pays for the look-up.
 */
export class GuestLocator {
  private readonly found = new Map<string, string>();
  private readonly listeners: ((notice: DriverNotice) => void)[] = [];

  constructor(private readonly client: ProxmoxClient) {}

  onNotice(listener: (notice: DriverNotice) => void): void {
    this.listeners.push(listener);
  }

  /** The node to ask first: where the guest was last found, else the stored one. */
  nodeOf(target: HypervisorTarget): string {
    return this.found.get(key(target)) ?? target.node;
  }

  /**
   * Asks the cluster where the guest is. Throws `guest_missing` (with `cause` as the node's words)
   * when it is on no node, or on the very node that just said it is not there.
   */
  async locate(target: HypervisorTarget, cause: DriverError): Promise<string> {
    const asked = this.nodeOf(target);
    const type = guestTypeOf(target);
    const found = await this.find(target.vmId);
    const here = found?.type === type ? found : undefined;
    if (!here?.node || here.node === asked) {
      const where = here?.node ? `the cluster lists it on ${here.node}` : 'the cluster lists it on no node';
      throw new DriverError('guest_missing', `${cause.detail} (${type} ${target.vmId}: ${where})`);
    }
    this.found.set(key(target), here.node);
    if (here.node !== target.node) {
      for (const l of this.listeners) l({ code: 'guest_moved', target, from: asked, to: here.node });
    }
    return here.node;
  }

  /** The guest with this id on any node, of either type (ids are unique across both), if the token may see it. */
  async find(vmId: string): Promise<PveResource | undefined> {
    const all = await this.client.get<PveResource[]>('/cluster/resources', { type: 'vm' });
    return (all ?? []).find((r) => String(r.vmid) === vmId);
  }
}

const key = (t: HypervisorTarget) => `${guestTypeOf(t)}/${t.vmId}`;
