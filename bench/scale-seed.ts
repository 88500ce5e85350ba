// The data bench/scale.ts measures against: a hosting company's worth of snapshots on MariaDB,
// written with multi-row inserts straight into the module's tables (made by its own migrations).
import type { Knex } from 'knex';
import type { HypervisorTarget, PanelService } from '../module/index.js';

export const SCALE = {
  services: Number(process.env.BENCH_SERVICES ?? 10_000),
  customers: 3_000,
  resellers: 50,
  snapshots: Number(process.env.BENCH_SNAPSHOTS ?? 100_000),
  /** The one service with a long list. */
  bigService: 500,
  audit: Number(process.env.BENCH_AUDIT ?? 200_000),
  operations: Number(process.env.BENCH_OPERATIONS ?? 50_000),
};

const DAY = 86_400_000;
const BATCH = 1_000;
const ZONES = ['UTC', 'Asia/Seoul', 'Asia/Tokyo', 'Europe/Berlin', 'America/New_York'];
const ACTIONS = ['snapshot.create', 'operation.create', 'snapshot.delete', 'operation.delete', 'snapshot.pin', 'snapshot.edit', 'schedule.update', 'snapshot.restore'];

export const serviceId = (i: number) => `svc-${String(i).padStart(5, '0')}`;
export const customerOf = (i: number) => `cust-${i % SCALE.customers}`;
/** Every other customer buys through a reseller. */
export const resellerOf = (customer: number) => (customer % 2 === 0 ? `res-${customer % SCALE.resellers}` : null);
export const BIG = serviceId(0);
export const TYPICAL = serviceId(1);

export function panelServices(): PanelService[] {
  return Array.from({ length: SCALE.services }, (_, i) => ({
    id: serviceId(i), name: `vps-${i}`, hostname: `vps-${i}.example.test`, ownerId: customerOf(i), resellerId: resellerOf(i % SCALE.customers),
    planId: 'std', diskBytes: 40 * 1024 ** 3, status: 'active',
    target: { driver: 'simulated', node: `node${i % 40}`, vmId: String(1000 + i) } satisfies HypervisorTarget,
  }));
}

/** Which service the k-th snapshot belongs to: the big one gets the first 500, the rest spread evenly. */
const snapshotService = (k: number) => (k < SCALE.bigService ? 0 : 1 + ((k - SCALE.bigService) % (SCALE.services - 1)));

export interface SeededSnapshot { serviceIndex: number; hvName: string; onHypervisor: boolean }

async function insertAll(db: Knex, table: string, n: number, row: (i: number) => Record<string, unknown>): Promise<void> {
  for (let start = 0; start < n; start += BATCH) {
    await db(table).insert(Array.from({ length: Math.min(BATCH, n - start) }, (_, j) => row(start + j)));
  }
}

