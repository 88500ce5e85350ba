// `npm run bench:statements` — where a scheduled run's statements go: a small rush (BENCH_SCHEDULES,
// default 500) with one worker on MariaDB, every statement the module's connections send logged from
// the moment the jobs fall due until every snapshot is Current, grouped by its text (IN lists folded)
// and divided by the runs. BENCH_SCHEDULES=1 prints that one run's statements in order instead.
import { StatementMeter } from './statement-meter.js';
import { benchServices, freshDatabase, makeAllDue, moduleOn, operationsLeft, PER_SERVICE, schedulesRun, seedSchedules, until } from './rush-setup.js';

const N = Number(process.env.BENCH_SCHEDULES ?? 500);

/** The statement's shape: placeholders stay, IN lists and batched VALUES fold to one. */
const shape = (sql: string) => sql.replace(/\s+/g, ' ')
  .replace(/\((\?, )+\?\)/g, '(?…)')
  .replace(/(\(\?…\)|\((?:\?, )*\?\))(, \1)+/g, '$1…')
  .replace(/\(`id` = \? and .*?\)( or \(`id` = \? and .*?\))+/g, '(`id` = ? and …)…');

const order: Array<{ at: number; sql: string }> = [];
let logging = false;
const meter = new StatementMeter((sql) => { if (logging) order.push({ at: Date.now(), sql }); });
const { db, drop } = await freshDatabase('snapbench_statements', { afterCreate: meter.afterCreate });
const services = benchServices(Math.ceil(N / PER_SERVICE));
try {
  await db.migrate.latest((await import('../migrations/index.js')).migrationConfig);
  await seedSchedules(db, services, N);
  const mod = await moduleOn(db, services);
  await mod.start();
  await new Promise((r) => setTimeout(r, 500));
  // Polling happens on a pool of its own, not metered.
  const poll = (await import('knex')).default({ client: 'mysql2', connection: db.client.config.connection, pool: { min: 0, max: 1 } });
  await meter.start();
  logging = true;
  const t0 = Date.now();
  await makeAllDue(poll, new Date(t0));
  await until(async () => (await schedulesRun(poll)) >= N && (await operationsLeft(poll)) === 0, 300_000);
  logging = false;
  const seconds = (Date.now() - t0) / 1000;
  const counted = await meter.stop();
  await mod.stop();
  await poll.destroy();
  if (N === 1) {
    for (const s of order) console.log(`${String(s.at - t0).padStart(5)} ms  ${s.sql.replace(/\s+/g, ' ').slice(0, 160)}`);
  } else {
    const groups = new Map<string, number>();
    for (const s of order) groups.set(shape(s.sql), (groups.get(shape(s.sql)) ?? 0) + 1);
    console.table([...groups].sort((a, b) => b[1] - a[1]).map(([sql, n]) => ({ 'per run': Math.round((n / N) * 100) / 100, statement: sql.slice(0, 150) })));
  }
  console.log(`${order.length} statements logged, ${counted.statements} counted by MariaDB (${(counted.statements / N).toFixed(2)} per run) over ${seconds.toFixed(1)} s on ${counted.connections} connections`);
  console.log(`RESULT ${JSON.stringify({ schedules: N, statementsLogged: order.length, statementsCounted: counted.statements, statementsPerRun: Math.round((counted.statements / N) * 100) / 100, seconds })}`);
} finally {
  await db.destroy();
  await drop();
}
process.exit(0);
