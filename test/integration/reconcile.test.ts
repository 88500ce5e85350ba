import { describe, expect, it } from 'vitest';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICE = makeService();

describe.each(DATABASES)('reconcile ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;
  let driver: SimulatedDriver;
  async function setup() {
    driver = new SimulatedDriver({});
    fx = await handle.module({ driver, config: { scheduler: { enabled: false } } });
    await fx.mod.start();
  }
  const row = (id: number) => handle.db('snapshot_snapshots').where({ id }).first();
  async function active(name: string) {
    const s = await fx.mod.snapshots.create(SERVICE, { name }, CTX);
    await waitFor(async () => (await row(s.id))?.status === 'active', 5000, 'active');
    return s;
  }

  it('marks a record whose snapshot vanished as error and records an unknown snapshot of ours as unmanaged', async () => {
    await setup();
    const kept = await active('kept');
    const lost = await active('lost');
    await driver.delete(SERVICE.target, lost.hvName); // removed behind the module's back
    await driver.create(SERVICE.target, { name: 'psnap-20260101000000-abcdef', description: 'left by a crash', includeMemory: false });
    await driver.create(SERVICE.target, { name: 'before-upgrade', description: 'made by hand in Proxmox', includeMemory: false });

    const [summary] = await fx.mod.reconcile();
    expect(summary).toMatchObject({ serviceId: SERVICE.id, vanished: 1, unmanaged: 1, stuck: 0 });
    expect(await row(kept.id)).toMatchObject({ status: 'active' });
    expect(await row(lost.id)).toMatchObject({ status: 'error', error_code: 'snapshot_vanished' });
    const found = await handle.db('snapshot_snapshots').where({ hv_name: 'psnap-20260101000000-abcdef' }).first();
    expect(found).toMatchObject({ status: 'unmanaged', origin: 'adopted', description: 'left by a crash' });
    // Snapshots without our prefix are not ours to manage.
    expect(await handle.db('snapshot_snapshots').where({ hv_name: 'before-upgrade' }).first()).toBeUndefined();
    // Unmanaged snapshots occupy storage, so they count against the limit.
    expect((await fx.mod.snapshots.create(SERVICE, { name: 'x' }, CTX).catch((e) => e)).code).toBe('snapshot_limit_reached');

    // A second pass finds nothing new.
    expect((await fx.mod.reconcile())[0]).toMatchObject({ vanished: 0, unmanaged: 0 });
    expect(await handle.db('snapshot_audit_events').whereIn('action', ['reconcile.vanished', 'reconcile.unmanaged'])).toHaveLength(2);
  });

  it('leaves a service with operations in flight for the next pass', async () => {
    await setup();
    await fx.mod.stop();
    await fx.mod.snapshots.create(SERVICE, { name: 'queued' }, CTX);
    await driver.create(SERVICE.target, { name: 'psnap-20260101000000-zzzzzz', description: null, includeMemory: false });
    expect((await fx.mod.reconcile())[0]).toMatchObject({ skipped: 'busy', unmanaged: 0 });
  });

  it('never judges a snapshot whose create committed during the pass (its task not started yet) as vanished', async () => {
    await setup();
    await active('kept');
    await fx.mod.stop();
    let created: number | null = null;
    // While the pass lists the hypervisor, a create commits (a scheduled rush as a panel process starts).
    const list = driver.list.bind(driver);
    driver.list = async (target) => {
      if (created === null) created = (await fx.mod.snapshots.create(SERVICE, { name: 'meanwhile' }, CTX)).id;
      return list(target);
    };
    expect((await fx.mod.reconcile())[0]).toMatchObject({ vanished: 0, unmanaged: 0 });
    expect(await row(created!)).toMatchObject({ status: 'creating', error_code: null });
  });

  it('fails an operation that has been running far past the timeout and marks its snapshot error', async () => {
    await setup();
    await fx.mod.stop();
    const s = await fx.mod.snapshots.create(SERVICE, { name: 'hung' }, CTX);
    const longAgo = new Date(Date.now() - 7 * 24 * 3600_000);
    await handle.db('snapshot_operations').where({ snapshot_id: s.id }).update({ status: 'running', started_at: longAgo, locked_by: 'hung#1', locked_until: new Date(Date.now() + 60_000) });
    await fx.mod.reconcile();
    expect(await handle.db('snapshot_operations').where({ snapshot_id: s.id }).first()).toMatchObject({ status: 'failed', error_code: 'operation_stuck' });
    expect(await row(s.id)).toMatchObject({ status: 'error', error_code: 'operation_stuck' });
  });
});
