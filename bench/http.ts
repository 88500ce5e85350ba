// `npm run bench:http`: the Snapshots page of a service with 50 snapshots and 5 schedules on MariaDB,
// for a logged-in customer, in a minimal express host that mounts the module through its public
// entry (as examples/demo-panel does); against a bare express + EJS page of the same size in the
// same run; and, as the machine's floor, bare express sending a prebuilt buffer of that size (no
// template, no database). Each server runs in its own process; autocannon drives them from this one.
// The page does not change during the run, so the module sends it again from its page cache after
// one fingerprint statement; a second module server with the cache off ("rendered") shows what a
// view costs when the data did change and the page is rendered.
//
//   MYSQL_URL=mysql://root@127.0.0.1:3306/test npm run bench:http
//
// BENCH_DURATION (seconds per server, default 10, run in BENCH_ROUNDS alternating rounds, default 5),
// BENCH_CONNECTIONS (default 50),
// BENCH_PROFILE=1 (writes a V8 CPU profile of the module's server to bench/profiles/module/;
// BENCH_PROFILE=both also the baseline's, to bench/profiles/baseline/).
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openLoop } from './open-loop.js';
import { StatementMeter } from './statement-meter.js';
import { baselineApp, floorApp, moduleApp, PAGE, seed, SERVICE, SNAPSHOTS, SCHEDULES } from './http-apps.js';

const MYSQL_URL = process.env.MYSQL_URL;
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// Open loop: requests sent at a fixed rate whatever the answers, so a slow answer delays no later
// request and its wait counts (bench/open-loop.ts, which says why not autocannon's overallRate).
const OPEN_RATE = Number(process.env.BENCH_OPEN_RATE ?? 200);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_DURATION ?? 10);


