import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { setPlan } from '../helpers/race-kit.js';
import { cloneFixture, currentSnapshot, CUSTOMER, newService, SOURCE, type CloneFixture } from './clone-fixture.js';

const ROUNDS = 6;
const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok');

/**
 * Provisioning raced against itself and against a delete, round after round (on MariaDB these are
 * real concurrent transactions under the source's row lock). Each round ends with one clone at most,
 * never a snapshot both being deleted and being copied, and only documented answers.
 */
describe.each(DATABASES)('new servers from snapshots under concurrency ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  const db = () => handle.db;

  async function order(fx: CloneFixture, snapshotId: number): Promise<string> {
    await supertest(appFor(fx.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${snapshotId}/new-server`).set('x-test-actor', 'alice').send({}).expect(200);
    return fx.orders.at(-1)!.reference;
  }

  it('one reference delivered at once twice for one service and once for another: one clone, the repeat answered alike', async () => {
    await setPlan(db(), SOURCE.planId, { maxSnapshots: 10 });
    const fx = await cloneFixture(handle, { driver: { delayMs: { create: [1, 1], clone: [1, 1] } } });
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    for (let round = 0; round < ROUNDS; round++) {
      const a = newService({ id: `a-${round}`, target: { driver: 'simulated', node: 'node1', vmId: `a${round}` } });
      const b = newService({ id: `b-${round}`, target: { driver: 'simulated', node: 'node1', vmId: `b${round}` } });
      for (const svc of [a, b]) fx.services.set(svc.id, svc);
      const ref = await order(fx, s.id);
      const results = await Promise.allSettled([
        fx.mod.hooks.provisionedFromSnapshot(a.id, ref), fx.mod.hooks.provisionedFromSnapshot(a.id, ref), fx.mod.hooks.provisionedFromSnapshot(b.id, ref),
      ]);
      const clones = await db()('snapshot_clones').whereIn('new_service_id', [a.id, b.id]);
      expect(clones, `round ${round}`).toHaveLength(1);
      const winner = clones[0].new_service_id as string;
      const codes = results.map(codeOf);
      // a's two deliveries are one provisioning: both answered with a's clone, or both refused.
      expect(codes, `round ${round}`).toEqual(winner === a.id ? ['ok', 'ok', 'handover_used'] : ['handover_used', 'handover_used', 'ok']);
      for (const r of results) if (r.status === 'fulfilled') expect(r.value.serviceId).toBe(winner);
      expect(await db()('snapshot_operations').where({ kind: 'clone' }).count({ n: '*' }).first()).toMatchObject({ n: round + 1 });
    }
  });

  it('a delete and a provisioning of the same snapshot at once: exactly one wins', async () => {
    await setPlan(db(), SOURCE.planId, { maxSnapshots: 10 });
    const fx = await cloneFixture(handle, { driver: { delayMs: { create: [1, 1], clone: [200, 200] } } });
    const seen = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const s = await currentSnapshot(db(), fx.mod, SOURCE, `r${round}`);
      const svc = newService({ id: `n-${round}`, target: { driver: 'simulated', node: 'node1', vmId: `n${round}` } });
      fx.services.set(svc.id, svc);
      const ref = await order(fx, s.id);
      const [del, prov] = await Promise.allSettled([
        fx.mod.snapshots.delete(SOURCE, s.id, { confirm: true }, CUSTOMER), fx.mod.hooks.provisionedFromSnapshot(svc.id, ref),
      ]);
      const outcome = `${codeOf(del)} / ${codeOf(prov)}`;
      seen.add(outcome);
      expect(['ok / clone_source_gone', 'snapshot_cloning / ok'], `round ${round}`).toContain(outcome);
      const clone = await db()('snapshot_clones').where({ new_service_id: svc.id }).first();
      const row = await db()('snapshot_snapshots').where({ id: s.id }).first();
      if (clone) expect(row?.status, `round ${round}`).toBe('active');
      else expect(row?.status ?? 'gone', `round ${round}`).not.toBe('active');
      expect(await db()('snapshot_handovers').where({ id: ref.split('.')[0] }).first()).toMatchObject({ used_by_service_id: clone ? svc.id : null });
    }
    console.info(`[${kind.kind}] delete vs provisioning outcomes: ${[...seen].join('; ')}`);
  });
});
