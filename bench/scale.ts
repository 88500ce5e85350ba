// `npm run bench:scale` — the module at a hosting company's size on MariaDB (MYSQL_URL, default
// mysql://root@127.0.0.1:3306/test; database BENCH_DB_NAME, default bench_scale, dropped and made
// again): 10,000 services of 3,000 customers and 50 resellers, 100,000 snapshots (one service with
// 500), 10,000 schedules, 200,000 audit events, 50,000 finished operations. In a process of its own
// (so seeding leaves nothing in its memory), first the compiled build under plain node (built when
// dist/ is missing or stale), then the sources under tsx (BENCH_RUNTIMES, default `node,tsx`): the
// module's start with 10,000 schedule jobs to sync on a fresh job store; RSS after start and after
// 2,000 mixed page requests, with where it is; warm p50/p95 of each page through the real routers;
// EXPLAIN of each page's reads (`!` marks a full scan of a big table); and, in the first runtime
// only, one reconcile pass and its statements per service and a second start. Prints a table, then
// `RESULT {json}` (the first runtime's figures, and `runtimes` with each one's memory).
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import knex from 'knex';
import { migrationConfig } from '../migrations/index.js';
import type { MemoryReading } from './scale-memory.js';
import type { Measured } from './scale-measure.js';
import { childFor, type Runtime } from './scale-runtimes.js';
import { seed } from './scale-seed.js';

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const DB_NAME = process.env.BENCH_DB_NAME ?? 'bench_scale';
const RUNTIMES = (process.env.BENCH_RUNTIMES ?? 'node,tsx').split(',') as Runtime[];

/** Seeds BENCH_DB_NAME, or with BENCH_REUSE=1 keeps an earlier run's (to look at memory again quickly). */
async function prepare(): Promise<{ url: string; seedSeconds: number }> {
  const url = new URL(MYSQL_URL);
  url.pathname = `/${DB_NAME}`;
  if (process.env.BENCH_REUSE === '1') return { url: url.toString(), seedSeconds: 0 };
  const admin = knex({ client: 'mysql2', connection: MYSQL_URL });
  await admin.raw(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
  await admin.raw(`CREATE DATABASE \`${DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.destroy();
  const db = knex({ client: 'mysql2', connection: url.toString() });
  const t = performance.now();
  await db.migrate.latest(migrationConfig);
  await seed(db);
  await db.raw('ANALYZE TABLE snapshot_snapshots, snapshot_audit_events, snapshot_operations, snapshot_schedules, snapshot_services');
  await db.destroy();
  return { url: url.toString(), seedSeconds: (performance.now() - t) / 1000 };
}

/** Each runtime starts from a fresh job store: the start-up syncs all 10,000 schedule jobs. */
async function freshJobStore(url: string): Promise<void> {
  const db = knex({ client: 'mysql2', connection: url });
  await db('snapshot_jobs').delete();
  await db.destroy();
}

async function inChild(url: string, runtime: Runtime, full: boolean): Promise<Measured> {
  await freshJobStore(url);
  const spec = childFor(runtime);
  const child = fork(spec.file, [url, spec.entryUrl, full ? 'full' : 'memory'], { execArgv: spec.execArgv, env: spec.env });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as Measured));
    child.once('exit', (code) => reject(new Error(`measuring process exited with ${code}`)));
  });
}

const ms = (n: number) => n.toFixed(1).padStart(8);
const MEMORY_COLUMNS: (keyof MemoryReading)[] = ['rss', 'heapTotal', 'heapUsed', 'newSpace', 'oldSpace', 'code', 'largeObjects', 'external', 'rest', 'fileBacked'];

function printMemory(runtime: Runtime, m: Measured): void {
  console.log(`\nmemory, ${runtime === 'node' ? 'compiled build under plain node' : 'sources under tsx'} (MB; execArgv ${m.execArgv.join(' ')})`);
  console.log(`${''.padEnd(20)}${MEMORY_COLUMNS.map((c) => c.padStart(13)).join('')}`);
  for (const [when, r] of Object.entries(m.memory)) {
    if (r) console.log(`${when.padEnd(20)}${MEMORY_COLUMNS.map((c) => r[c].toFixed(1).padStart(13)).join('')}`);
  }
}

async function main(): Promise<void> {
  const { url, seedSeconds } = await prepare();
  console.log(`seeded ${DB_NAME} in ${seedSeconds.toFixed(1)} s`);
  const results = new Map<Runtime, Measured>();
  for (const [i, runtime] of RUNTIMES.entries()) results.set(runtime, await inChild(url, runtime, i === 0));
  const m = results.get(RUNTIMES[0]!)!;
  for (const [runtime, r] of results) printMemory(runtime, r);
  console.log(`\nstart (${RUNTIMES[0]}): first ${m.startupSeconds.first.toFixed(2)} s (fresh job store), second ${m.startupSeconds.second!.toFixed(2)} s`);
  for (const [runtime, r] of results) {
    console.log(`RSS (${runtime}): ${r.rssMb.afterStart} MB after start, ${r.rssMb.afterRequests} MB after the page runs and ${r.mixedRequests} mixed requests (${r.rssMb.mixedRunLow}–${r.rssMb.mixedRunHigh} MB during them), ${r.memory.afterRequestsGc?.rss} MB after full collections`);
  }
  console.log(`reconcile: ${m.reconcile!.services} services in ${m.reconcile!.seconds.toFixed(1)} s, ${m.reconcile!.statementsPerService.toFixed(2)} statements per service\n`);
  console.log(`${'page'.padEnd(26)}${'p50 ms'.padStart(8)}${'p95 ms'.padStart(8)}${'kB'.padStart(8)}${'stmts'.padStart(7)}  plans (table:access(key)~rows; ! full scan of a big table, * whole index read)`);
  for (const [key, p] of Object.entries(m.pages)) {
    console.log(`${key.padEnd(26)}${ms(p.p50)}${ms(p.p95)}${(p.bytes / 1024).toFixed(0).padStart(8)}${String(p.statements).padStart(7)}  ${p.plans}`);
  }
  const fullScans = Object.entries(m.pages).filter(([, p]) => p.fullScan).map(([k]) => k);
  const fullIndexReads = Object.entries(m.pages).filter(([, p]) => p.fullIndex).map(([k]) => k);
  console.log(fullScans.length ? `\nfull scans (ALL) of a big table on: ${fullScans.join(', ')}` : '\nno full scan (ALL) of a big table on any page');
  console.log(fullIndexReads.length ? `whole-index reads on: ${fullIndexReads.join(', ')}` : 'no whole-index read on any page');
  const runtimes = Object.fromEntries([...results].map(([k, r]) => [k, { rssMb: r.rssMb, memory: r.memory }]));
  const { memory: _memory, ...headline } = m;
  console.log(`RESULT ${JSON.stringify({ seedSeconds: +seedSeconds.toFixed(1), runtime: RUNTIMES[0], ...headline, fullScans, fullIndexReads, runtimes, loadAvg1m: +loadavg()[0]!.toFixed(2) })}`);
}

await main();