/** Writes everything; returns what the simulated hypervisor should hold. */
export async function seed(db: Knex, now = Date.now()): Promise<SeededSnapshot[]> {
  const at = new Date(now);
  // A weekday three days away: no schedule comes due while the benchmark runs.
  const day = String((new Date(now).getUTCDay() + 3) % 7);
  await db('snapshot_plan_limits').insert({ plan_id: 'std', max_snapshots: 20, max_schedules: 3, max_keep: 10, memory_allowed: true, schedules_allowed: true, updated_at: at });
  await insertAll(db, 'snapshot_services', SCALE.services, (i) => ({
    service_id: serviceId(i), plan_id: 'std', owner_id: customerOf(i), override_max_snapshots: i === 0 ? 600 : null,
    suspended: false, terminated: false, created_at: at, updated_at: at,
  }));
  await insertAll(db, 'snapshot_schedules', SCALE.services, (i) => ({
    service_id: serviceId(i), name: 'Nightly', enabled: true, days: day, hour: i % 24, minute: (i * 7) % 60, timezone: ZONES[i % ZONES.length],
    keep: 7, include_memory: false, last_run_at: new Date(now - 3 * DAY), last_result: 'ok', created_at: at, updated_at: at,
  }));
  const snaps: SeededSnapshot[] = [];
  await insertAll(db, 'snapshot_snapshots', SCALE.snapshots, (k) => {
    const s = snapshotService(k);
    const status = k % 100 === 7 ? 'error' : k % 200 === 11 ? 'failed' : k % 300 === 13 ? 'unmanaged' : 'active';
    const hvName = `psnap-${(now - 400 * DAY + k * 1000).toString(36)}-${k.toString(36)}`;
    snaps.push({ serviceIndex: s, hvName, onHypervisor: status === 'active' || status === 'unmanaged' });
    const fromSchedule = k % 5 < 3;
    return {
      service_id: serviceId(s), name: fromSchedule ? `Nightly ${k}` : `Before upgrade ${k}`, description: k % 4 === 0 ? `Release ${k} & config` : null,
      hv_name: hvName, status, pinned: k % 20 === 0, include_memory: false, origin: status === 'unmanaged' ? 'adopted' : fromSchedule ? 'schedule' : 'manual',
      schedule_id: fromSchedule ? s + 1 : null, disk_bytes: 2 * 1024 ** 3, memory_bytes: null,
      error_code: status === 'error' ? 'snapshot_vanished' : status === 'failed' ? 'driver_rejected' : null,
      error_message: status === 'error' ? 'not found on the hypervisor' : null, created_by: fromSchedule ? null : customerOf(s),
      created_at: new Date(now - 365 * DAY + Math.floor((k / SCALE.snapshots) * 360 * DAY)), completed_at: at, updated_at: at,
    };
  });
  await insertAll(db, 'snapshot_operations', SCALE.operations, (k) => {
    const created = new Date(now - 365 * DAY + Math.floor((k / SCALE.operations) * 364 * DAY));
    return {
      service_id: serviceId(k % SCALE.services), snapshot_id: 1 + ((k * 7) % SCALE.snapshots), kind: k % 20 === 0 ? 'restore' : k % 4 === 0 ? 'delete' : 'create',
      status: k % 25 === 0 ? 'failed' : 'succeeded', attempts: 1, driver: 'simulated', node: `node${k % 40}`, vm_id: String(1000 + (k % SCALE.services)),
      driver_task: null, payload: null, error_code: k % 25 === 0 ? 'driver_rejected' : null, error_message: null, origin: k % 3 === 0 ? 'schedule' : 'customer',
      requested_by: null, locked_by: null, locked_until: null, run_after: created, created_at: created, started_at: created, finished_at: new Date(created.getTime() + 30_000), updated_at: created,
    };
  });
  // The last week holds one scheduled run per schedule (and its snapshot's create), as the health page reads them.
  const recent = Math.min(SCALE.services * 2, Math.floor(SCALE.audit / 2));
  const older = SCALE.audit - recent;
  await insertAll(db, 'snapshot_audit_events', SCALE.audit, (k) => {
    if (k < older) {
      const s = k % SCALE.services;
      return {
        occurred_at: new Date(now - 365 * DAY + Math.floor((k / older) * 357 * DAY)), actor_type: k % 3 === 0 ? 'schedule' : 'customer', actor_id: k % 3 === 0 ? null : customerOf(s),
        service_id: serviceId(s === 0 || k % 50 !== 0 ? s : 0), snapshot_id: 1 + (k % SCALE.snapshots), snapshot_name: `Snapshot ${k}`, action: ACTIONS[k % ACTIONS.length],
        result: k % 40 === 0 ? 'failed' : 'ok', from_status: null, to_status: null, code: null, details: k % 2 ? JSON.stringify({ operationId: k }) : null, ip: null,
      };
    }
    const r = k - older;
    const s = Math.floor(r / 2) % SCALE.services;
    const occurrence = new Date(now - 7 * DAY + Math.floor((r / recent) * 7 * DAY));
    const run = r % 2 === 0;
    return {
      occurred_at: new Date(occurrence.getTime() + (run ? 800 + (r % 50) * 100 : 40_000)), actor_type: 'schedule', actor_id: null, service_id: serviceId(s),
      snapshot_id: null, snapshot_name: `Nightly ${r}`, action: run ? 'schedule.run' : 'operation.create', result: r % 97 === 0 ? 'failed' : 'ok',
      from_status: null, to_status: null, code: null, ip: null,
      details: JSON.stringify(run ? { scheduleId: s + 1, name: 'Nightly', occurrence: occurrence.toISOString() } : { operationId: r }),
    };
  });
  return snaps;
}
