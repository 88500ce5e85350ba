import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import http from 'node:http';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
import knex from 'knex';
import { mixedCase, pageCases } from './scale-pages.js';
import { ACTOR_HEADER, benchDriver, hostApp, scaleModule } from './scale-panel.js';
import { panelServices } from './scale-seed.js';

const mem = (label: string) => {
  const m = process.memoryUsage();
  const f = (n: number) => (n / 1024 ** 2).toFixed(0);
  console.log(label, 'rss', f(m.rss), 'heapUsed', f(m.heapUsed), 'heapTotal', f(m.heapTotal), 'external', f(m.external), 'ab', f(m.arrayBuffers));
};
const gc = () => (globalThis as { gc?: () => void }).gc?.();
mem('boot');
const db = knex({ client: 'mysql2', connection: 'mysql://root@127.0.0.1:3306/bench_scale', pool: { min: 0, max: 10 } });
if (process.env.FRESH) await db('snapshot_jobs').delete();
const services = panelServices();
mem('services');
const mod = await scaleModule(db, services, benchDriver());
mem('created');
await mod.start();
mem('started'); gc(); mem('started+gc');
const server = hostApp(mod).listen(0);
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const cases = pageCases();
const which = process.env.ONLY;
for (let i = 0; i < Number(process.env.N ?? 2000); i++) {
  if (process.env.CUST && i % 4 === 0) continue;
  if (process.env.KIND && i % 4 !== 0 && !mixedCase(i, cases).path.endsWith(process.env.KIND)) continue;
  const c = which ? cases.find((x) => x.key === which)! : mixedCase(i, cases);
  if (process.env.FETCH) { const r = await fetch(`${base}${c.path}`, { headers: { [ACTOR_HEADER]: c.actor } }); await r.arrayBuffer(); }
  else await new Promise<void>((ok, bad) => http.get(`${base}${c.path}`, { agent, headers: { [ACTOR_HEADER]: c.actor } }, (res) => { res.on('data', () => {}); res.on('end', ok); }).on('error', bad));
}
mem('requests'); gc(); mem('requests+gc');
if (process.env.SNAP) v8.writeHeapSnapshot('/tmp/probe.heapsnapshot');
server.close(); await mod.stop(); await db.destroy();
