import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { cloneEnded, currentSnapshot } from './clone-fixture.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';

// The README's provisioning example, run as written (only SECRET, URL and REFERENCE replaced).
const SECRET = 'readme-example-secret-0123456789abcdefgh';
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const BLOCK = /<!-- webhook-provision-example -->\s*```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
const HAS_TOOLS = ['openssl', 'curl'].every((c) => spawnSync(c, ['--version']).status === 0 || spawnSync(c, ['version']).status === 0);

describe.each(DATABASES)('README example: provisioning a new server from a snapshot ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let closeServer: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await closeServer?.();
    closeServer = null;
  });

  it.skipIf(!HAS_TOOLS)('queues the clone into the service it names, and answers a repeat the same', async () => {
    expect(BLOCK).toContain('"event":"service.provisioned_from_snapshot"');
    const SOURCE = makeService({ id: 'vps-101' });
    const NEW = makeService({ id: 'vps-102', name: 'vps-102', target: { driver: 'simulated', node: 'node1', vmId: '102' } });
    const references: string[] = [];
    const fx = await handle.module({
      services: [SOURCE, NEW], driver: new SimulatedDriver({}), config: { webhookSecret: SECRET },
      panel: { orderServerFromSnapshot: (r) => { references.push(r.reference); return { continueUrl: '/order/1' }; } },
    });
    await fx.mod.start();
    const s = await currentSnapshot(handle.db, fx.mod, SOURCE);
    await supertest(appFor(fx.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${s.id}/new-server`).set('x-test-actor', 'alice').send({}).expect(200);
    const server = appFor(fx.mod).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    closeServer = () => new Promise((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/snapshots`;
    const script = BLOCK.replace(/^SECRET=.*$/m, `SECRET='${SECRET}'`).replace(/^URL=.*$/m, `URL='${url}'`)
      .replace(/^REFERENCE=.*$/m, `REFERENCE='${references[0]}'`);
    const run = () => new Promise<string>((resolve, reject) => {
      execFile('bash', ['-euo', 'pipefail', '-c', script], { timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    const first = JSON.parse(await run());
    expect(first).toMatchObject({ eventId: 'evt-2026-0002', event: 'service.provisioned_from_snapshot', result: { serviceId: 'vps-102', sourceServiceId: 'vps-101', status: 'queued' } });
    expect(JSON.parse(await run())).toEqual(first);
    expect((await cloneEnded(handle.db, 'vps-102')).status).toBe('succeeded');
  });
});
