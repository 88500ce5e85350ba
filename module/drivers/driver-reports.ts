import type { Logger } from 'pino';
import type { AuditRepo } from '../db/audit-repo.js';
import type { SnapshotDriver } from './contract.js';

/**
 * What drivers tell an admin without failing anything: a guest found on another node than its
 * service names, credentials lacking a privilege. Each is logged and audited (no service: it is
 * about the hypervisor connection), so it shows in the admin audit log.
 */
export function driverReports(drivers: Record<string, SnapshotDriver>, audit: AuditRepo, logger: Logger) {
  const record = (action: string, details: Record<string, unknown>) => audit.record({ actor: { type: 'system' }, serviceId: null, action, result: 'ok', details })
    .catch((err: unknown) => logger.error({ err, action }, 'could not record a driver report'));
  for (const [name, driver] of Object.entries(drivers)) {
    // The call followed the guest; the panel's record of its node is stale (live migration, HA failover).
    driver.onNotice?.((n) => {
      logger.warn({ driver: name, vmId: n.target.vmId, from: n.from, to: n.to }, 'guest found on another node than its service target names');
      void record(`driver.${n.code}`, { driver: name, vmId: n.target.vmId, guestType: n.target.guestType ?? 'qemu', from: n.from, to: n.to });
    });
  }
  return {
    /** Asks every driver what its credentials lack; never delays or fails the start (the hypervisor may be down). */
    async checkAccess(): Promise<void> {
      for (const [name, driver] of Object.entries(drivers)) {
        if (!driver.checkAccess) continue;
        try {
          const missing = await driver.checkAccess();
          if (missing.length === 0) continue;
          logger.warn({ driver: name, missing }, `hypervisor credentials lack ${missing.map((m) => `${m.privilege} on ${m.path}`).join(', ')}`);
          await record('driver.access_missing', { driver: name, missing });
        } catch (err) {
          logger.warn({ err, driver: name }, 'could not check the hypervisor credentials');
        }
      }
    },
  };
}
