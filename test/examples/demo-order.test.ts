// The demo panel's order flow for a new server from a snapshot, over HTTP as a browser would drive it,
// against the whole demo (module, SQLite, simulated hypervisor with short tasks): Snapshots → New
// server → Continue → the panel's order page → Confirm → the new server listed while its disk is made,
// then ready; refusals (the panel's own and the module's) on the order page in the user's language.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findService } from '../../examples/demo-panel/demo-data.js';
import { createPanelAdapter } from '../../examples/demo-panel/panel-adapter.js';
import type { Actor, ServerOrderRequest } from '../../module/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { loggedIn } from './helpers/demo-app.js';
import { beginNewServer, confirmOrder, currentSnapshot, demoInFolder, listedServices, tokenOfForm } from './helpers/demo-order-kit.js';

// A reference as the module makes them (id.expiry.signature): it must never reach the browser.
const REFERENCE = /[A-Za-z0-9_-]{22}\.\d{1,12}\.[A-Za-z0-9_-]{43}/;

describe('the demo panel orders a new server from a snapshot', () => {
  let demo: Awaited<ReturnType<typeof demoInFolder>>;
  let snapshotId = 0;
  let alice: Awaited<ReturnType<typeof loggedIn>>['agent'];
  let orderUrl = '';
  let orderToken = '';

  beforeAll(async () => {
    demo = await demoInFolder();
    snapshotId = await currentSnapshot(demo.module, 'vps-101', 'alice', 'before-move');
    alice = (await loggedIn('alice', demo.app)).agent;
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('goes from the snapshot to the panel\'s order page, which names no snapshot id and no reference', async () => {
    orderUrl = await beginNewServer(alice, 'vps-101', snapshotId);
    expect(orderUrl).toMatch(/^\/orders\/[A-Za-z0-9_-]{22}$/);
    const page = await alice.get(orderUrl);
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(REFERENCE);
    expect(page.text).toContain('<h1>New server from a snapshot</h1>');
    expect(page.text).toContain('<dd>before-move</dd>');
    expect(page.text).toContain('<dd>web-01</dd>');
    // Mini's 10 GiB cannot hold web-01's 25 GiB: disabled, and it says why.
    expect(page.text).toMatch(/value="mini" disabled aria-describedby="plan-mini-why"/);
    expect(page.text).toContain('<small id="plan-mini-why" class="plan-why">Not available: the snapshot needs a disk of at least 25 GiB.</small>');
    expect(page.text).toMatch(/value="starter" checked required/);
    expect(page.text).toMatch(/value="enterprise" required/);
  });

  it('refuses a plan whose disk is too small, a missing name and a missing CSRF token; nothing is provisioned', async () => {
    const small = await confirmOrder(alice, orderUrl, { plan: 'mini', name: 'web-02' });
    expect(small.status).toBe(422);
    expect(small.text).toContain('Mini VPS has a 10 GiB disk, but the snapshot needs at least 25 GiB. Choose a larger plan.');
    const unnamed = await confirmOrder(alice, orderUrl, { plan: 'starter', name: '  ' });
    expect(unnamed.status).toBe(422);
    expect(unnamed.text).toContain('Enter a name for the new server.');
    const forged = await alice.post(orderUrl).type('form').send({ plan: 'starter', name: 'web-02' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('This form has expired or was not sent from this panel.');
    expect(await listedServices(alice)).toEqual(['vps-101', 'vps-102']);
  });

  it('confirms: a new server of alice\'s is listed while its disk is made, then ready with where it came from', async () => {
    orderToken = tokenOfForm((await alice.get(orderUrl)).text, orderUrl);
    const res = await alice.post(orderUrl).type('form').send({ _csrf: orderToken, plan: 'business', name: 'web-02' });
    expect(res.status, res.text).toBe(303);
    expect(res.headers.location).toBe('/services?ordered=vps-401');
    const listed = await alice.get(res.headers.location as string);
    expect(listed.text).toContain('web-02 is ordered. Its disk is being made from the snapshot.');
    expect(listed.text).toMatch(/data-clone="(queued|running)"/);
    expect(await listedServices(alice)).toEqual(['vps-101', 'vps-102', 'vps-401']);

    const done = await waitFor(async () => {
      const report = await demo.module.hooks.cloneStatus('vps-401');
      return report?.status === 'succeeded' || report?.status === 'failed' ? report : null;
    }, 15_000, 'the clone ends', 50);
    expect(done).toMatchObject({ status: 'succeeded', sourceServiceId: 'vps-101', snapshotName: 'before-move' });
    const after = (await alice.get('/services')).text;
    expect(after).toContain('data-clone="succeeded">Ready</span>');
    expect(after).toContain('Disk from snapshot “before-move” of web-01');
    // The new server's own Snapshots page: its banner no longer says the disk is being made.
    const own = await alice.get('/services/vps-401/snapshots');
    expect(own.status).toBe(200);
    expect(own.text).toContain('data-clone="succeeded"');
    expect(own.text).not.toMatch(/data-clone="(queued|running)"/);
  });

  it('makes no second server from a replayed confirm, nor from two confirms at once', async () => {
    // The browser sends the confirmed form again (back, then resubmit): same order, same token.
    const again = await alice.post(orderUrl).type('form').send({ _csrf: orderToken, plan: 'business', name: 'web-03' });
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/services?ordered=vps-401');
    expect((await alice.get(orderUrl)).text).toContain('This order is confirmed: web-02 is in your services.');

    const second = await beginNewServer(alice, 'vps-101', snapshotId);
    const token = tokenOfForm((await alice.get(second)).text, second);
    const post = () => alice.post(second).type('form').send({ _csrf: token, plan: 'starter', name: 'web-04' });
    const answers = await Promise.all([post(), post()]);
    expect(answers.map((a) => a.status)).toEqual([303, 303]);
    expect(await listedServices(alice)).toEqual(['vps-101', 'vps-102', 'vps-401', 'vps-402']);
  });

  it('shows the module\'s refusal on the order page in the user\'s language, and takes the server back', async () => {
    const minji = (await loggedIn('minji', demo.app)).agent;
    const id = await currentSnapshot(demo.module, 'vps-201', 'minji', '이전 전');
    const url = await beginNewServer(minji, 'vps-201', id);
    // The snapshot goes before the order is confirmed: the module refuses to make a server from it.
    await demo.module.snapshots.delete(findService('vps-201')!, id, { confirm: true }, { actor: { type: 'customer', id: 'minji' } });
    const res = await confirmOrder(minji, url, { plan: 'starter', name: '블로그 사본' });
    expect(res.status).toBe(409);
    // The module's own Korean wording (describeError).
    expect(res.text).toContain('<p class="alert alert-error" role="alert">스냅샷 또는 그 서버가 더 이상 없어 새 서버를 만들 수 없습니다.</p>');
    expect(res.text).toContain('<html lang="ko">');
    expect(await listedServices(minji)).toEqual(['vps-201']);
  });

  it('shows another user\'s order to nobody else', async () => {
    const yuki = (await loggedIn('yuki', demo.app)).agent;
    const res = await yuki.get(orderUrl);
    expect(res.status).toBe(404);
    expect(res.text).toContain('この注文は存在しないか、有効期限が切れています。');
    expect(res.text).not.toContain('before-move');
  });

  it('keeps the ordered servers across a restart', async () => {
    await demo.restart();
    const agent = (await loggedIn('alice', demo.app)).agent;
    expect(await listedServices(agent)).toEqual(['vps-101', 'vps-102', 'vps-401', 'vps-402']);
    expect((await agent.get('/services')).text).toContain('Disk from snapshot “before-move” of web-01');
    expect((await agent.get('/services/vps-401')).status).toBe(200);
  });
});

describe('the demo\'s order hook', () => {
  it('refuses, in the customer\'s language, a snapshot no plan has room for, or on a real hypervisor', async () => {
    const panel = createPanelAdapter({ actorOf: () => null, layout: () => '' });
    const source = findService('vps-301')!;
    const actor: Actor = { id: 'yuki', role: 'customer', locale: 'ja' };
    const request = (minDiskBytes: number): ServerOrderRequest => ({
      actor, source, snapshot: { id: 1, name: 'x', createdAt: new Date(), diskBytes: null }, minDiskBytes,
      reference: 'ref', expiresAt: new Date(Date.now() + 60_000), locale: 'ja',
    });
    expect(await panel.orderServerFromSnapshot!(request(500 * 1024 ** 3))).toEqual({
      refused: 'ディスクが 500 GiB 以上のプランがないため、このスナップショットからサーバーを作成できません。',
    });
    expect(await panel.orderServerFromSnapshot!(request(80 * 1024 ** 3))).toEqual({ continueUrl: expect.stringMatching(/^\/orders\/[A-Za-z0-9_-]{22}$/) });
    // A service the demo points at a real hypervisor (PROXMOX_*, DEMO_QEMU_DISKS) is not cloned by guessing VM ids there.
    const real = { ...request(80 * 1024 ** 3), source: { ...source, target: { ...source.target, driver: 'proxmox' } } };
    expect(await panel.orderServerFromSnapshot!(real)).toEqual({ refused: expect.stringContaining('シミュレーション') });
  });
});
