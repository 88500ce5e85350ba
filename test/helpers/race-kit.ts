import type { Knex } from 'knex';
import { expect } from 'vitest';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { ActionContext } from '../../module/index.js';
import { isSnapshotError } from '../../module/domain/errors.js';
import { OCCUPYING_STATUSES } from '../../module/domain/status.js';
import type { PlanLimits } from '../../module/domain/limits.js';
import type { PanelService, Snapshot } from '../../module/domain/types.js';
import { snapshotRoutes } from '../../module/http/api/routes.js';
import { scheduleRoutes } from '../../module/http/api/schedule-routes.js';
import type { SnapshotModule } from '../../module/index.js';

export const CUSTOMER: ActionContext = { actor: { type: 'customer', id: 'alice' } };
export const RESELLER: ActionContext = { actor: { type: 'reseller', id: 'rex' } };
export const ADMIN: ActionContext = { actor: { type: 'admin', id: 'root' } };

/** Every error code the API documents for any operation (what a refusal may carry). */
export const DOCUMENTED_CODES = new Set(
  [...Object.values(snapshotRoutes), ...Object.values(scheduleRoutes)]
    .flatMap((r) => Object.values((r as { errors?: Record<string, string[]> }).errors ?? {}).flat())
    .concat(['validation_failed', 'snapshot_not_found', 'schedule_not_found', 'service_not_found']),
);

/** Outcome of one action fired in a race. */
export type Outcome<T = unknown> = { ok: true; value: T } | { ok: false; code: string };

/**
 * Fires every action at the same moment and returns their outcomes in order. A refusal must be one
 * of ours with a documented code: anything else (a 500 in a panel) fails the test here.
 */
export async function race(actions: Array<() => Promise<unknown>>): Promise<Outcome[]> {
  const settled = await Promise.allSettled(actions.map((a) => Promise.resolve().then(a)));
  return settled.map((r) => {
    if (r.status === 'fulfilled') return { ok: true, value: r.value };
    if (!isSnapshotError(r.reason)) throw r.reason;
    expect(DOCUMENTED_CODES, `undocumented refusal ${r.reason.code}`).toContain(r.reason.code);
    return { ok: false, code: r.reason.code };
  });
}

/** The plan row a race test runs under (its limit is what "quota never exceeded" is checked against). */
export async function setPlan(db: Knex, planId: string, over: Partial<PlanLimits> = {}) {
  await new LimitsRepo(db).set(planId, { maxSnapshots: 6, maxSchedules: 2, maxKeep: 6, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true, ...over });
}

/** Creates `n` snapshots and marks them active with their creates done, as the runner would. */
export async function activeSnapshots(db: Knex, mod: SnapshotModule, service: PanelService, n: number,
  opts: { origin?: 'schedule'; scheduleId?: number } = {}): Promise<Snapshot[]> {
  const made: Snapshot[] = [];
  for (let i = 0; i < n; i++) made.push(await mod.snapshots.create(service, { name: `seed ${i}` }, CUSTOMER));
  await settle(db, service.id);
  // As the schedule's own (its runs made them): what its rotation may take.
  if (opts.origin) await db('snapshot_snapshots').whereIn('id', made.map((s) => s.id)).update({ origin: 'schedule', schedule_id: opts.scheduleId });
  return Promise.all(made.map(async (s) => (await new SnapshotsRepo(db).get(s.id))!));
}

/** Finishes the service's queued creates and restores as a zero-delay hypervisor would, and drops finished deletes. */
export async function settle(db: Knex, serviceId: string): Promise<void> {
  const ops = await db('snapshot_operations').where({ service_id: serviceId }).whereIn('status', ['queued', 'running']);
  for (const op of ops) {
    const to = op.kind === 'delete' ? null : 'active';
    if (to) await db('snapshot_snapshots').where({ id: op.snapshot_id }).whereIn('status', ['creating', 'restoring']).update({ status: to, completed_at: new Date() });
    else await db('snapshot_snapshots').where({ id: op.snapshot_id }).delete();
    await db('snapshot_operations').where({ id: op.id }).update({ status: 'succeeded', finished_at: new Date() });
  }
}

/** The rules no race may break, checked on the stored rows after a round. */
export async function expectInvariants(db: Knex, serviceId: string, limit: number): Promise<void> {
  const snaps = await db('snapshot_snapshots').where({ service_id: serviceId });
  const ops = await db('snapshot_operations').where({ service_id: serviceId }).whereIn('status', ['queued', 'running']);
  const audit = await db('snapshot_audit_events').where({ service_id: serviceId });
  // At most one restore waits or runs per service.
  expect(ops.filter((o) => o.kind === 'restore').length, 'restores queued or running').toBeLessThanOrEqual(1);
  expect(snaps.filter((s) => s.status === 'restoring').length, 'snapshots restoring').toBeLessThanOrEqual(1);
  // No operation on a snapshot already gone.
  const ids = new Set(snaps.map((s) => Number(s.id)));
  for (const o of ops) expect(ids.has(Number(o.snapshot_id)), `operation ${o.id} (${o.kind}) on a snapshot gone`).toBe(true);
  // Quota: snapshots taking storage, less those on their way out, never exceed the limit.
  const taking = snaps.filter((s) => (OCCUPYING_STATUSES as readonly string[]).includes(s.status) && s.status !== 'deleting');
  expect(taking.length, 'snapshots over the limit').toBeLessThanOrEqual(limit);
  // No safety snapshot without its accepted restore.
  const restores = audit.filter((a) => a.action === 'snapshot.restore' && a.result === 'ok').map((a) => JSON.parse(a.details ?? '{}'));
  for (const s of snaps.filter((x) => x.origin === 'safety')) {
    expect(restores.filter((d) => Number(d.safetySnapshotId) === Number(s.id)), `safety snapshot ${s.id} without its restore`).toHaveLength(1);
  }
  // A pinned snapshot is never on its way out by retention or a customer's unconfirmed delete.
  for (const s of snaps.filter((x) => x.status === 'deleting' && Number(x.pinned) === 1)) {
    const byCustomer = audit.some((a) => a.action === 'snapshot.delete' && a.result === 'ok' && Number(a.snapshot_id) === Number(s.id));
    expect(byCustomer, `pinned snapshot ${s.id} deleting without a confirmed delete`).toBe(true);
  }
  // Every snapshot that exists was created once (one ok create in the log).
  for (const s of snaps) {
    expect(audit.filter((a) => a.action === 'snapshot.create' && a.result === 'ok' && Number(a.snapshot_id) === Number(s.id)), `creates of ${s.id}`).toHaveLength(1);
  }
}

/** Audit rows of `action` with `result`, in commit order of their ids. */
export async function auditRows(db: Knex, serviceId: string, action: string | string[], result = 'ok'): Promise<Array<Record<string, unknown>>> {
  return db('snapshot_audit_events').where({ service_id: serviceId, result }).whereIn('action', ([] as string[]).concat(action)).orderBy('id');
}
