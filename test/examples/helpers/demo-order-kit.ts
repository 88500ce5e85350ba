import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type supertest from 'supertest';
import { expect } from 'vitest';
import { findService } from '../../../examples/demo-panel/demo-data.js';
import { createDemo } from '../../../examples/demo-panel/demo-setup.js';
import type { SnapshotModule } from '../../../module/index.js';
import { waitFor } from '../../helpers/wait-for.js';

type Agent = ReturnType<typeof supertest.agent>;

/**
 * The whole demo as `npm start` builds it (module, SQLite, simulated hypervisor), in a fresh folder,
 * with the hypervisor's tasks cut to a few tens of milliseconds. `restart` stops it and builds it again
 * on the same folder, as a restarted demo would.
 */
export async function demoInFolder() {
  const dir = mkdtempSync(path.join(tmpdir(), 'demo-order-'));
  const build = () => createDemo({
    dataDir: dir, delayScale: 0.02, logger: pino({ level: 'warn' }),
    csrfSecret: 'test-module-csrf-secret-0123456789abcdef', demoCsrfSecret: 'test-panel-csrf-secret-0123456789abcdef',
  });
  let demo = await build();
  return {
    get app() { return demo.app; },
    get module(): SnapshotModule { return demo.module; },
    async restart() {
      await demo.stop();
      demo = await build();
    },
    async close() {
      await demo.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CSRF token of the form posting to `action` (a page's first form is the header's logout). */
export function tokenOfForm(html: string, action: string): string {
  const form = html.split('<form').find((f) => f.includes(`action="${action}"`));
  const token = form && /name="_csrf" value="([^"]+)"/.exec(form)?.[1];
  expect(token, `a CSRF token in the form posting to ${action}`).toBeTruthy();
  return token!;
}

/** A current snapshot of a demo service, made the way a panel calls the module directly. */
export async function currentSnapshot(module: SnapshotModule, serviceId: string, owner: string, name: string): Promise<number> {
  const service = findService(serviceId)!;
  const s = await module.snapshots.create(service, { name }, { actor: { type: 'customer', id: owner } });
  await waitFor(async () => (await module.snapshots.get(service, s.id)).status === 'active', 10_000, `${name} current`, 25);
  return s.id;
}

/** Snapshots page → New server (its review page) → Continue: where the module sends the customer. */
export async function beginNewServer(agent: Agent, serviceId: string, snapshotId: number): Promise<string> {
  const list = await agent.get(`/services/${serviceId}/snapshots`);
  const review = `/services/${serviceId}/snapshots/${snapshotId}/new-server`;
  expect(list.text).toContain(`href="${review}"`);
  const page = await agent.get(review);
  expect(page.status).toBe(200);
  const res = await agent.post(review).type('form').send({ _csrf: tokenOfForm(page.text, review) });
  expect(res.status, res.text).toBe(303);
  return res.headers.location as string;
}

/** The order form's answer to a confirm with these fields (the token read from the order page). */
export async function confirmOrder(agent: Agent, orderUrl: string, fields: { plan?: string; name?: string }) {
  const page = await agent.get(orderUrl);
  return agent.post(orderUrl).type('form').send({ _csrf: tokenOfForm(page.text, orderUrl), ...fields });
}

/** The ids of the services on the user's services list, in order. */
export async function listedServices(agent: Agent): Promise<string[]> {
  const html = (await agent.get('/services')).text;
  return [...html.matchAll(/<tr data-service="([^"]+)"/g)].map((m) => m[1]!);
}
