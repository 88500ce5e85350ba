import type { DomainDeps } from '../domain/deps.js';
import type { AuditActor, Snapshot } from '../domain/types.js';

/**
 * After a manual snapshot became active: tells the customer when it used the last free place, so
 * they learn before the next create (or scheduled run) is refused. Scheduled snapshots rotate their
 * own, so reaching the limit through them is routine and not mailed; nor is the owner's own snapshot
 * (`cause`; see mail-policy.ts), whose page showed the quota used up.
 */
export async function notifyIfLimitReached(deps: DomainDeps, snapshot: Snapshot, cause?: AuditActor): Promise<void> {
  if (snapshot.origin !== 'manual') return;
  const state = await deps.repos.services.get(snapshot.serviceId);
  if (!state?.planId) return;
  const { maxSnapshots } = await deps.limits.forService(snapshot.serviceId, state.planId);
  const used = await deps.repos.snapshots.countOccupying(snapshot.serviceId);
  // Creates still running hold their places too: only the last of a burst to finish tells.
  const stillCreating = (await deps.repos.snapshots.listForService(snapshot.serviceId)).some((s) => s.status === 'creating');
  // Exactly at the limit: creates beyond it are refused, so this happens once per time it fills up.
  if (maxSnapshots > 0 && used === maxSnapshots && !stillCreating) {
    await deps.notifier.notify({ type: 'limit_reached', serviceId: snapshot.serviceId, params: { used, limit: maxSnapshots }, cause });
  }
}
