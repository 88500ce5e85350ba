// Run by compiled-entry.test.ts with plain node (no tsx, no loader) inside a copy of the packed
// package: imports the package by its own name, which only package.json "exports" can resolve, mounts
// the module on SQLite and prints what a panel would get back, as one JSON line.
import http from 'node:http';
import express from 'express';
import knex from 'knex';
import { createSnapshotModule, simulatedDriver } from 'panel-snapshots';

const [dbFile] = process.argv.slice(2);
const service = {
  id: 'svc-1', name: 'web-01', ownerId: 'minji', resellerId: null, planId: 'basic', diskBytes: 20 * 1024 ** 3,
  status: 'active', target: { driver: 'simulated', node: 'node1', vmId: '101' },
};
const db = knex({ client: 'better-sqlite3', connection: { filename: dbFile }, useNullAsDefault: true });
const mod = await createSnapshotModule({
  db,
  panel: {
    getActor: () => ({ id: 'minji', role: 'customer', locale: 'ko', timezone: 'Asia/Seoul' }),
    getService: (id) => (id === service.id ? service : null),
  },
  drivers: { simulated: simulatedDriver() },
  config: { csrfSecret: 'compiled-probe-secret-0123456789abcdef' },
});
await mod.migrate();
await mod.snapshots.create(service, { name: 'before-upgrade' }, { actor: { type: 'admin', id: 'root' } });

const app = express();
app.use(mod.routers.client);
const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const get = (path) => new Promise((resolve, reject) => {
  http.get(`http://127.0.0.1:${server.address().port}${path}`, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => { body += d; });
    res.on('end', () => resolve({ status: res.statusCode, body }));
  }).on('error', reject);
});
const page = await get('/services/svc-1/snapshots');
const css = await get('/snapshots-assets/snapshots.css');
server.close();
await mod.stop();
await db.destroy();
console.log(JSON.stringify({ entry: import.meta.resolve('panel-snapshots'), page, css: { status: css.status, bytes: css.body.length } }));
