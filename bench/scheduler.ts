// `npm run bench:scheduler` — the Sunday-03:00 rush: N schedules (BENCH_SCHEDULES, default 10,000)
// due the same minute on MariaDB (MYSQL_URL), simulated hypervisor at zero delay, with 1 worker and
// then 2 workers (the second a module instance in its own process, so it has a core of its own to
// use). Also: how long until every snapshot of the rush is Current, and the CPU time Node and
// MariaDB spent (what bounds a second worker on a 2-core machine). In the same run, the baseline: N
// no-op jobs through Agenda on Agenda's own PostgreSQL backend (PG_URL, default the local server),
// against the same no-op jobs on our knex job store. And the machine's floor for a second worker:
// plain primary-key SELECT round trips from one process, then split over two (round-trip-probe.ts).
// Prints a table, then `RESULT {json}`.
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import knex from 'knex';
import { migrationConfig } from '../migrations/index.js';
import type { SnapshotModule } from '../module/index.js';
import { SCHEDULE_JOB } from '../module/scheduler/agenda-scheduler.js';
import { benchServices, freshDatabase, makeAllDue, moduleOn, mysqlUrl, operationsLeft, PER_SERVICE, schedulesRun, seedSchedules, until } from './rush-setup.js';
import { StatementMeter } from './statement-meter.js';
import { noopJobsPerSecond } from './noop-jobs.js';
import { roundTripScaling } from './round-trip-probe.js';

const N = Number(process.env.BENCH_SCHEDULES ?? 10_000);
const MYSQL_URL = mysqlUrl();
const services = benchServices(Math.ceil(N / PER_SERVICE));

/** CPU seconds the local MariaDB server has used so far, or null when it is not on this machine. */
function mariadbCpuSeconds(): number | null {
  try {
    const pid = execFileSync('pgrep', ['-x', 'mariadbd']).toString().trim().split('\n')[0];
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return null;
  }
}

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

