import { Agenda, type AgendaBackend } from 'agenda';
import knex from 'knex';
import { migrationConfig } from '../migrations/index.js';
import { KnexBackend } from '../module/scheduler/knex-backend/index.js';
import { benchDbName } from './rush-setup.js';

/**
 * Throughput of `jobs` no-op Agenda jobs, all due at once, on one Agenda worker: the job store's own
 * cost (find, lock, save state), nothing of ours. `store` picks our knex store on MySQL/MariaDB or
 * Agenda's PostgreSQL backend as the baseline; both poll (PostgreSQL's LISTEN/NOTIFY is off, since
 * every job is due before the worker starts and notifications would only add work).
 */
export async function noopJobsPerSecond(store: 'knex-mysql' | 'postgres', jobs: number, url: string): Promise<number> {
  let backend: AgendaBackend;
  let cleanup: () => Promise<void>;
  if (store === 'postgres') {
    const { PostgresBackend } = await import('@agendajs/postgres-backend');
    const { default: pg } = await import('pg');
    // A fresh table, as ours gets a fresh database: purging a reused one leaves dead rows behind, and
    // the baseline would slow down from one bench run to the next until autovacuum caught up.
    const pool = new pg.Pool({ connectionString: url });
    const tableName = `snapbench_agenda_jobs_${process.pid}`;
    await pool.query(`DROP TABLE IF EXISTS "${tableName}"`);
    const backend0 = new PostgresBackend({ pool, tableName, disableNotifications: true });
    await backend0.connect();
    backend = backend0;
    cleanup = async () => { await pool.query(`DROP TABLE IF EXISTS "${tableName}"`); await pool.end(); };
  } else {
    const admin = knex({ client: 'mysql2', connection: url });
    const name = benchDbName('snapbench_noop');
    await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    const u = new URL(url);
    u.pathname = `/${name}`;
    const db = knex({ client: 'mysql2', connection: u.toString(), pool: { min: 0, max: 20 } });
    await db.migrate.latest(migrationConfig);
    backend = new KnexBackend({ db });
    await backend.connect();
    cleanup = async () => { await db.destroy(); await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``); await admin.destroy(); };
  }
  const agenda = new Agenda({ backend, processEvery: 100, defaultConcurrency: 20, maxConcurrency: 20 });
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => { finished = resolve; });
  agenda.define('noop', async () => {
    if (++done === jobs) finished();
  }, { concurrency: 20 });
  await agenda.ready;
  const due = new Date();
  for (let i = 0; i < jobs; i += 1) await agenda.create('noop', { i }).schedule(due).save();
  const start = performance.now();
  await agenda.start();
  await all;
  const seconds = (performance.now() - start) / 1000;
  // The last handlers are done, but Agenda still writes their jobs' state: wait for that, and for
  // our store's claims held ahead, before the pool goes (a pending query would fail on it).
  await agenda.drain();
  if (backend instanceof KnexBackend) await backend.idle();
  await cleanup();
  return jobs / seconds;
}
