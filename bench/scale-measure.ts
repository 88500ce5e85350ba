// bench/scale.ts's measuring process: start-up, memory, pages, plans and a reconcile pass.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import knex, { type Knex } from 'knex';
import type { SimulatedDriver } from '../module/drivers/simulated/simulated-driver.js';
import { explainAll, planSummary, StatementLog } from './scale-explain.js';
import { memoryReading, settledReading, type MemoryReading } from './scale-memory.js';
import { mixedCase, pageCases, type PageCase } from './scale-pages.js';
import { ACTOR_HEADER, benchDriver, hostApp, scaleModule, type ModuleEntry } from './scale-panel.js';
import { panelServices } from './scale-seed.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const MIXED = 2_000;

export interface PageResult { p50: number; p95: number; bytes: number; statements: number; plans: string; fullScan: boolean; fullIndex: boolean }
export interface Measured {
  /** The process's flags: none for the compiled build under plain node but `--expose-gc`. */
  execArgv: string[];
  startupSeconds: { first: number; second?: number };
  /** `afterRequests` depends on where V8 is between two full collections: the span of the mixed run says how much. */
  rssMb: { afterStart: number; afterRequests: number; mixedRunLow: number; mixedRunHigh: number };
  /** Readings in MB: before the entry is imported, after start, after the requests, 15 s later, then after full collections. */
  memory: { beforeModule: MemoryReading; afterStart: MemoryReading; afterStartGc?: MemoryReading; afterRequests: MemoryReading; afterIdle: MemoryReading; afterRequestsGc?: MemoryReading };
  mixedRequests: number;
  pages: Record<string, PageResult>;
  reconcile?: { services: number; seconds: number; statementsPerService: number; listReadsPerService: number };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
/** Statements of the module's own tables (the job store's polling runs alongside every request). */
const own = (sql: string) => !/snapshot_jobs/.test(sql);

// node:http with one kept-alive connection, not fetch: the client shares the measured process, and
// undici's own allocations per request showed in its RSS as if the module had made them.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(base: string, c: PageCase): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    http.get(`${base}${c.path}`, { agent, headers: { [ACTOR_HEADER]: c.actor } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode !== 200) reject(new Error(`${c.path} as ${c.actor}: ${res.statusCode} ${body.toString().slice(0, 300)}`));
        else resolve({ ms: performance.now() - t, bytes: body.byteLength });
      });
    }).on('error', reject);
  });
}

async function page(db: Knex, log: StatementLog, base: string, c: PageCase): Promise<PageResult> {
  for (let i = 0; i < 5; i++) await get(base, c);
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await get(base, c);
    times.push(r.ms);
    bytes = r.bytes;
  }
  const { statements } = await log.during(() => get(base, c));
  const mine = statements.filter((s) => own(s.sql) || c.key === 'health');
  const plans = await explainAll(db, mine);
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p95: pct(times, 95), bytes, statements: mine.length, plans: planSummary(plans), fullScan: plans.flat().some((l) => l.fullScan), fullIndex: plans.flat().some((l) => l.fullIndex) };
}

/** The simulated hypervisor gets every snapshot the records say it has, so reconcile finds no drift. */
async function fillHypervisor(db: Knex, driver: SimulatedDriver, services: ReturnType<typeof panelServices>): Promise<void> {
  const byId = new Map(services.map((s) => [s.id, s]));
  const rows: { service_id: string; hv_name: string }[] = await db('snapshot_snapshots').whereIn('status', ['active', 'unmanaged']).select('service_id', 'hv_name');
  for (const r of rows) await driver.create(byId.get(r.service_id)!.target, { name: r.hv_name, description: null, includeMemory: false });
}

/** With BENCH_HEAP_SNAPSHOT=<dir>, a heap snapshot there (it collects first, so it changes what follows). */
function heapSnapshot(when: string): void {
  const dir = process.env.BENCH_HEAP_SNAPSHOT;
  if (dir) writeHeapSnapshot(join(dir, `scale-${when}-${process.pid}.heapsnapshot`));
}

