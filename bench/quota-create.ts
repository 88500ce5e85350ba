// `npm run bench:quota`: cost of the atomic quota check + insert (the create path) against a bare
// knex baseline doing the minimum a correct create needs — one transaction with a count and an insert
// — on the same database in the same run. Prints a table and `RESULT {json}` with the ratio.
// SQLite always; MariaDB too when MYSQL_URL is set.
import type { Knex } from 'knex';
import pino from 'pino';
import { migrationConfig } from '../migrations/index.js';
import { createSnapshotModule, simulatedDriver, type PanelService } from '../module/index.js';
import { DATABASES } from '../test/helpers/databases.js';

const N = Number(process.env.BENCH_CREATES ?? 2000);
const SERVICES = 100;
const CONCURRENCY = 20;

async function pool(n: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await work(next++);
  }));
}

async function baseline(db: Knex): Promise<number> {
  await db.schema.createTable('bench_rows', (t) => { t.increments('id'); t.string('service_id', 64).index(); t.string('name', 64); });
  const start = performance.now();
  await pool(N, async (i) => {
    await db.transaction(async (trx) => {
      const row = await trx('bench_rows').where({ service_id: `s${i % SERVICES}` }).count({ n: '*' }).first();
      if (Number(row?.n) < 1000) await trx('bench_rows').insert({ service_id: `s${i % SERVICES}`, name: `b${i}` });
    });
  });
  return N / ((performance.now() - start) / 1000);
}

async function moduleCreates(db: Knex): Promise<number> {
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
  const start = performance.now();
  await pool(N, async (i) => {
    await mod.snapshots.create(services[i % SERVICES]!, { name: `c${i}` }, { actor: { type: 'system' } });
  });
  return N / ((performance.now() - start) / 1000);
}

const results: Record<string, { baselinePerSec: number; createsPerSec: number; ratio: number }> = {};
for (const kind of DATABASES) {
  const a = await kind.create();
  const b = await kind.create();
  try {
    const base = await baseline(a.db);
    const ours = await moduleCreates(b.db);
    results[kind.kind] = { baselinePerSec: Math.round(base), createsPerSec: Math.round(ours), ratio: Number((ours / base).toFixed(3)) };
  } finally {
    await a.destroy();
    await b.destroy();
  }
}
console.table(results);
console.log(`RESULT ${JSON.stringify({ creates: N, services: SERVICES, concurrency: CONCURRENCY, ...results })}`);
