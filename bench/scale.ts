// `npm run bench:scale` — the module at a hosting company's size on MariaDB (MYSQL_URL, default
// mysql://root@127.0.0.1:3306/test; database BENCH_DB_NAME, default bench_scale, dropped and made
// again): 10,000 services of 3,000 customers and 50 resellers, 100,000 snapshots (one service with
// 500), 10,000 schedules, 200,000 audit events, 50,000 finished operations. In a process of its own
// (so seeding leaves nothing in its memory): the module's start with 10,000 schedule jobs to sync, on
// a fresh job store and again; RSS after start and after 2,000 mixed page requests; warm p50/p95 of
// each page through the real routers; EXPLAIN of each page's reads (`!` marks a full scan of a big
// table); one reconcile pass and its statements per service. Prints a table, then `RESULT {json}`.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import knex from 'knex';
import { migrationConfig } from '../migrations/index.js';
import { measure, type Measured } from './scale-measure.js';
import { seed } from './scale-seed.js';

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const DB_NAME = process.env.BENCH_DB_NAME ?? 'bench_scale';

async function prepare(): Promise<{ url: string; seedSeconds: number }> {
  const admin = knex({ client: 'mysql2', connection: MYSQL_URL });
  await admin.raw(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
  await admin.raw(`CREATE DATABASE \`${DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.destroy();
  const url = new URL(MYSQL_URL);
  url.pathname = `/${DB_NAME}`;
  const db = knex({ client: 'mysql2', connection: url.toString() });
  const t = performance.now();
  await db.migrate.latest(migrationConfig);
  await seed(db);
  await db.raw('ANALYZE TABLE snapshot_snapshots, snapshot_audit_events, snapshot_operations, snapshot_schedules, snapshot_services');
  await db.destroy();
  return { url: url.toString(), seedSeconds: (performance.now() - t) / 1000 };
}

function inChild(url: string): Promise<Measured> {
  const child = fork(fileURLToPath(import.meta.url), ['measure', url], { execArgv: process.execArgv });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as Measured));
    child.once('exit', (code) => reject(new Error(`measuring process exited with ${code}`)));
  });
}

const ms = (n: number) => n.toFixed(1).padStart(8);

async function main(): Promise<void> {
  const { url, seedSeconds } = await prepare();
  console.log(`seeded ${DB_NAME} in ${seedSeconds.toFixed(1)} s`);
  const m = await inChild(url);
  console.log(`\nstart: first ${m.startupSeconds.first.toFixed(2)} s (fresh job store), second ${m.startupSeconds.second.toFixed(2)} s`);
  console.log(`RSS: ${m.rssMb.afterStart.toFixed(0)} MB after start, ${m.rssMb.afterRequests.toFixed(0)} MB after ${m.mixedRequests} mixed requests`);
  console.log(`reconcile: ${m.reconcile.services} services in ${m.reconcile.seconds.toFixed(1)} s, ${m.reconcile.statementsPerService.toFixed(2)} statements per service\n`);
  console.log(`${'page'.padEnd(26)}${'p50 ms'.padStart(8)}${'p95 ms'.padStart(8)}${'kB'.padStart(8)}${'stmts'.padStart(7)}  plans (table:access(key)~rows; ! full scan of a big table, * whole index read)`);
  for (const [key, p] of Object.entries(m.pages)) {
    console.log(`${key.padEnd(26)}${ms(p.p50)}${ms(p.p95)}${(p.bytes / 1024).toFixed(0).padStart(8)}${String(p.statements).padStart(7)}  ${p.plans}`);
  }
  const fullScans = Object.entries(m.pages).filter(([, p]) => p.fullScan).map(([k]) => k);
  const fullIndexReads = Object.entries(m.pages).filter(([, p]) => p.fullIndex).map(([k]) => k);
  console.log(fullScans.length ? `\nfull scans (ALL) of a big table on: ${fullScans.join(', ')}` : '\nno full scan (ALL) of a big table on any page');
  console.log(fullIndexReads.length ? `whole-index reads on: ${fullIndexReads.join(', ')}` : 'no whole-index read on any page');
  console.log(`RESULT ${JSON.stringify({ seedSeconds: +seedSeconds.toFixed(1), ...m, fullScans, fullIndexReads })}`);
}

if (process.argv[2] === 'measure') {
  const result = await measure(process.argv[3]!);
  process.send!(result, () => process.exit(0));
} else {
  await main();
}
