import { mkdirSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import knex, { type Knex } from 'knex';
import { createSnapshotModule, simulatedDriver, type SnapshotModule, type SnapshotModuleOptions } from '../../module/index.js';
import { createDemoPanel } from './demo-panel.js';
import { createPanelAdapter } from './panel-adapter.js';
import { proxmoxFromEnv } from './proxmox-env.js';
import { demoQemuDrivers } from './qemu-demo.js';

export interface DemoOptions {
  /** The simulated hypervisor's state, the ordered servers and (by default) the SQLite file live here. */
  dataDir: string;
  /** mysql://… for MySQL/MariaDB, else a SQLite file (default: demo.sqlite in dataDir). */
  databaseUrl?: string;
  /** Multiplies the simulated hypervisor's task times. */
  delayScale: number;
  csrfSecret: string;
  demoCsrfSecret: string;
  webhookSecret?: string;
  /** PROXMOX_* (see proxmox-env.ts); server.ts passes process.env. */
  env?: NodeJS.ProcessEnv;
  /** The module's logger (default: the module's own, to stdout); tests quiet it. */
  logger?: SnapshotModuleOptions['logger'];
}

function openDatabase(url: string | undefined, dataDir: string): { db: Knex; label: string; init: () => Promise<void> } {
  if (url?.startsWith('mysql://')) {
    return { db: knex({ client: 'mysql2', connection: url }), label: url.replace(/\/\/[^@/]*@/, '//***@'), init: async () => {} };
  }
  const filename = url ? url.replace(/^(sqlite|file):(\/\/)?/, '') : path.join(dataDir, 'demo.sqlite');
  mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
  const db = knex({ client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true });
  return {
    db, label: filename,
    init: async () => {
      await db.raw('PRAGMA journal_mode = WAL');
      await db.raw('PRAGMA busy_timeout = 5000');
    },
  };
}

type Delays = Record<'create' | 'delete' | 'restore' | 'clone', [number, number]>;

// Slow enough that "Creating…" and a new server's "Being made" are on screen for a few seconds.
const DELAYS: Delays = { create: [3000, 5000], delete: [2000, 3000], restore: [3000, 5000], clone: [6000, 9000] };

function scaled(scale: number): Delays {
  const f = (r: [number, number]): [number, number] => [Math.round(r[0] * scale), Math.round(r[1] * scale)];
  return { create: f(DELAYS.create), delete: f(DELAYS.delete), restore: f(DELAYS.restore), clone: f(DELAYS.clone) };
}

/**
 * The whole demo as `npm start` runs it, without listening: the database, the drivers, the panel, the
 * module mounted into it, started. server.ts listens on a port; tests drive `app` directly.
 */
export async function createDemo(opts: DemoOptions): Promise<{ app: Express; module: SnapshotModule; label: string; proxmox: ReturnType<typeof proxmoxFromEnv>; stop: () => Promise<void> }> {
  const { db, label, init } = openDatabase(opts.databaseUrl, opts.dataDir);
  await init();

  mkdirSync(opts.dataDir, { recursive: true });
  const simulated = simulatedDriver({ stateFile: path.join(opts.dataDir, 'hypervisor.json'), delayMs: scaled(opts.delayScale) });

  let snapshots: SnapshotModule | null = null;
  // Ordered servers sit next to the hypervisor that holds their disks: deleting the folder resets both.
  const demo = createDemoPanel({ csrfSecret: opts.demoCsrfSecret, getModule: () => snapshots, servicesFile: path.join(opts.dataDir, 'services.json') });
  const pve = proxmoxFromEnv(opts.env ?? {});
  const basePanel = createPanelAdapter({ actorOf: demo.actorOf, layout: demo.layout, services: demo.services, orders: demo.orders });
  const panel = pve ? { ...basePanel, getService: async (id: string) => pve.retarget(await basePanel.getService(id)) } : basePanel;

  const module = await createSnapshotModule({
    db, panel, logger: opts.logger, drivers: { simulated, ...demoQemuDrivers(), ...(pve ? { [pve.driver.name]: pve.driver } : {}) },
    config: {
      csrfSecret: opts.csrfSecret, defaultTimezone: 'Asia/Seoul', operations: { pollMs: 500, taskPollMs: 500 },
      // The signed billing webhook answers 503 until a secret is set (README: "Billing webhook").
      webhookSecret: opts.webhookSecret || undefined,
    },
  });
  snapshots = module;
  await module.migrate();
  // Plan limits: the module has no public API for them yet, so the demo uses config.defaultLimits.
  await module.start();

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', async (_req, res) => {
    try {
      await db.raw('select 1');
      res.json({ ok: true });
    } catch {
      res.status(503).json({ ok: false });
    }
  });
  const { client, admin, api, webhook } = module.routers;
  app.use(demo.router([client, admin, api, webhook]));

  return {
    app, module, label, proxmox: pve,
    stop: async () => {
      await module.stop();
      await db.destroy();
    },
  };
}