/**
 * Measures the module loaded from `entryUrl`. `full` adds the reconcile pass and a second start,
 * which do not depend on how the module was loaded.
 */
export async function measure(url: string, entryUrl: string, full: boolean): Promise<Measured> {
  const db = knex({ client: 'mysql2', connection: url, pool: { min: 0, max: 10 } });
  const log = new StatementLog(db);
  const services = panelServices();
  const beforeModule = memoryReading();
  const entry = await import(entryUrl) as ModuleEntry;
  const driver = benchDriver(entry);
  let t = performance.now();
  const mod = await scaleModule(entry, db, services, driver);
  await mod.start();
  const first = (performance.now() - t) / 1000;
  const afterStart = await settledReading();
  // A full collection here changes what the requests start from, so only on request.
  const afterStartGc = process.env.BENCH_GC_AFTER_START ? await settledReading(true) : undefined;
  heapSnapshot('after-start');
  const server = hostApp(mod).listen(0);
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cases = pageCases();
  const pages: Record<string, PageResult> = {};
  for (const c of cases) pages[c.key] = await page(db, log, base, c);
  const during: number[] = [];
  for (let i = 0; i < MIXED; i++) {
    await get(base, mixedCase(i, cases));
    if (i % 50 === 49) during.push(process.memoryUsage.rss() / 1024 ** 2);
  }
  const afterRequests = await settledReading();
  // V8's memory reducer shrinks the heap once allocation has been low for a while (~8 s).
  const afterIdle = await settledReading(false, 15_000);
  const afterRequestsGc = await settledReading(true);
  heapSnapshot('after-requests');
  server.close();
  agent.destroy();
  const memory = { beforeModule, afterStart, afterStartGc, afterRequests, afterIdle, afterRequestsGc };
  const common = {
    execArgv: process.execArgv,
    rssMb: {
      afterStart: Math.round(afterStart.rss), afterRequests: Math.round(afterRequests.rss),
      mixedRunLow: Math.round(Math.min(...during)), mixedRunHigh: Math.round(Math.max(...during)),
    },
    memory,
    mixedRequests: MIXED,
    pages: Object.fromEntries(Object.entries(pages).map(([k, p]) => [k, { ...p, p50: +p.p50.toFixed(1), p95: +p.p95.toFixed(1) }])),
  };
  if (!full) {
    await mod.stop();
    await db.destroy();
    return { ...common, startupSeconds: { first: +first.toFixed(2) } };
  }

  await fillHypervisor(db, driver, services);
  t = performance.now();
  const { result, statements } = await log.during(() => mod.reconcile());
  const seconds = (performance.now() - t) / 1000;
  const drift = result.reduce((n, r) => n + r.vanished + r.unmanaged + (r.skipped ? 1 : 0), 0);
  if (drift) console.warn(`reconcile found drift on ${drift} services: the seed and the hypervisor disagree`);
  const mine = statements.filter((s) => own(s.sql));
  // Reads of a service's snapshot list (selects naming the snapshots table and one service).
  const lists = mine.filter((s) => /^\s*select/i.test(s.sql) && /`snapshot_snapshots`/.test(s.sql) && /service_id`? = \?/.test(s.sql)).length;
  await mod.stop();

  t = performance.now();
  const again = await scaleModule(entry, db, services, driver);
  await again.start();
  const second = (performance.now() - t) / 1000;
  await again.stop();
  await db.destroy();
  return {
    ...common,
    startupSeconds: { first: +first.toFixed(2), second: +second.toFixed(2) },
    reconcile: { services: result.length, seconds: +seconds.toFixed(2), statementsPerService: +(mine.length / result.length).toFixed(2), listReadsPerService: +(lists / result.length).toFixed(2) },
  };
}