/** A further worker: one more module instance on the same database, in a process of its own. */
function forkWorker(dbUrl: string): Promise<{ child: ChildProcess; stop(): Promise<number> }> {
  const child = fork(fileURLToPath(import.meta.url), ['worker', dbUrl], { execArgv: process.execArgv });
  const stop = () => new Promise<number>((resolve) => {
    child.once('message', (m: { cpuSeconds: number }) => resolve(m.cpuSeconds));
    child.send('stop');
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve({ child, stop }));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

async function workerProcess(dbUrl: string): Promise<void> {
  const db = knex({ client: 'mysql2', connection: dbUrl, pool: { min: 0, max: 20 } });
  const mod = await moduleOn(db, services);
  await mod.start();
  const before = process.cpuUsage();
  process.send!('ready');
  process.on('message', async () => {
    const used = cpuSeconds(process.cpuUsage(before));
    await mod.stop();
    await db.destroy();
    process.send!({ cpuSeconds: used }, () => process.exit(0));
  });
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

async function rush(workers: number) {
  // The module's connections are metered (MariaDB's per-session Questions and its threads' CPU); the
  // benchmark's own polling and reads go through `watch`, a pool of its own, and are not counted.
  const meter = new StatementMeter();
  const { db, url, drop } = await freshDatabase(`snapbench_${workers}w`, { afterCreate: meter.afterCreate });
  const watch = knex({ client: 'mysql2', connection: url, pool: { min: 0, max: 2 } });
  const mods: SnapshotModule[] = [];
  const others: Array<Awaited<ReturnType<typeof forkWorker>>> = [];
  try {
    await db.migrate.latest(migrationConfig);
    mods.push(await moduleOn(db, services));
    const now = new Date();
    const occurrence = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    await seedSchedules(db, services, N, now);
    const syncStart = performance.now();
    await mods[0]!.start(); // creates the 'N' Agenda jobs from the schedules table
    const syncSeconds = (performance.now() - syncStart) / 1000;
    for (let w = 1; w < workers; w++) others.push(await forkWorker(url));
    await meter.start();
    const cpu0 = process.cpuUsage();
    const db0 = mariadbCpuSeconds();
    const t0 = Date.now();
    await makeAllDue(watch, new Date(t0));
    await until(async () => (await schedulesRun(watch)) >= N, 600_000);
    // While the schedules ran: this process's CPU (all of it, with one worker) and MariaDB's.
    const rushCpu = { node: cpuSeconds(process.cpuUsage(cpu0)), db: db0 === null ? null : mariadbCpuSeconds()! - db0 };
    // The rush ends when every schedule has run; its snapshots are Current once their operations end.
    await until(async () => (await operationsLeft(watch)) === 0, 900_000 - (Date.now() - t0));
    // This process's CPU with one worker is the worker's own (plus the light polling above).
    const oneNodeCpu = cpuSeconds(process.cpuUsage(cpu0));
    const metered = await meter.stop();
    const allCurrentSeconds = (Date.now() - t0) / 1000;
    const nodeCpu = oneNodeCpu + (await Promise.all(others.map((o) => o.stop()))).reduce((a, b) => a + b, 0);
    const dbCpu = db0 === null ? null : mariadbCpuSeconds()! - db0;
    const runs = await db('snapshot_audit_events').where({ action: 'schedule.run' }).select('occurred_at', 'result', 'code');
    const seconds = (Math.max(...runs.map((r) => new Date(r.occurred_at).getTime())) - t0) / 1000;
    const lateness = runs.map((r) => new Date(r.occurred_at).getTime() - t0).sort((a, b) => a - b);
    const snapshots = Number((await db('snapshot_snapshots').count({ n: '*' }).first())!.n);
    const distinct = Number((await db('snapshot_snapshots').countDistinct({ n: 'schedule_id' }).first())!.n);
    const outcomes: Record<string, number> = {};
    for (const r of runs) outcomes[r.code ?? r.result] = (outcomes[r.code ?? r.result] ?? 0) + 1;
    const ranSchedules = Number((await db('snapshot_schedules').whereNotNull('last_result').count({ n: '*' }).first())!.n);
    return {
      workers, schedules: N, runs: runs.filter((r) => r.result === 'ok').length, duplicates: snapshots - distinct,
      // Executions beyond one per schedule, whatever their outcome (a job run twice).
      extraRuns: runs.length - ranSchedules, outcomes,
      missed: runs.filter((r) => r.code === 'missed').length + (N - ranSchedules), seconds, syncSeconds,
      runsPerSecond: runs.length / seconds, latenessP50Ms: pct(lateness, 50), latenessP99Ms: pct(lateness, 99),
      occurrence: occurrence.toISOString(), allCurrentSeconds, nodeCpuSeconds: nodeCpu, mariadbCpuSeconds: dbCpu,
      // Runs per worker process (the job's last writer), largest first: how evenly the work was shared.
      runsByWorker: (await db('snapshot_jobs').where({ name: SCHEDULE_JOB }).groupBy('last_modified_by').select('last_modified_by').count({ n: '*' }))
        .map((r) => Number(r.n)).sort((a, b) => b - a),
      rushCpu, metered, current: Number((await db('snapshot_snapshots').where({ status: 'active' }).count({ n: '*' }).first())!.n),
    };
  } finally {
    for (const m of mods) await m.stop();
    for (const o of others) o.child.kill();
    await watch.destroy();
    await db.destroy();
    await drop();
  }
}

async function main(): Promise<void> {
  const one = await rush(1);
  const two = await rush(2);
  const jobs = Number(process.env.BENCH_NOOP_JOBS ?? Math.min(N, 5000));
  const ours = await noopJobsPerSecond('knex-mysql', jobs, MYSQL_URL!);
  const pg = await noopJobsPerSecond('postgres', jobs, process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test').catch((err) => {
    console.log(`PostgreSQL baseline skipped: ${(err as Error).message}`);
    return null;
  });
  const probe = await roundTripScaling(MYSQL_URL!);
  const round = (x: number) => Math.round(x * 100) / 100;
  const busy = (r: typeof one) => (r.mariadbCpuSeconds === null ? null : (r.nodeCpuSeconds + r.mariadbCpuSeconds) / r.allCurrentSeconds);
  console.table([one, two].map((r) => ({
    workers: r.workers, 'runs per worker': r.runsByWorker.join(' / '), runs: r.runs, duplicates: r.duplicates, missed: r.missed, seconds: round(r.seconds), 'runs/s': round(r.runsPerSecond),
    'p50 ms': r.latenessP50Ms, 'p99 ms': r.latenessP99Ms, 'all Current s': round(r.allCurrentSeconds), 'Node CPU s': round(r.nodeCpuSeconds),
    'MariaDB CPU s': r.mariadbCpuSeconds === null ? 'n/a' : round(r.mariadbCpuSeconds), 'busy cores': busy(r) === null ? 'n/a' : round(busy(r)!),
  })));
  // Per run of the one-worker rush, from the jobs falling due until every snapshot is Current.
  const perRun = {
    statements: one.metered.statements / N,
    nodeMs: (one.nodeCpuSeconds * 1000) / N,
    mariadbMs: one.metered.mariadbCpuSeconds === null ? null : (one.metered.mariadbCpuSeconds * 1000) / N,
  };
  console.log(`Per run (1 worker, until all Current): ${round(perRun.statements)} statements (MariaDB's Questions of the module's ${one.metered.connections} connections), `
    + `CPU ${round(perRun.nodeMs)} ms Node + ${perRun.mariadbMs === null ? 'n/a' : round(perRun.mariadbMs)} ms MariaDB (the threads serving those connections).`);
  const oneBusy = busy(one);
  if (oneBusy !== null) {
    console.log(`One worker kept ${round(oneBusy)} of ${availableParallelism()} cores busy (Node + MariaDB): however many workers, this work can finish at most ${round(availableParallelism() / oneBusy)}× faster on this machine.`);
  }
  console.log(`Floor for a second worker: plain primary-key SELECTs make ${probe.oneProcessPerSecond}/s from one process and ${probe.twoProcessesPerSecond}/s split over two `
    + `(${probe.speedup}×; each costs Node ${probe.cpuGrowth}× the CPU once both cores are contended). A scheduled run is a chain of such round trips.`);
  console.table({ 'no-op jobs/s, knex job store on MariaDB': round(ours), 'no-op jobs/s, Agenda PostgreSQL backend': pg === null ? 'skipped' : round(pg) });
  console.log(`RESULT ${JSON.stringify({
    schedules: N, statementsPerRun: round(perRun.statements),
    cpuMsPerRun: perRun.mariadbMs === null ? null : round(perRun.nodeMs + perRun.mariadbMs), nodeCpuMsPerRun: round(perRun.nodeMs),
    mariadbCpuMsPerRun: perRun.mariadbMs === null ? null : round(perRun.mariadbMs),
    runs: one.runs, duplicates: one.duplicates + two.duplicates, missed: one.missed + two.missed,
    extraRuns: one.extraRuns + two.extraRuns, outcomes: [one.outcomes, two.outcomes],
    seconds: round(one.seconds), runsPerSecond: round(one.runsPerSecond), latenessP50Ms: one.latenessP50Ms, latenessP99Ms: one.latenessP99Ms,
    twoWorkerSeconds: round(two.seconds), twoWorkerSpeedup: round(one.seconds / two.seconds),
  // The whole rush's work, operations included: a second worker also runs operations one worker leaves for later.
  twoWorkerSpeedupAllCurrent: round(one.allCurrentSeconds / two.allCurrentSeconds),
    allCurrentSeconds: round(one.allCurrentSeconds), twoWorkerAllCurrentSeconds: round(two.allCurrentSeconds),
    busyCores: oneBusy === null ? null : round(oneBusy),
  rushBusyCores: one.rushCpu.db === null ? null : round((one.rushCpu.node + one.rushCpu.db) / one.seconds),
  rushNodeCpuSeconds: round(one.rushCpu.node), rushMariadbCpuSeconds: one.rushCpu.db === null ? null : round(one.rushCpu.db), speedupCeiling: oneBusy === null ? null : round(availableParallelism() / oneBusy),
    noopJobs: jobs, noopJobsPerSecond: round(ours), postgresNoopJobsPerSecond: pg === null ? null : round(pg),
    ratioVsPostgres: pg === null ? null : round(ours / pg),
    roundTripTwoProcessSpeedup: probe.speedup, roundTripCpuGrowth: probe.cpuGrowth,
  })}`);
}

if (process.argv[2] === 'worker') await workerProcess(process.argv[3]!);
else {
  await main();
  // A driver pool's idle timers would otherwise keep the process up for minutes after the result.
  process.exit(0);
}
