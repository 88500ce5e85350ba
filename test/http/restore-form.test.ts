import { describe, expect, it } from 'vitest';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { NAME_MAX } from '../../module/domain/names.js';
import type { PanelService } from '../../module/domain/types.js';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { settle } from '../helpers/race-kit.js';

const ALICE = makeService();
const BOB = makeService({ id: 'svc-2', name: 'vps-201', ownerId: 'bob', target: { driver: 'simulated', node: 'node1', vmId: '102' } });
const page = (s: PanelService) => `/services/${s.id}/snapshots`;

describe.each(DATABASES)('the restore form ($kind)', (kind) => {
  const fx = useModule(kind, { services: [ALICE, BOB] });

  // Settled by hand, without the runner: the form is what is under test, not the hypervisor's pace.
  async function activeSnapshot(service: PanelService, name: string) {
    const s = await fx.mod.snapshots.create(service, { name }, { actor: { type: 'customer', id: service.ownerId } });
    await settle(fx.db, service.id);
    return s;
  }

  it('says the safety snapshot takes one of the snapshots left', async () => {
    const s = await activeSnapshot(ALICE, 'known good');
    const { page: form } = await sessionFor(fx.mod, 'alice', `${page(ALICE)}/${s.id}/restore`);
    expect(form.text).toContain('Uses 1 of your 2 snapshots left.');
    await activeSnapshot(ALICE, 'second');
    const { page: last } = await sessionFor(fx.mod, 'alice', `${page(ALICE)}/${s.id}/restore`);
    expect(last.text).toContain('Uses the last snapshot you have left.');
  });

  it('keeps a mistyped server name on the form: the field marked, its own message, the expected name; logged by its code', async () => {
    const s = await activeSnapshot(ALICE, 'known good');
    const path = `${page(ALICE)}/${s.id}/restore`;
    const { agent, token } = await sessionFor(fx.mod, 'alice', path);
    const res = await agent.post(path).type('form').send({ _csrf: token, typedServiceName: 'web-1', safetySnapshot: '1' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('<h1 id="snapshots-restore-title">Restore from snapshot</h1>');
    expect(res.text).toMatch(/<input id="typed-service" name="typedServiceName"[^>]*value="web-1" aria-invalid="true" aria-describedby="typed-service-error">/);
    expect(res.text).toContain('<small id="typed-service-error" class="snapshots-error-text">The server name you typed does not match. Type it exactly as shown: web-01</small>');
    expect((await fx.db('snapshot_snapshots').where({ id: s.id }).first()).status).toBe('active');

    const refused = await new AuditRepo(fx.db).list({ serviceId: ALICE.id, action: 'snapshot.restore' });
    expect(refused.map((a) => [a.result, a.code, a.details])).toEqual([['refused', 'service_name_mismatch', { fields: { typedServiceName: 'service_name_mismatch' } }]]);
    const log = await agent.get(`${page(ALICE)}/activity`);
    expect(log.text).toContain('The server name you typed does not match.');
    expect(log.text).not.toContain('Please correct the highlighted fields.');
    // A refusal logged before fields had their own codes reads as what it was, not as form advice.
    await new AuditRepo(fx.db).record({ actor: { type: 'customer', id: 'alice' }, serviceId: ALICE.id, action: 'snapshot.restore', result: 'refused', code: 'validation_failed' });
    const older = await agent.get(`${page(ALICE)}/activity`);
    expect(older.text).toContain('An entry in the form was not valid.');
    expect(older.text).not.toContain('Please correct the highlighted fields.');
  });

  it('names the safety snapshot for what it is, in the requester\'s language and clock, within 64 characters', async () => {
    const long = `before-${'x'.repeat(57)}`;
    const restored = await activeSnapshot(ALICE, long);
    const path = `${page(ALICE)}/${restored.id}/restore`;
    const { agent, token } = await sessionFor(fx.mod, 'alice', path);
    const res = await agent.post(path).type('form').send({ _csrf: token, typedServiceName: ALICE.name, safetySnapshot: '1' });
    expect(res.status).toBe(303);
    const safety = await fx.db('snapshot_snapshots').where({ service_id: ALICE.id, origin: 'safety' }).first();
    expect([...safety.name].length).toBeLessThanOrEqual(NAME_MAX);
    expect(safety.name).toMatch(/^Before restoring before-x+…, [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M$/);

    const mine = await activeSnapshot(BOB, '배포 전');
    const bobPath = `${page(BOB)}/${mine.id}/restore`;
    const bob = await sessionFor(fx.mod, 'bob', bobPath);
    expect(bob.page.text).toContain('남은 스냅샷 2개 중 1개를 사용합니다.');
    expect((await bob.agent.post(bobPath).type('form').send({ _csrf: bob.token, typedServiceName: BOB.name, safetySnapshot: '1' })).status).toBe(303);
    const hers = await fx.db('snapshot_snapshots').where({ service_id: BOB.id, origin: 'safety' }).first();
    expect(hers.name).toMatch(/^배포 전 복원 전 상태 \(\d{4}\. \d{1,2}\. \d{1,2}\. \d{2}:\d{2}\)$/);
  });
});
