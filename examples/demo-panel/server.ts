/**
 * Demo host panel for the snapshot module: a tiny "hosting control panel" that mounts the module
 * through its public entry only, exactly as a real panel would.
 *
 *   npm start                      # http://localhost:3000
 *
 * Environment:
 *   PORT                   port to listen on (default 3000)
 *   DATABASE_URL           mysql://user:pass@host:3306/db for MySQL/MariaDB; otherwise a SQLite file
 *                          (default examples/demo-panel/data/demo.sqlite, directory created)
 *   SNAPSHOTS_CSRF_SECRET  ≥32 characters; the default is a public demo value
 *   DEMO_CSRF_SECRET       signs the CSRF tokens of the demo's own login and logout forms; the default
 *                          is a public demo value
 *   PROXMOX_URL, …         optional: snapshot real Proxmox VE VMs for some services (see proxmox-env.ts)
 *   DEMO_QEMU_DISKS, DEMO_QEMU_QMP   put web-01 on a local QEMU VM (see qemu-demo.ts)
 *   DEMO_DATA_DIR          where the simulated hypervisor (and the default SQLite file) live
 *                          (default examples/demo-panel/data); the browser tests use a fresh one
 *   DEMO_DELAY_SCALE       multiplies the simulated hypervisor's task times (default 1; tests use less)
 *
 * Logins (password "demo" for all): alice, minji (ko), yuki (ja, customer of hostco),
 * hostco (reseller), admin (admin: /admin/snapshots and /outbox).
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import knex, { type Knex } from 'knex';
import { createSnapshotModule, simulatedDriver, type SnapshotModule } from '../../module/index.js';
import { USERS } from './demo-data.js';
import { createDemoPanel } from './demo-panel.js';
import { createPanelAdapter } from './panel-adapter.js';
import { proxmoxFromEnv } from './proxmox-env.js';
import { demoQemuDrivers } from './qemu-demo.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DATA_DIR = path.resolve(process.env.DEMO_DATA_DIR ?? path.join(HERE, 'data'));

const PORT = Number(process.env.PORT ?? 3000);
const DELAY_SCALE = ((n) => (Number.isFinite(n) && n >= 0 ? n : 1))(Number(process.env.DEMO_DELAY_SCALE ?? 1));
// Demo values only: production must set its own long random secrets.
const CSRF_SECRET = process.env.SNAPSHOTS_CSRF_SECRET ?? 'demo-only-csrf-secret-change-me-in-production-0123456789';
const DEMO_CSRF_SECRET = process.env.DEMO_CSRF_SECRET ?? 'demo-only-panel-csrf-secret-change-me-in-production-9876543210';

function openDatabase(url: string | undefined): { db: Knex; label: string; init: () => Promise<void> } {
  if (url?.startsWith('mysql://')) {
    return { db: knex({ client: 'mysql2', connection: url }), label: url.replace(/\/\/[^@/]*@/, '//***@'), init: async () => {} };
  }
  const filename = url ? url.replace(/^(sqlite|file):(\/\/)?/, '') : path.join(DATA_DIR, 'demo.sqlite');
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

type Delays = Record<'create' | 'delete' | 'restore', [number, number]>;
function scaled(delays: Delays): Delays {
  const f = (r: [number, number]): [number, number] => [Math.round(r[0] * DELAY_SCALE), Math.round(r[1] * DELAY_SCALE)];
  return { create: f(delays.create), delete: f(delays.delete), restore: f(delays.restore) };
}

async function main(): Promise<void> {
  const { db, label, init } = openDatabase(process.env.DATABASE_URL);
  await init();

  mkdirSync(DATA_DIR, { recursive: true });
  const simulated = simulatedDriver({
    stateFile: path.join(DATA_DIR, 'hypervisor.json'),
    // Slow enough that "Creating…" is visible for a few seconds.
    delayMs: scaled({ create: [3000, 5000], delete: [2000, 3000], restore: [3000, 5000] }),
  });

  let snapshots: SnapshotModule | null = null;
  const demo = createDemoPanel({ csrfSecret: DEMO_CSRF_SECRET, getModule: () => snapshots });
  const pve = proxmoxFromEnv(process.env);
  const basePanel = createPanelAdapter({ actorOf: demo.actorOf, layout: demo.layout });
  const panel = pve ? { ...basePanel, getService: async (id: string) => pve.retarget(await basePanel.getService(id)) } : basePanel;

  snapshots = await createSnapshotModule({
    db, panel, drivers: { simulated, ...demoQemuDrivers(), ...(pve ? { [pve.driver.name]: pve.driver } : {}) },
    config: {
      csrfSecret: CSRF_SECRET, defaultTimezone: 'Asia/Seoul', operations: { pollMs: 500, taskPollMs: 500 },
      // The signed billing webhook answers 503 until a secret is set (README: "Billing webhook").
      webhookSecret: process.env.SNAPSHOTS_WEBHOOK_SECRET || undefined,
    },
  });
  await snapshots.migrate();
  // Plan limits: the module has no public API for them yet, so the demo uses config.defaultLimits.
  await snapshots.start();

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
  const { client, admin, api, webhook } = snapshots.routers;
  app.use(demo.router([client, admin, api, webhook]));

  const server: Server = app.listen(PORT, () => {
    console.log(`Demo panel: http://localhost:${PORT}/  (database: ${label})`);
    if (pve) console.log(`Proxmox VE: ${[...pve.targets].map(([id, t]) => `${id} → ${t.node}/${t.vmId}`).join(', ')}`);
    console.log(`Logins (password "demo"): ${USERS.map((u) => `${u.id} (${u.role}, ${u.locale ?? 'en'})`).join(', ')}`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5_000).unref(); // don't wait forever on open requests
    await closed;
    await snapshots?.stop();
    await db.destroy();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('Demo panel failed to start:', err);
  process.exit(1);
});
