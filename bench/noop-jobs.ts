import { Agenda, type AgendaBackend } from 'agenda';
import knex from 'knex';
import { migrationConfig } from '../migrations/index.js';
import { KnexBackend } from '../module/scheduler/knex-backend/index.js';

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
    const pg = new PostgresBackend({ connectionString: url, tableName: 'snapbench_agenda_jobs', disableNotifications: true });
    await pg.connect();
    await pg.repository.purgeAllJobs();
    backend = pg;
    // Agenda's stop() ends this backend's own pool, so tidy up before it.
    cleanup = async () => { await pg.repository.purgeAllJobs(); };
  } else {
    const admin = knex({ client: 'mysql2', connection: url });
    await admin.raw('DROP DATABASE IF EXISTS snapbench_noop');
    await admin.raw('CREATE DATABASE snapbench_noop CHARACTER SET utf8mb4');
    const u = new URL(url);
    u.pathname = '/snapbench_noop';
    const db = knex({ client: 'mysql2', connection: u.toString(), pool: { min: 0, max: 20 } });
    await db.migrate.latest(migrationConfig);
    backend = new KnexBackend({ db });
    await backend.connect();
    cleanup = async () => { await db.destroy(); await admin.raw('DROP DATABASE IF EXISTS snapbench_noop'); await admin.destroy(); };
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
  if (store === 'postgres') await cleanup();
  await agenda.stop();
  if (store !== 'postgres') await cleanup();
  return jobs / seconds;
}
