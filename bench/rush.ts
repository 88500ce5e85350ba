// `npm run bench:rush` — the Sunday rush as the hypervisors see it: BENCH_SCHEDULES (default 10,000)
// schedules due the same minute, their services spread over 50 nodes, at most 3 snapshots running per
// node (operations.perNodeConcurrency), the simulated hypervisor taking 0.8–1.2 s per snapshot. No
// scheduler can finish sooner than runs ÷ (nodes × cap) × mean task time; the makespan is measured
// against that. Per-node running counts are sampled to find nodes left idle while they had work.
import { writeFileSync } from 'node:fs';
import knex from 'knex';
import { migrationConfig } from '../migrations/index.js';
import { timedOps, timeline } from './rush-timeline.js';
import { benchServices, freshDatabase, makeAllDue, moduleOn, operationsLeft, PER_SERVICE, seedSchedules, until } from './rush-setup.js';

const N = Number(process.env.BENCH_SCHEDULES ?? 10_000);
const NODES = 50;
const CAP = 3;
const TASK_MS: [number, number] = [800, 1200];
const SAMPLE_MS = 250;
// Enough operations at once in the one process for every node's cap, and a task poll short next to
// the task, so neither the process nor the poll is what the makespan measures.
const CONCURRENCY = Number(process.env.BENCH_OPS_CONCURRENCY ?? NODES * CAP + 10);
const TASK_POLL_MS = Number(process.env.BENCH_TASK_POLL_MS ?? 50);

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
const round = (x: number) => Math.round(x * 100) / 100;

const services = benchServices(Math.ceil(N / PER_SERVICE), NODES);
const NODE_NAMES = [...new Set(services.map((s) => s.target.node))];
const { db, url, drop } = await freshDatabase('snapbench_rush');
const watch = knex({ client: 'mysql2', connection: url, pool: { min: 0, max: 2 } });
try {
  await db.migrate.latest(migrationConfig);
  await seedSchedules(db, services, N);
  const mod = await moduleOn(db, services, {
    createMs: TASK_MS,
    operations: { perNodeConcurrency: CAP, concurrency: CONCURRENCY, taskPollMs: TASK_POLL_MS },
  });
  await mod.start();
  const t0 = Date.now();
  await makeAllDue(watch, new Date(t0));
  // Per node, each sample: operations running, and services with work but none running (their head
  // queued, so they could run now). Free slots while such services wait are lost capacity.
  let idleNodeSeconds = 0;
  let idleSlotSeconds = 0;
  let samples = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const at = Date.now();
      const rows: Array<{ node: string; running: unknown; services: unknown }> = await watch('snapshot_operations')
        .whereIn('status', ['queued', 'running']).groupBy('node')
        .select('node', watch.raw("count(distinct case when status = 'running' then service_id end) as running"), watch.raw('count(distinct service_id) as services'));
      for (const r of rows) {
        const running = Number(r.running);
        const waiting = Number(r.services) - running;
        if (waiting > 0 && running === 0) idleNodeSeconds += SAMPLE_MS / 1000;
        if (waiting > 0 && running < CAP) idleSlotSeconds += (Math.min(CAP - running, waiting) * SAMPLE_MS) / 1000;
      }
      samples += 1;
      await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_MS - (Date.now() - at))));
    }
  })();
  await until(async () => Number((await watch('snapshot_schedules').whereNotNull('last_result').count({ n: '*' }).first())!.n) >= N
    && (await operationsLeft(watch)) === 0, 1_800_000);
  const makespanSeconds = (Date.now() - t0) / 1000;
  done = true;
  await sampler;
  await mod.stop();
  const runs = await watch('snapshot_audit_events').where({ action: 'schedule.run' }).select('occurred_at');
  const runLateness = runs.map((r) => new Date(r.occurred_at).getTime() - t0).sort((a, b) => a - b);
  const ops: Array<{ id: number; service_id: string; node: string; created_at: Date; started_at: Date; finished_at: Date; status: string }> = await watch('snapshot_operations')
    .select('id', 'service_id', 'node', 'created_at', 'started_at', 'finished_at', 'status');
  const slots = timeline(timedOps(ops, t0));
  // BENCH_DUMP=file: every operation's times, for a closer look at a node than the figures below.
  if (process.env.BENCH_DUMP) writeFileSync(process.env.BENCH_DUMP, JSON.stringify({ t0, ops, runs: runLateness }));
  const startLateness = ops.map((o) => new Date(o.started_at).getTime() - t0).sort((a, b) => a - b);
  const meanTaskSeconds = (TASK_MS[0] + TASK_MS[1]) / 2000;
  const idealSeconds = (ops.length / (NODES * CAP)) * meanTaskSeconds;
  const failed = ops.filter((o) => o.status !== 'succeeded').length;
  // The cap, checked over the whole rush: the most operations ever between start and finish at once on a node.
  const maxRunningOnANode = Math.max(0, ...NODE_NAMES.map((node) => {
    const edges = ops.filter((o) => o.node === node)
      .flatMap((o): Array<[number, number]> => [[new Date(o.started_at).getTime(), 1], [new Date(o.finished_at).getTime(), -1]]);
    let running = 0;
    let most = 0;
    for (const [, step] of edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])) most = Math.max(most, (running += step));
    return most;
  }));
  const result = {
    schedules: N, operations: ops.length, failed, maxRunningOnANode, nodes: NODES, perNodeConcurrency: CAP, concurrency: CONCURRENCY, taskPollMs: TASK_POLL_MS,
    makespanSeconds: round(makespanSeconds), idealSeconds: round(idealSeconds), makespanEfficiency: round(idealSeconds / makespanSeconds),
    runLatenessP50Ms: pct(runLateness, 50), runLatenessP99Ms: pct(runLateness, 99),
    snapshotStartLatenessP50Ms: pct(startLateness, 50), snapshotStartLatenessP99Ms: pct(startLateness, 99),
    idleNodeSecondsWithBacklog: round(idleNodeSeconds), idleSlotSecondsWithBacklog: round(idleSlotSeconds),
    slotSeconds: round(makespanSeconds * NODES * CAP), samples, ...slots,
  };
  console.table([{
    operations: ops.length, failed, 'most on a node': maxRunningOnANode, 'makespan s': result.makespanSeconds, 'ideal s': result.idealSeconds, efficiency: result.makespanEfficiency,
    'run late p50 ms': result.runLatenessP50Ms, 'run late p99 ms': result.runLatenessP99Ms,
    'snapshot start p50 ms': result.snapshotStartLatenessP50Ms, 'snapshot start p99 ms': result.snapshotStartLatenessP99Ms,
    'idle node-s with backlog': result.idleNodeSecondsWithBacklog, 'idle slot-s with backlog': result.idleSlotSecondsWithBacklog,
    'hand-off p50/p90 ms': `${slots.handoffP50Ms}/${slots.handoffP90Ms}`, 'nodes done s': `${slots.nodeEndFirstSeconds}–${slots.nodeEndLastSeconds}`,
  }]);
  console.log(`RESULT ${JSON.stringify(result)}`);
} finally {
  await watch.destroy();
  await db.destroy();
  await drop();
}
process.exit(0);
