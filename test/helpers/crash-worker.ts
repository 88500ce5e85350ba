// A panel worker in a process of its own, for tests that kill it with SIGKILL (process-crash.test.ts):
// the module over a database shared with the test, the simulated hypervisor on a shared state file.
// Started by crash-workers.ts with one JSON argument (WorkerSpec); sends 'ready' once start() has
// returned, and on 'stop' stops the module cleanly and exits.
import knex, { type Knex } from 'knex';
import pino from 'pino';
import { createSnapshotModule, simulatedDriver, type PanelService } from '../../module/index.js';
import type { SimulatedDriverOptions } from '../../module/drivers/simulated/simulated-driver.js';
import { CSRF_SECRET } from './module-fixture.js';

export interface WorkerSpec {
  kind: 'sqlite' | 'mysql';
  /** The SQLite file or the MySQL URL of the test's database. */
  url: string;
  stateFile: string;
  delayMs?: SimulatedDriverOptions['delayMs'];
  services: PanelService[];
  /** Module config besides the CSRF secret. */
  config: Record<string, unknown>;
}

async function open(spec: WorkerSpec): Promise<Knex> {
  if (spec.kind === 'mysql') return knex({ client: 'mysql2', connection: spec.url, pool: { min: 0, max: 10 } });
  const db = knex({ client: 'better-sqlite3', connection: { filename: spec.url }, useNullAsDefault: true });
  await db.raw('PRAGMA busy_timeout = 5000');
  return db;
}

const spec = JSON.parse(process.argv[2]!) as WorkerSpec;
const db = await open(spec);
const services = new Map(spec.services.map((s) => [s.id, s]));
const mod = await createSnapshotModule({
  db,
  panel: { getActor: () => null, getService: (id) => services.get(id) ?? null },
  drivers: { simulated: simulatedDriver({ stateFile: spec.stateFile, delayMs: spec.delayMs }) },
  config: { csrfSecret: CSRF_SECRET, ...spec.config },
  // Errors only, on stderr: the test shows them when it fails.
  logger: pino({ level: 'error' }, pino.destination(2)),
});
await mod.start();
process.send!('ready');
process.on('message', async (m) => {
  if (m !== 'stop') return;
  await mod.stop();
  await db.destroy();
  process.exit(0);
});
