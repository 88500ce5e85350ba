// The machine's floor for a second worker: the simplest database work there is (primary-key SELECTs
// through mysql2, 20 at a time) from one process, then the same number split over two processes.
// A scheduled run is a chain of such round trips; if two processes do not finish these faster than
// one here, no design made of round trips gets a second worker's speedup on this machine.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';

const TABLE = 'bench_round_trip_probe';
const ROWS = 1000;

/** Child side: `count` SELECTs over 20 connections; reports its CPU seconds. */
async function selects(url: string, count: number): Promise<number> {
  const pool = mysql.createPool({ uri: url, connectionLimit: 20 });
  const cpu0 = process.cpuUsage();
  let i = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (i < count) await pool.query(`SELECT v FROM ${TABLE} WHERE id = ?`, [(i++ % ROWS) + 1]);
  }));
  const cpu = process.cpuUsage(cpu0);
  await pool.end();
  return (cpu.user + cpu.system) / 1e6;
}

function inProcesses(url: string, processes: number, total: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const t0 = performance.now();
  return Promise.all(Array.from({ length: processes }, () => new Promise<number>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['probe-child', url, String(Math.ceil(total / processes))], { execArgv: process.execArgv });
    child.once('message', (m: { cpuSeconds: number }) => resolve(m.cpuSeconds));
    child.once('exit', (code) => code && reject(new Error(`probe child exited with ${code}`)));
  }))).then((cpus) => ({ seconds: (performance.now() - t0) / 1000, cpuSeconds: cpus.reduce((a, b) => a + b, 0) }));
}

/**
 * Round trips per second from one process and from two (best of two tries each, alternated), and
 * the speedup the second process brings.
 */
export async function roundTripScaling(url: string, total = 30_000) {
  const conn = await mysql.createConnection(url);
  try {
    await conn.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INT PRIMARY KEY, v INT NOT NULL)`);
    await conn.query(`DELETE FROM ${TABLE}`);
    await conn.query(`INSERT INTO ${TABLE} (id, v) VALUES ?`, [Array.from({ length: ROWS }, (_, i) => [i + 1, i])]);
    const best = { 1: Infinity, 2: Infinity } as Record<1 | 2, number>;
    const cpu = { 1: 0, 2: 0 } as Record<1 | 2, number>;
    for (const p of [1, 2, 1, 2] as const) {
      const r = await inProcesses(url, p, total);
      if (r.seconds < best[p]) [best[p], cpu[p]] = [r.seconds, r.cpuSeconds];
    }
    return {
      oneProcessPerSecond: Math.round(total / best[1]), twoProcessesPerSecond: Math.round(total / best[2]),
      speedup: Math.round((best[1] / best[2]) * 100) / 100,
      // Node CPU for the same statements: how much dearer each gets once both cores are contended.
      cpuGrowth: Math.round((cpu[2] / cpu[1]) * 100) / 100,
    };
  } finally {
    await conn.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await conn.end();
  }
}

if (process.argv[2] === 'probe-child') {
  const cpuSeconds = await selects(process.argv[3]!, Number(process.argv[4]));
  process.send!({ cpuSeconds }, () => process.exit(0));
}
