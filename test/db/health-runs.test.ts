import { describe, expect, it } from 'vitest';
import { AdminQueries } from '../../module/db/admin-queries.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

const MIN = 60_000;

describe.each(DATABASES)('scheduled-run summaries are grouped by the database ($kind)', (kind) => {
  const handle = useDatabase(kind);

  const event = (service: string, action: string, result: string, over: Record<string, unknown> = {}) => ({
    occurred_at: new Date(Date.now() - 10 * MIN), actor_type: 'schedule', service_id: service, action, result, ...over,
  });

  it('totals every outcome, lists per service only the runs that went wrong, and the successes of those services', async () => {
    await handle.db.batchInsert('snapshot_audit_events', [
      ...Array.from({ length: 3 }, () => event('svc-a', 'operation.create', 'ok')),
      event('svc-a', 'schedule.run', 'failed'),
      ...Array.from({ length: 5 }, () => event('svc-b', 'operation.create', 'ok')),
      event('svc-b', 'schedule.run', 'refused', { code: 'snapshot_limit_reached' }),
      event('svc-b', 'operation.create', 'failed'),
      ...Array.from({ length: 2 }, () => event('svc-c', 'operation.create', 'ok')),
      event('svc-c', 'schedule.run', 'ok'),
      event('svc-d', 'schedule.run', 'refused', { code: 'service_suspended' }),
      // A person's create and a run from before the window are not counted.
      event('svc-c', 'operation.create', 'ok', { actor_type: 'customer' }),
      event('svc-a', 'schedule.run', 'failed', { occurred_at: new Date(Date.now() - 3 * 86_400_000) }),
    ], 50);
    const { totals, problems } = await new AdminQueries(handle.db).scheduleRunCounts(new Date(Date.now() - 86_400_000));
    expect(totals).toEqual({ succeeded: 10, failed: 2, skipped: 1, missed: 0, not_run: 1 });
    const by = (id: string) => Object.fromEntries(problems.filter((c) => c.serviceId === id).map((c) => [c.outcome, c.n]));
    expect(by('svc-a')).toEqual({ failed: 1, succeeded: 3 });
    expect(by('svc-b')).toEqual({ skipped: 1, failed: 1, succeeded: 5 });
    expect(by('svc-c')).toEqual({});
    expect(by('svc-d')).toEqual({ not_run: 1 });
  });

  it('reads the lateness of the newest runs only, up to the cap, and says when there were more', async () => {
    const now = Date.now();
    await handle.db.batchInsert('snapshot_audit_events', Array.from({ length: 5 }, (_, i) => event('svc-a', 'schedule.run', 'ok', {
      occurred_at: new Date(now - (5 - i) * MIN), details: JSON.stringify({ occurrence: new Date(now - (5 - i) * MIN - (i + 1) * 1000).toISOString() }),
    })), 50);
    const q = new AdminQueries(handle.db);
    const since = new Date(now - 86_400_000);
    const capped = await q.scheduleRunDelays(since, 3);
    expect(capped.sampled).toBe(true);
    expect(capped.delays.sort((a, b) => a - b)).toEqual([3000, 4000, 5000]);
    expect(await q.scheduleRunDelays(since, 5)).toEqual({ delays: [5000, 4000, 3000, 2000, 1000], sampled: false });
  });
});
