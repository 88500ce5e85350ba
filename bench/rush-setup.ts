// What bench:scheduler, bench:rush and bench:statements share: a fresh MariaDB database, the panel's
// services spread over hypervisor nodes, a module instance on a simulated hypervisor, and the
// schedules of a rush all due the same minute.
import knex, { type Knex } from 'knex';
import pino from 'pino';
import { createSnapshotModule, simulatedDriver, type PanelService, type SnapshotModule } from '../module/index.js';
import type { SnapshotModuleConfigInput } from '../module/config/options.js';
import { SCHEDULE_JOB } from '../module/scheduler/agenda-scheduler.js';

/** Schedules per service (the default limits allow them, with room for their snapshots). */
export const PER_SERVICE = 10;

export function mysqlUrl(): string {
  const url = process.env.MYSQL_URL;
  if (!url) {
    console.error('Set MYSQL_URL (e.g. mysql://root@127.0.0.1:3306/test): the rush runs on MariaDB/MySQL.');
    process.exit(1);
  }
  return url;
}

/**
 * A new database `name`; `pool` extends the module's pool (a StatementMeter's afterCreate). Its idle
 * connections are kept for the whole run, so a metered connection never closes uncounted.
 */
export async function freshDatabase(base: string, pool: Knex.PoolConfig = {}): Promise<{ db: Knex; url: string; drop(): Promise<void> }> {
  const name = benchDbName(base);
  const admin = knex({ client: 'mysql2', connection: mysqlUrl() });
  await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const url = new URL(mysqlUrl());
  url.pathname = `/${name}`;
  const db = knex({ client: 'mysql2', connection: url.toString(), pool: { min: 0, max: 20, idleTimeoutMillis: 30 * 60_000, ...pool } });
  return { db, url: url.toString(), drop: async () => { await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``); await admin.destroy(); } };
}

/**
 * The bench database's name: `BENCH_DB_SUFFIX` added, so two checkouts benchmarking on one server at
 * once do not drop each other's database.
 */
export function benchDbName(base: string): string {
  return `${base}${process.env.BENCH_DB_SUFFIX ?? ''}`;
}

/** `count` services, round-robin over `nodes` hypervisor nodes. */
export function benchServices(count: number, nodes = 50): PanelService[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `svc-${i}`, name: `svc-${i}`, ownerId: 'bench', planId: 'bench', diskBytes: 1, status: 'active',
    target: { driver: 'simulated', node: `node${i % nodes}`, vmId: String(i) },
  }));
}

export interface BenchModuleOptions {
  /** The simulated hypervisor's time per snapshot, [min, max] ms (default 0: instant). */
  createMs?: [number, number];
  operations?: NonNullable<SnapshotModuleConfigInput['operations']>;
  scheduler?: NonNullable<SnapshotModuleConfigInput['scheduler']>;
}

export function moduleOn(db: Knex, services: PanelService[], o: BenchModuleOptions = {}): Promise<SnapshotModule> {
  const byId = new Map(services.map((s) => [s.id, s]));
  return createSnapshotModule({
    db, panel: { getActor: () => null, getService: (id) => byId.get(id) ?? null },
    drivers: { simulated: simulatedDriver(o.createMs ? { delayMs: { create: o.createMs } } : {}) },
    config: {
      csrfSecret: 'bench-secret-bench-secret-bench-secret',
      defaultLimits: { maxSnapshots: PER_SERVICE * 2, maxSchedules: PER_SERVICE, maxKeep: 5, memoryAllowed: false, schedulesAllowed: true },
      scheduler: { processEveryMs: 200, concurrency: 20, ...o.scheduler },
      operations: { pollMs: 200, concurrency: 8, perNodeConcurrency: 4, ...o.operations },
    },
    logger: pino({ level: 'silent' }),
  });
}

/** `n` schedules (PER_SERVICE per service) due this very minute, inserted as the panel would have them. */
export async function seedSchedules(db: Knex, services: PanelService[], n: number, now = new Date()): Promise<void> {
  const rows = services.flatMap((s) => Array.from({ length: PER_SERVICE }, (_, k) => ({ serviceId: s.id, k })))
    .slice(0, n)
    .map(({ serviceId, k }) => ({
      service_id: serviceId, name: `s${k}`, enabled: true, days: String(now.getUTCDay()), hour: now.getUTCHours(),
      minute: now.getUTCMinutes(), timezone: 'UTC', keep: 5, include_memory: false, created_at: now, updated_at: now,
    }));
  for (let i = 0; i < rows.length; i += 500) await db('snapshot_schedules').insert(rows.slice(i, i + 500));
}

/** Makes every schedule job due at `at` (the rush starts). */
export async function makeAllDue(db: Knex, at: Date): Promise<void> {
  await db('snapshot_jobs').where({ name: SCHEDULE_JOB }).update({ next_run_at: at });
}

/** Polls `check` every 250 ms until it says done or `limitMs` passed. */
export async function until(check: () => Promise<boolean>, limitMs: number): Promise<void> {
  const t0 = Date.now();
  while (!(await check()) && Date.now() - t0 < limitMs) await new Promise((r) => setTimeout(r, 250));
}

/** Schedules run so far (their outcome recorded). */
export async function schedulesRun(db: Knex): Promise<number> {
  return Number((await db('snapshot_schedules').whereNotNull('last_result').count({ n: '*' }).first())!.n);
}

/** Operations not yet over. */
export async function operationsLeft(db: Knex): Promise<number> {
  return Number((await db('snapshot_operations').whereIn('status', ['queued', 'running']).count({ n: '*' }).first())!.n);
}
