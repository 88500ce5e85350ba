// The pages bench/scale.ts times, as a customer, a reseller or an admin would open them.
import { BIG, customerOf, resellerOf, SCALE, serviceId, TYPICAL } from './scale-seed.js';

export interface PageCase { key: string; path: string; actor: string }

/** The measured pages; `deep` is the audit log far back in history. */
export function pageCases(): PageCase[] {
  const typicalOwner = customerOf(1);
  return [
    { key: 'client_typical', path: `/services/${TYPICAL}/snapshots`, actor: typicalOwner },
    { key: 'client_big', path: `/services/${BIG}/snapshots`, actor: customerOf(0) },
    { key: 'api_big', path: `/api/v1/services/${BIG}/snapshots`, actor: customerOf(0) },
    { key: 'activity', path: `/services/${BIG}/snapshots/activity`, actor: customerOf(0) },
    { key: 'all_snapshots_reseller', path: '/snapshots', actor: resellerOf(0)! },
    { key: 'admin_overview', path: '/admin/snapshots', actor: 'admin' },
    { key: 'admin_items', path: '/admin/snapshots/items', actor: 'admin' },
    { key: 'admin_items_status', path: '/admin/snapshots/items?status=error', actor: 'admin' },
    { key: 'admin_items_customer', path: '/admin/snapshots/items?customerId=cust-7', actor: 'admin' },
    { key: 'admin_operations', path: '/admin/snapshots/operations', actor: 'admin' },
    { key: 'admin_operations_status', path: '/admin/snapshots/operations?status=failed', actor: 'admin' },
    { key: 'audit', path: '/admin/snapshots/audit', actor: 'admin' },
    { key: 'audit_deep', path: deepAuditPath(), actor: 'admin' },
    { key: 'health', path: '/admin/snapshots/health', actor: 'admin' },
  ];
}

/**
 * The log's oldest events: older than the 26th, the last page of 25. (Before keyset paging this was
 * `?page=8000`, the last page by OFFSET.)
 */
function deepAuditPath(): string {
  return '/admin/snapshots/audit?before=26';
}

/** The i-th request of the mixed run: the customer pages of many services, and the admin pages. */
export function mixedCase(i: number, cases: PageCase[]): PageCase {
  if (i % 4 !== 0) {
    const s = (i * 7919) % SCALE.services;
    const kinds = ['', '/activity', '/schedules'];
    return { key: 'mixed', path: `/services/${serviceId(s)}/snapshots${kinds[i % 3]}`, actor: customerOf(s) };
  }
  return cases[(i / 4) % cases.length]!;
}
