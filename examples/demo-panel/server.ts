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
 *   DEMO_CSRF_SECRET       signs the CSRF tokens of the demo's own forms (login, logout, orders); the
 *                          default is a public demo value
 *   PROXMOX_URL, …         optional: snapshot real Proxmox VE VMs for some services (see proxmox-env.ts)
 *   DEMO_QEMU_DISKS, DEMO_QEMU_QMP   put web-01 on a local QEMU VM (see qemu-demo.ts)
 *   DEMO_DATA_DIR          where the simulated hypervisor, the servers customers ordered (services.json)
 *                          and the default SQLite file live (default examples/demo-panel/data); the
 *                          browser tests use a fresh one
 *   DEMO_DELAY_SCALE       multiplies the simulated hypervisor's task times (default 1; tests use less)
 *
 * Logins (password "demo" for all): alice, minji (ko), yuki (ja, customer of hostco),
 * hostco (reseller), admin (admin: /admin/snapshots and /outbox).
 *
 * "New server" on a snapshot leads to the demo's order page (/orders/…): pick a plan whose disk holds
 * the snapshot's server, name it, confirm; the new server is listed under Services while its disk is
 * made from the snapshot (order-pages.ts, service-book.ts).
 */
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { USERS } from './demo-data.js';
import { createDemo } from './demo-setup.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DATA_DIR = path.resolve(process.env.DEMO_DATA_DIR ?? path.join(HERE, 'data'));

const PORT = Number(process.env.PORT ?? 3000);
const DELAY_SCALE = ((n) => (Number.isFinite(n) && n >= 0 ? n : 1))(Number(process.env.DEMO_DELAY_SCALE ?? 1));
// Demo values only: production must set its own long random secrets.
const CSRF_SECRET = process.env.SNAPSHOTS_CSRF_SECRET ?? 'demo-only-csrf-secret-change-me-in-production-0123456789';
const DEMO_CSRF_SECRET = process.env.DEMO_CSRF_SECRET ?? 'demo-only-panel-csrf-secret-change-me-in-production-9876543210';

async function main(): Promise<void> {
  const demo = await createDemo({
    dataDir: DATA_DIR, databaseUrl: process.env.DATABASE_URL, delayScale: DELAY_SCALE,
    csrfSecret: CSRF_SECRET, demoCsrfSecret: DEMO_CSRF_SECRET, webhookSecret: process.env.SNAPSHOTS_WEBHOOK_SECRET, env: process.env,
  });

  const server: Server = demo.app.listen(PORT, () => {
    console.log(`Demo panel: http://localhost:${PORT}/  (database: ${demo.label})`);
    if (demo.proxmox) console.log(`Proxmox VE: ${[...demo.proxmox.targets].map(([id, t]) => `${id} → ${t.node}/${t.vmId}`).join(', ')}`);
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
    await demo.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('Demo panel failed to start:', err);
  process.exit(1);
});
