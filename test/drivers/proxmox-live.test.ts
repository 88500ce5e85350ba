import { readFileSync } from 'node:fs';
import { ProxmoxClient } from '../../module/drivers/proxmox/http-client.js';
import { parseProxmoxOptions, type ProxmoxDriverOptions } from '../../module/drivers/proxmox/options.js';
import { proxmoxDriver } from '../../module/drivers/proxmox/proxmox-driver.js';
import { createTlsAgent } from '../../module/drivers/proxmox/tls-agent.js';
import { describeDriverConformance } from './conformance.js';

/**
 * The conformance suite against a real Proxmox VE VM, only when configured:
 *   PROXMOX_URL, PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET, PROXMOX_NODE, PROXMOX_VMID
 * (and PROXMOX_GUEST_TYPE=lxc for a container)
 * and optionally one of PROXMOX_CA_FILE, PROXMOX_FINGERPRINT, PROXMOX_INSECURE=1.
 * Use a throwaway VM: the suite creates, rolls back to and deletes snapshots named `psconf-…`; the
 * rollback (to a disk-only snapshot, without start) leaves the VM stopped. The memory test runs only
 * when the VM is running at the start.
 */
const env = process.env;
const configured = Boolean(env.PROXMOX_URL && env.PROXMOX_TOKEN_ID && env.PROXMOX_TOKEN_SECRET && env.PROXMOX_NODE && env.PROXMOX_VMID);

function liveOptions(): ProxmoxDriverOptions {
  return {
    url: env.PROXMOX_URL!, tokenId: env.PROXMOX_TOKEN_ID!, tokenSecret: env.PROXMOX_TOKEN_SECRET!,
    tls: env.PROXMOX_CA_FILE ? { ca: readFileSync(env.PROXMOX_CA_FILE, 'utf8') }
      : env.PROXMOX_FINGERPRINT ? { fingerprint: env.PROXMOX_FINGERPRINT }
        : env.PROXMOX_INSECURE === '1' ? { insecure: true } : {},
    timeouts: { requestMs: 30_000, capabilitiesCacheMs: 60_000 },
  };
}

describeDriverConformance('proxmox (live VM)', async () => {
  const options = liveOptions();
  // PROXMOX_GUEST_TYPE=lxc runs the suite against a container instead.
  const guestType = env.PROXMOX_GUEST_TYPE === 'lxc' ? 'lxc' as const : 'qemu' as const;
  const target = { driver: 'proxmox', node: env.PROXMOX_NODE!, vmId: env.PROXMOX_VMID!, guestType };
  // Proxmox saves RAM only from a running VM; for a stopped one the driver is configured without memory.
  const config = parseProxmoxOptions(options);
  const client = new ProxmoxClient({
    baseUrl: config.url, tokenId: config.tokenId, tokenSecret: config.tokenSecret, agent: createTlsAgent(config.tls), timeoutMs: 30_000,
  });
  const status = await client.get<{ status?: string }>(`/nodes/${target.node}/${guestType}/${target.vmId}/status/current`);
  client.close();
  const driver = proxmoxDriver({ ...options, memory: status?.status === 'running' });
  return {
    driver, target, namePrefix: 'psconf', taskTimeoutMs: 600_000, pollIntervalMs: 1_000,
    async cleanup() {
      driver.close();
    },
  };
}, { skip: !configured, testTimeoutMs: 1_800_000 });