/** Child process: serve one of the two apps on an ephemeral port and report it. */
async function serve(kind: string, dbUrl: string, bytes: number): Promise<void> {
  // The module's statements and the CPU of the MariaDB threads serving them (bench/statement-meter.ts).
  const meter = new StatementMeter();
  const pool = { afterCreate: meter.afterCreate };
  const app = kind === 'module' ? await moduleApp(dbUrl, SERVICE, { pool })
    : kind === 'rendered' ? await moduleApp(dbUrl, SERVICE, { pageCacheBytes: 0, pool })
      : kind === 'floor' ? floorApp(bytes) : baselineApp(bytes);
  let statements = 0;
  let dbCpuMs = 0;
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('message', (m) => {
    if (m === 'cpu') {
      void (async () => {
        const { user, system } = process.cpuUsage();
        const since = await meter.stop();
        await meter.start();
        statements += since.statements;
        dbCpuMs += (since.mariadbCpuSeconds ?? 0) * 1000;
        process.send!({ cpuMs: (user + system) / 1000, dbCpuMs, statements });
      })();
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function startServer(kind: 'module' | 'rendered' | 'baseline' | 'floor', dbUrl: string, bytes = 0): Promise<Server> {
  const profiled = process.env.BENCH_PROFILE === 'both' || (process.env.BENCH_PROFILE === '1' && kind === 'module');
  const profile = profiled ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL(`./profiles/${kind}`, import.meta.url))}`] : [];
  const child = fork(fileURLToPath(import.meta.url), ['serve', kind, dbUrl, String(bytes)], { execArgv: [...process.execArgv, ...profile] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ child, url: `http://127.0.0.1:${m.port}${PAGE(SERVICE.id)}` }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  await exited;
}

type Server = { child: ChildProcess; url: string };
type Run = { cpuMs: number; dbCpuMs: number; statements: number; requests: number; seconds: number; p50Ms: number; p99Ms: number; maxMs: number; bytesPerReq: number; non2xx: number; errors: number };

type Usage = { cpuMs: number; dbCpuMs: number; statements: number };

/** The server process's CPU time so far (user + system, ms), and its statements and their MariaDB CPU. */
function cpuOf(server: Server): Promise<Usage> {
  return new Promise((resolve) => {
    server.child.once('message', (m: Usage) => resolve(m));
    server.child.send('cpu');
  });
}

const used = (before: Usage, after: Usage) => ({
  cpuMs: after.cpuMs - before.cpuMs, dbCpuMs: after.dbCpuMs - before.dbCpuMs, statements: after.statements - before.statements,
});

/** At a fixed rate (bench/open-loop.ts), how the server's CPU and latency fare. */
async function loadAt(server: Server, seconds: number, rate: number): Promise<Run> {
  const cpuBefore = await cpuOf(server);
  const r = await openLoop(server.url, { rate, seconds, connections: CONNECTIONS, headers: { cookie: 'bench_session=alice' } });
  return { ...r, ...used(cpuBefore, await cpuOf(server)) };
}

/** Closed loop: autocannon's connections each sending the next request when the last is answered. */
async function load(server: Server, seconds: number): Promise<Run> {
  const { default: autocannon } = await import('autocannon');
  const cpuBefore = await cpuOf(server);
  const r = await autocannon({ url: server.url, connections: CONNECTIONS, duration: seconds, headers: { cookie: 'bench_session=alice' } });
  return {
    ...used(cpuBefore, await cpuOf(server)), requests: r.requests.total, seconds, p50Ms: r.latency.p50, p99Ms: r.latency.p99, maxMs: r.latency.max,
    bytesPerReq: Math.round(r.throughput.total / Math.max(1, r.requests.total)), non2xx: r.non2xx, errors: r.errors + r.timeouts,
  };
}

/** Rounds summed: throughput over all of them; p50 the median round's, p99 and max the worst round's. */
function summary(runs: Run[]) {
  const sorted = (f: (r: Run) => number) => runs.map(f).sort((a, b) => a - b);
  return {
    reqPerSec: Math.round(runs.reduce((n, r) => n + r.requests, 0) / runs.reduce((n, r) => n + r.seconds, 0)),
    // CPU the server spent per page: steadier than req/s when other processes take the cores.
    cpuMsPerReq: Number((runs.reduce((n, r) => n + r.cpuMs, 0) / runs.reduce((n, r) => n + r.requests, 0)).toFixed(2)),
    // MariaDB's side of the page, which the bare page does not have: on the same two cores.
    dbCpuMsPerReq: Number((runs.reduce((n, r) => n + r.dbCpuMs, 0) / runs.reduce((n, r) => n + r.requests, 0)).toFixed(2)),
    statementsPerReq: Number((runs.reduce((n, r) => n + r.statements, 0) / runs.reduce((n, r) => n + r.requests, 0)).toFixed(2)),
    p50Ms: sorted((r) => r.p50Ms)[Math.floor(runs.length / 2)]!, p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
    maxMs: Math.max(...runs.map((r) => r.maxMs)), bytesPerReq: runs[0]!.bytesPerReq,
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0), errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

async function main(): Promise<void> {
  if (!MYSQL_URL) {
    console.error('bench:http runs on MariaDB/MySQL only: set MYSQL_URL (e.g. MYSQL_URL=mysql://root@127.0.0.1:3306/test npm run bench:http).');
    process.exit(2);
  }
  const { dbUrl, drop } = await seed(MYSQL_URL);
  try {
    const mod = await startServer('module', dbUrl);
    const first = await fetch(mod.url, { headers: { cookie: 'bench_session=alice' } });
    const html = await first.text();
    const rows = (html.match(/<tr data-snapshot=/g) ?? []).length;
    if (first.status !== 200 || rows !== SNAPSHOTS) throw new Error(`module page: HTTP ${first.status}, ${rows} snapshot rows`);
    const bytes = Buffer.byteLength(html);
    const base = await startServer('baseline', dbUrl, bytes);
    const baseBytes = Buffer.byteLength(await (await fetch(base.url)).text());
    const floor = await startServer('floor', dbUrl, bytes);
    const rendered = await startServer('rendered', dbUrl);
    const renderedHtml = await (await fetch(rendered.url, { headers: { cookie: 'bench_session=alice' } })).text();
    if (renderedHtml.replaceAll(/value="[^"]{40,}"/g, '') !== html.replaceAll(/value="[^"]{40,}"/g, '')) throw new Error('the rendered page differs from the reused one');
    // Warm-up (JIT, template and statement caches, pool), then alternating rounds so that the load
    // other processes put on the machine falls on both alike.
    await load(mod, 2);
    await load(base, 2);
    await load(floor, 2);
    await load(rendered, 2);
    const oursRuns: Run[] = [];
    const renderedRuns: Run[] = [];
    const baseRuns: Run[] = [];
    const floorRuns: Run[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      oursRuns.push(await load(mod, DURATION / ROUNDS));
      baseRuns.push(await load(base, DURATION / ROUNDS));
      floorRuns.push(await load(floor, DURATION / ROUNDS));
      renderedRuns.push(await load(rendered, DURATION / ROUNDS));
    }
    // Open loop at a fixed rate, alternated like the rounds above.
    const openOurs: Run[] = [];
    const openBase: Run[] = [];
    for (let i = 0; i < 2; i++) {
      openOurs.push(await loadAt(mod, OPEN_SECONDS / 2, OPEN_RATE));
      openBase.push(await loadAt(base, OPEN_SECONDS / 2, OPEN_RATE));
    }
    for (const s of [mod, base, floor, rendered]) await stopServer(s.child);
    const open = summary(openOurs);
    const openBaseline = summary(openBase);
    const ours = summary(oursRuns);
    const baseline = summary(baseRuns);
    const floorRun = summary(floorRuns);
    const renderedRun = summary(renderedRuns);

    console.table({
      module: { ...ours, pageBytes: bytes }, baseline: { ...baseline, pageBytes: baseBytes }, 'floor (prebuilt buffer)': { ...floorRun, pageBytes: bytes },
      'module, rendered every view': { ...renderedRun, pageBytes: bytes },
      [`module, open loop ${OPEN_RATE}/s`]: { ...open, pageBytes: bytes }, [`baseline, open loop ${OPEN_RATE}/s`]: { ...openBaseline, pageBytes: baseBytes },
    });
    const ratio = Number((ours.reqPerSec / baseline.reqPerSec).toFixed(3));
    const cpuRatio = Number((baseline.cpuMsPerReq / ours.cpuMsPerReq).toFixed(3));
    const renderedCpuRatio = Number((baseline.cpuMsPerReq / renderedRun.cpuMsPerReq).toFixed(3));
    console.log(`Snapshots page (${SNAPSHOTS} snapshots, ${SCHEDULES} schedules, MariaDB): ${ours.reqPerSec} req/s, p99 ${ours.p99Ms} ms; `
      + `bare express + EJS page of ${baseBytes} bytes: ${baseline.reqPerSec} req/s; ratio ${ratio} (goal ≥ 0.8); `
      + `server CPU per page ${ours.cpuMsPerReq} ms vs ${baseline.cpuMsPerReq} ms (CPU ratio ${cpuRatio}, goal ≥ 0.8); rendered every view ${renderedRun.cpuMsPerReq} ms (${renderedCpuRatio}). `
      + `Floor: bare express sending a prebuilt buffer of ${bytes} bytes makes ${floorRun.reqPerSec} req/s with p99 ${floorRun.p99Ms} ms at ${CONNECTIONS} connections: `
      + `no express route sending a page of this size does better on this machine, and the module mounts into express. `
      + `Shared machine (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores): other processes affect absolute numbers; the ratio alternates both in the same run.`);
    console.log(`RESULT ${JSON.stringify({
      reqPerSec: ours.reqPerSec, baselineReqPerSec: baseline.reqPerSec, ratio, cpuMsPerReq: ours.cpuMsPerReq,
      baselineCpuMsPerReq: baseline.cpuMsPerReq, cpuRatio, p50Ms: ours.p50Ms, p99Ms: ours.p99Ms,
      baselineP99Ms: baseline.p99Ms, openLoopRate: OPEN_RATE, openLoopReqPerSec: open.reqPerSec, openLoopP50Ms: open.p50Ms, openLoopP99Ms: open.p99Ms,
      renderedReqPerSec: renderedRun.reqPerSec, renderedCpuMsPerReq: renderedRun.cpuMsPerReq, renderedCpuRatio,
      dbCpuMsPerReq: ours.dbCpuMsPerReq, statementsPerReq: ours.statementsPerReq, renderedDbCpuMsPerReq: renderedRun.dbCpuMsPerReq, renderedStatementsPerReq: renderedRun.statementsPerReq,
      baselineOpenLoopP99Ms: openBaseline.p99Ms, openLoopCpuMsPerReq: open.cpuMsPerReq, baselineOpenLoopCpuMsPerReq: openBaseline.cpuMsPerReq, floorReqPerSec: floorRun.reqPerSec, floorP99Ms: floorRun.p99Ms, pageBytes: bytes, loadAvg1m: Number(loadavg()[0]!.toFixed(1)), connections: CONNECTIONS, durationS: DURATION, non2xx: ours.non2xx + baseline.non2xx,
    })}`);
  } finally {
    await drop();
  }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else {
  await main();
}
