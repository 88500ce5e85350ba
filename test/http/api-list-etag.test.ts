import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { statementsOf } from '../helpers/statements.js';

const SERVICE = makeService();
const API = '/api/v1/services/svc-1/snapshots';
const ctx = { actor: { type: 'customer' as const, id: 'alice' } };

describe.each(DATABASES)('the API list answers 304 to a client whose copy is current ($kind)', (kind) => {
  const fx = useModule(kind, { services: [SERVICE] });

  it('tags each answer, answers the tag with 304 while nothing changed, and a new answer after any change', async () => {
    await fx.mod.snapshots.create(SERVICE, { name: 'first', description: null, includeMemory: false }, ctx);
    const alice = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'alice');
    const first = await alice.get(API);
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    const tag = first.headers.etag as string;
    expect(tag).toMatch(/^W\/"/);

    const again = await statementsOf(fx.db, () => alice.get(API).set('If-None-Match', tag));
    expect(again.result.status).toBe(304);
    expect(again.result.text).toBe('');
    if (kind.kind === 'mysql') {
      // The service's state row and the fingerprint: none of the list's own reads.
      expect(again.sql.length).toBeLessThanOrEqual(2);
      expect(again.sql.filter((q) => q.startsWith('select (select concat(count(*)'))).toHaveLength(1);
    }
    if (kind.kind === 'mysql') {
      // Someone else, or another page of the list, with Alice's tag: a full answer. (On SQLite the tag
      // is express's, of the body, so an answer with the same bytes rightly matches it.)
      expect((await supertest(appFor(fx.mod)).get(API).set('x-test-actor', 'admin').set('If-None-Match', tag)).status).toBe(200);
      expect((await alice.get(`${API}?limit=10`).set('If-None-Match', tag)).status).toBe(200);
    }

    await fx.mod.snapshots.create(SERVICE, { name: 'second', description: null, includeMemory: false }, ctx);
    const changed = await alice.get(API).set('If-None-Match', tag);
    expect(changed.status).toBe(200);
    expect(changed.body.snapshots.map((s: { name: string }) => s.name)).toContain('second');
    expect(changed.headers.etag).not.toBe(tag);
  });
});
