// The two servers bench/http.ts measures: a minimal host panel mounting the module through its
// public entry, and a bare express app rendering an EJS page of the same size.
import cookieParser from 'cookie-parser';
import ejs from 'ejs';
import express, { type Express } from 'express';
import knex, { type Knex } from 'knex';
import pino from 'pino';
import { createSnapshotModule, simulatedDriver, type Actor, type PanelService } from '../module/index.js';

export const SNAPSHOTS = 50;
export const SCHEDULES = 5;

/** The benchmarked service, owned by the logged-in customer. */
export const SERVICE: PanelService = {
  id: 'svc-bench', name: 'web-bench', ownerId: 'alice', resellerId: null, planId: 'basic', diskBytes: 40 * 1024 ** 3,
  status: 'active', target: { driver: 'simulated', node: 'node1', vmId: '101' },
};

export const PAGE = (serviceId: string) => `/services/${serviceId}/snapshots`;

const ALICE: Actor = { id: 'alice', role: 'customer', locale: 'en', timezone: 'Asia/Seoul' };

/**
 * A host panel as small as it gets: a cookie session, one service, the module's routers.
 * `pageCacheBytes: 0` makes the module render every view (as it does for a page whose data changed).
 */
export async function moduleApp(dbUrl: string, service: PanelService, opts: { pageCacheBytes?: number; pool?: Knex.PoolConfig } = {}): Promise<Express> {
  const db = knex({ client: 'mysql2', connection: dbUrl, pool: { min: 2, max: 10, ...opts.pool } });
  const mod = await createSnapshotModule({
    db,
    panel: {
      getActor: (req) => (req.cookies?.bench_session === 'alice' ? ALICE : null),
      getService: (id) => (id === service.id ? service : null),
    },
    drivers: { simulated: simulatedDriver() },
    config: {
      csrfSecret: 'bench-http-secret-bench-http-secret-0123', scheduler: { enabled: false },
      defaultLimits: { maxSnapshots: 60, maxSchedules: 5, maxKeep: 10, memoryAllowed: true, schedulesAllowed: true },
      ...(opts.pageCacheBytes !== undefined ? { pageCacheBytes: opts.pageCacheBytes } : {}),
    },
    logger: pino({ level: 'silent' }),
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(cookieParser());
  app.use(mod.routers.client);
  app.use(mod.routers.api);
  return app;
}

const TEMPLATE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title><%= title %></title><link rel="stylesheet" href="/a.css"></head>
<body><main><h1><%= title %></h1><p><%= quota %></p>
<table><thead><tr><th>Name</th><th>Created</th><th>Size</th><th>Status</th><th>Actions</th></tr></thead><tbody>
<% for (const r of rows) { %><tr data-id="<%= r.id %>"><td><%= r.name %><% if (r.description) { %><br><span><%= r.description %></span><% } %></td>
<td><time datetime="<%= r.iso %>"><%= r.created %></time></td><td><%= r.size %></td><td><%= r.status %></td>
<td><form method="post" action="/x/<%= r.id %>/pin"><input type="hidden" name="_csrf" value="<%= csrf %>"><button>Pin</button></form>
<a href="/x/<%= r.id %>/edit">Edit</a> <a href="/x/<%= r.id %>/restore">Restore</a> <a href="/x/<%= r.id %>/delete">Delete</a></td></tr>
<% } %></tbody></table><p hidden><%= pad %></p></main></body></html>`;

/** Bare express + EJS: a cached template over 50 rows of in-memory data, padded to `bytes`. */
export function baselineApp(bytes: number): Express {
  const render = ejs.compile(TEMPLATE);
  const dtf = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Seoul' });
  const rows = Array.from({ length: 50 }, (_, i) => {
    const at = new Date(Date.UTC(2026, 0, 1 + i));
    return {
      id: i + 1, name: `Snapshot ${i + 1} — before upgrade`, description: i % 2 ? `Release ${i} & config <check>` : null,
      iso: at.toISOString(), created: dtf.format(at), size: `${(1.5 + i / 10).toFixed(1)} GB`, status: 'Current',
    };
  });
  const model = { title: 'Snapshots — web-bench', quota: 'Snapshots left: 10 of 60', rows, csrf: 'x'.repeat(128), pad: '' };
  model.pad = 'p'.repeat(Math.max(0, bytes - Buffer.byteLength(render(model))));
  const app = express();
  app.disable('x-powered-by');
  app.get(/.*/, (_req, res) => {
    res.type('html').send(render(model));
  });
  return app;
}

/**
 * The machine's floor: bare express sending one prebuilt buffer of the page's size (no template, no
 * database, no middleware). Nothing serving this page can be faster here, so its p99 says what p99
 * any page of this size can reach on this machine at this many connections.
 */
export function floorApp(bytes: number): Express {
  const body = Buffer.alloc(bytes, 'p');
  const app = express();
  app.disable('x-powered-by');
  app.get(/.*/, (_req, res) => {
    res.type('html').send(body);
  });
  return app;
}

/** A fresh database with the module's tables, one service, 50 active snapshots and 5 schedules. */
export async function seed(MYSQL_URL: string): Promise<{ dbUrl: string; drop: () => Promise<void> }> {
  const admin = knex({ client: 'mysql2', connection: MYSQL_URL });
  const name = process.env.BENCH_DB_NAME ?? `bench_http_${process.pid}`;
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  const db = knex({ client: 'mysql2', connection: url.toString() });
  const mod = await createSnapshotModule({
    db, panel: { getActor: () => null, getService: (id) => (id === SERVICE.id ? SERVICE : null) },
    drivers: { simulated: simulatedDriver() },
    config: {
      csrfSecret: 'bench-http-secret-bench-http-secret-0123', scheduler: { enabled: false },
      defaultLimits: { maxSnapshots: 60, maxSchedules: SCHEDULES, maxKeep: 10, memoryAllowed: true, schedulesAllowed: true },
      operations: { pollMs: 10, taskPollMs: 5 },
    },
    logger: pino({ level: 'silent' }),
  });
  await mod.migrate();
  const ctx = { actor: { type: 'customer' as const, id: 'alice' } };
  for (let i = 0; i < SCHEDULES; i++) {
    await mod.schedules.create(SERVICE, { name: `Weekly ${i + 1}`, days: [i % 7], hour: 3, minute: 0, timezone: 'Asia/Seoul', keep: 10 }, ctx);
  }
  for (let i = 0; i < SNAPSHOTS; i++) {
    await mod.snapshots.create(SERVICE, { name: `Snapshot ${i + 1} — before upgrade`, description: i % 2 ? `Release ${i} & config <check>` : null, includeMemory: i % 5 === 0 }, ctx);
  }
  await mod.start();
  for (;;) {
    const row = await db('snapshot_snapshots').whereNot({ status: 'active' }).count({ n: '*' }).first();
    if (Number(row?.n) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await mod.stop();
  await db.destroy();
  return {
    dbUrl: url.toString(),
    drop: async () => {
      await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.destroy();
    },
  };
}
