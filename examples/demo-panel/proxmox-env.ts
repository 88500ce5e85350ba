import { readFileSync } from 'node:fs';
import { proxmoxDriver, type HypervisorTarget, type PanelService, type SnapshotDriver } from '../../module/index.js';

/**
 * Optional: point demo services at real Proxmox VE VMs instead of the simulated hypervisor.
 *
 *   PROXMOX_URL, PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET, PROXMOX_NODE   the cluster and node
 *   PROXMOX_VMID=105                      vps-101 (alice's web-01) snapshots VM 105
 *   PROXMOX_SERVICES=vps-101=105,vps-102=pve2/106   more services (node/vmid or vmid on PROXMOX_NODE)
 *   PROXMOX_CA_FILE | PROXMOX_FINGERPRINT | PROXMOX_INSECURE=1   TLS (default: system CAs)
 *
 * Unset: everything stays simulated.
 */
export function proxmoxFromEnv(env: NodeJS.ProcessEnv): {
  driver: SnapshotDriver;
  retarget: (service: PanelService | null) => PanelService | null;
  targets: Map<string, HypervisorTarget>;
} | null {
  if (!env.PROXMOX_URL) return null;
  const driver = proxmoxDriver({
    url: env.PROXMOX_URL, tokenId: env.PROXMOX_TOKEN_ID ?? '', tokenSecret: env.PROXMOX_TOKEN_SECRET ?? '',
    tls: env.PROXMOX_CA_FILE ? { ca: readFileSync(env.PROXMOX_CA_FILE, 'utf8') }
      : env.PROXMOX_FINGERPRINT ? { fingerprint: env.PROXMOX_FINGERPRINT }
        : env.PROXMOX_INSECURE === '1' ? { insecure: true } : {},
  });
  const targets = new Map<string, HypervisorTarget>();
  const pairs = [env.PROXMOX_VMID ? `vps-101=${env.PROXMOX_VMID}` : '', ...(env.PROXMOX_SERVICES ?? '').split(',')];
  for (const pair of pairs.map((p) => p.trim()).filter(Boolean)) {
    const [serviceId, where] = pair.split('=');
    const [node, vmId] = where?.includes('/') ? where.split('/') : [env.PROXMOX_NODE, where];
    if (!serviceId || !node || !vmId) throw new Error(`PROXMOX_SERVICES: cannot read '${pair}' (service=vmid or service=node/vmid)`);
    targets.set(serviceId, { driver: driver.name, node, vmId });
  }
  if (targets.size === 0) throw new Error('PROXMOX_URL is set but no VM is named: set PROXMOX_VMID or PROXMOX_SERVICES');
  return {
    driver, targets,
    retarget: (service) => (service && targets.has(service.id) ? { ...service, target: { ...targets.get(service.id)! } } : service),
  };
}
