import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_TYPES } from '../../module/domain/deps.js';
import { causeOf, isMailed, MAIL_POLICY } from '../../module/notifications/mail-policy.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { setPlan } from '../helpers/race-kit.js';
import { waitFor } from '../helpers/wait-for.js';

const ALICE = makeService();
const BOB = makeService({ id: 'svc-2', name: 'vps-201', ownerId: 'bob', resellerId: 'rex', target: { driver: 'simulated', node: 'node1', vmId: '102' } });

describe('the mail policy', () => {
  it('is the table docs/notifications.md shows, event by event', () => {
    const doc = readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\w+)` \| (yes|no) \| (yes|no) \| (yes|no) \|/gm)]
      .map((m) => [m[1], { owner: m[2] === 'yes', schedule: m[3] === 'yes', other: m[4] === 'yes' }]);
    expect(Object.fromEntries(rows)).toEqual(MAIL_POLICY);
    expect(rows.map(([type]) => type).sort()).toEqual([...NOTIFICATION_TYPES].sort());
  });

  it('tells the owner\'s own doings from a schedule\'s and everyone else\'s', () => {
    expect(causeOf({ type: 'customer', id: 'alice' }, 'alice')).toBe('owner');
    expect(causeOf({ type: 'customer', id: 'bob' }, 'alice')).toBe('other');
    expect(causeOf({ type: 'reseller', id: 'rex' }, 'alice')).toBe('other');
    expect(causeOf({ type: 'admin', id: 'alice' }, 'alice')).toBe('other');
    expect(causeOf({ type: 'schedule', id: '4' }, 'alice')).toBe('schedule');
    expect(causeOf({ type: 'billing' }, 'alice')).toBe('other');
    expect(causeOf(undefined, 'alice')).toBe('other');
    expect(isMailed({ type: 'schedule_skipped', cause: { type: 'schedule', id: '4' } }, 'alice')).toBe(true);
    expect(isMailed({ type: 'limit_reached', cause: { type: 'customer', id: 'alice' } }, 'alice')).toBe(false);
    expect(isMailed({ type: 'snapshot_failed', cause: { type: 'customer', id: 'alice' } }, 'alice')).toBe(true);
    expect(isMailed({ type: 'snapshot_failed', cause: { type: 'schedule', id: '4' } }, 'alice')).toBe(false);
  });
});

describe.each(DATABASES)('mail sent by the running module ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('mails nothing when the owner fills their quota themselves; an administrator\'s or reseller\'s snapshot is mailed', async () => {
    await setPlan(handle.db, ALICE.planId, { maxSnapshots: 1 });
    const fx = await handle.module({ services: [ALICE, BOB] });
    await fx.mod.start();
    const active = (id: number) => waitFor(async () => (await handle.db('snapshot_snapshots').where({ id }).first())?.status === 'active', 10_000, 'snapshot active');
    const mine = await fx.mod.snapshots.create(ALICE, { name: 'mine' }, { actor: { type: 'customer', id: 'alice' } });
    const theirs = await fx.mod.snapshots.create(BOB, { name: 'by support' }, { actor: { type: 'admin', id: 'root' } });
    await active(mine.id);
    await active(theirs.id);
    // Drained: every operation, and the mail it sends, has finished.
    await fx.mod.stop({ drain: true });
    expect(fx.notifications.filter((n) => n.serviceId === ALICE.id)).toEqual([]);
    expect(fx.notifications.map((n) => [n.type, n.recipientId])).toEqual([['snapshot_created', 'bob'], ['limit_reached', 'bob']]);

    // Bob's reseller acting on bob's service is someone else to bob, too.
    fx.notifications.length = 0;
    await fx.mod.start();
    await fx.mod.snapshots.delete(BOB, theirs.id, { confirm: true }, { actor: { type: 'reseller', id: 'rex' } });
    await waitFor(() => fx.notifications.find((n) => n.type === 'snapshot_deleted'), 10_000, 'deleted mail');
    expect(fx.notifications[0]).toMatchObject({ recipientId: 'bob', params: { name: 'by support', service: BOB.name } });
  });
});
