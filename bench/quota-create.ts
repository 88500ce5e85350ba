// `npm run bench:quota`: cost of the atomic quota check + insert (the create path) against a bare
// knex baseline doing the minimum a correct create needs — one transaction with a count and an insert
// — on the same database in the same run. Prints a table and `RESULT {json}` with the ratio, the
// statements each sends per create (counted on the client, BEGIN and COMMIT included) and Node's CPU
// per create. SQLite always; MariaDB too when MYSQL_URL is set.
import type { Knex } from 'knex';
import { loadavg } from 'node:os';
import pino from 'pino';
import { migrationConfig } from '../migrations/index.js';
import { createSnapshotModule, simulatedDriver, type PanelService } from '../module/index.js';
import { DATABASES } from '../test/helpers/databases.js';

const N = Number(process.env.BENCH_CREATES ?? 2000);
const SERVICES = 100;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);

interface Timed { perSec: number; statementsPerCreate: number; cpuMsPerCreate: number }

/** Runs `work` N times, CONCURRENCY at a time, counting the statements sent on `db` and Node's CPU. */
async function pool(db: Knex, work: (i: number) => Promise<void>): Promise<Timed> {
  let next = 0;
  let statements = 0;
  const count = () => { statements++; };
  db.on('query', count);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) await work(next++);
  }));
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  db.off('query', count);
  return { perSec: N / seconds, statementsPerCreate: statements / N, cpuMsPerCreate: (used.user + used.system) / 1000 / N };
}

async function baseline(db: Knex): Promise<Timed> {
  await db.schema.createTable('bench_rows', (t) => { t.increments('id'); t.string('service_id', 64).index(); t.string('name', 64); });
  return pool(db, async (i) => {
    await db.transaction(async (trx) => {
      const row = await trx('bench_rows').where({ service_id: `s${i % SERVICES}` }).count({ n: '*' }).first();
      if (Number(row?.n) < 1000) await trx('bench_rows').insert({ service_id: `s${i % SERVICES}`, name: `b${i}` });
    });
  });
}

async function moduleCreates(db: Knex): Promise<Timed> {
  await db.migrate.latest(migrationConfig);
  const services = Array.from({ length: SERVICES }, (_, i): PanelService => ({
    id: `s${i}`, name: `s${i}`, ownerId: 'u', planId: 'p', diskBytes: 1, status: 'active', target: { driver: 'simulated', node: 'n', vmId: String(i) },
  }));
  const mod = await createSnapshotModule({
    db, panel: { getActor: () => null, getService: (id) => services.find((s) => s.id === id) ?? null },
    drivers: { simulated: simulatedDriver() },
    config: { csrfSecret: 'bench-secret-bench-secret-bench-secret', defaultLimits: { maxSnapshots: 1000, maxSchedules: 1, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true } },
    logger: pino({ level: 'silent' }),
  });
  return pool(db, async (i) => {
    await mod.snapshots.create(services[i % SERVICES]!, { name: `c${i}` }, { actor: { type: 'system' } });
  });
}

const results: Record<string, Record<string, number>> = {};
const round = (n: number, digits: number) => Number(n.toFixed(digits));
for (const kind of DATABASES) {
  const a = await kind.create();
  const b = await kind.create();
  try {
    const base = await baseline(a.db);
    const ours = await moduleCreates(b.db);
    results[kind.kind] = {
      baselinePerSec: Math.round(base.perSec), createsPerSec: Math.round(ours.perSec), ratio: round(ours.perSec / base.perSec, 3),
      baselineStatements: round(base.statementsPerCreate, 2), statements: round(ours.statementsPerCreate, 2),
      baselineCpuMs: round(base.cpuMsPerCreate, 3), cpuMs: round(ours.cpuMsPerCreate, 3),
    };
  } finally {
    await a.destroy();
    await b.destroy();
  }
}
console.table(results);
console.log(`RESULT ${JSON.stringify({ creates: N, services: SERVICES, concurrency: CONCURRENCY, ...results, loadAvg1m: round(loadavg()[0]!, 2) })}`);
