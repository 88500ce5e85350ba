// What the Snapshots page says about the quota: the limit once (not as an alert and again as a box),
// no free-slot count on a service that cannot take a snapshot, and Japanese sentences side by side
// without a space after 。.
import { describe, expect, it } from 'vitest';
import supertest from 'supertest';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';

const PAGE = '/services/svc-1/snapshots';
const RESOLD = '/services/svc-3/snapshots';
const SUSPENDED = '/services/svc-4/snapshots';

const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

describe.each(DATABASES)('Snapshots page messages ($kind)', (kind) => {
  const fx = useModule(kind, {
    services: [
      makeService(),
      makeService({ id: 'svc-3', name: 'resold', ownerId: 'bob', resellerId: 'rex' }),
      makeService({ id: 'svc-4', name: 'frozen', status: 'suspended' }),
    ],
  });

  async function fill(actor: string, page: string) {
    const { agent, token } = await sessionFor(fx.mod, actor, page);
    for (const name of ['one', 'two', 'three']) expect((await agent.post(page).type('form').send({ _csrf: token, name })).status).toBe(303);
    return { agent, token };
  }

  it('says "Snapshot limit reached" once after a create refused for the limit, as the alert, with the way out', async () => {
    const { agent, token } = await fill('alice', PAGE);
    const refused = await agent.post(PAGE).type('form').send({ _csrf: token, name: 'four' });
    expect(refused.status).toBe(409);
    expect(count(refused.text, 'Snapshot limit reached.')).toBe(1);
    expect(refused.text).toMatch(/role="alert"[^>]*>Snapshot limit reached\. To make room/);
    // Simply at the limit (no refusal): the box is there, as a warning, not an alert.
    const list = await agent.get(PAGE);
    expect(count(list.text, 'Snapshot limit reached.')).toBe(1);
    expect(list.text).not.toContain('role="alert"');
  });

  it('shows a suspended service\'s suspension instead of a count of snapshots it cannot take', async () => {
    const res = await supertest(appFor(fx.mod)).get(SUSPENDED).set('x-test-actor', 'alice');
    expect(res.status).toBe(200);
    expect(res.text).toContain('This service is suspended.');
    expect(res.text).not.toContain('Snapshots left');
    expect(res.text).not.toContain('Snapshot limit reached');
  });

  it('puts Japanese sentences side by side without a space after 。', async () => {
    await fill('reseller', RESOLD);
    const res = await supertest(appFor(fx.mod)).get(RESOLD).set('x-test-actor', 'reseller');
    expect(res.text).toContain('スナップショット数が上限に達しました。空きを確保するには');
    // Within one run of text: a line break between two elements is the markup's, not a typed space.
    expect(res.text).not.toMatch(/[。、][ \u3000]+[^\s<]/);
  });
});
