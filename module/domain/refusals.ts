/**
 * The refusals each customer action on a snapshot can answer with, by HTTP status: what the domain
 * throws (validation aside, 422), written down once. The API documents these lists; a test provokes
 * every code in them, and the race suites check that no other code is ever thrown.
 */
// clone_in_progress: a new server whose disk is still being made from a snapshot.
const SERVICE_STATE = ['service_suspended', 'service_terminated', 'clone_in_progress'] as const;
const NOT_FOUND = { 404: ['snapshot_not_found'] } as const;

export const SNAPSHOT_REFUSALS = {
  // duplicate_record: two hypervisor names generated alike (the database's unique key says so).
  create: { 409: ['snapshot_limit_reached', 'duplicate_record', ...SERVICE_STATE] },
  edit: { ...NOT_FOUND, 409: ['snapshot_not_editable', ...SERVICE_STATE] },
  pin: { ...NOT_FOUND, 409: ['snapshot_not_pinnable', ...SERVICE_STATE] },
  // snapshot_changed: an operation or reconcile moved the snapshot between the read and the write.
  // snapshot_cloning: a new server is being made from it.
  delete: { ...NOT_FOUND, 409: ['illegal_transition', 'snapshot_changed', 'snapshot_cloning', ...SERVICE_STATE] },
  restore: {
    ...NOT_FOUND,
    409: ['restore_needs_active', 'restore_in_progress', 'restore_only_latest', 'snapshot_changed', 'snapshot_limit_reached', ...SERVICE_STATE],
  },
} as const satisfies Record<string, Record<number, readonly string[]>>;

const SCHEDULE_PLAN = ['schedules_not_in_plan', 'schedule_limit_reached', ...SERVICE_STATE] as const;

/** The same for a service's schedules (validation aside, 422). */
export const SCHEDULE_REFUSALS = {
  create: { 409: SCHEDULE_PLAN },
  update: { 404: ['schedule_not_found'], 409: SCHEDULE_PLAN },
  delete: { 404: ['schedule_not_found'], 409: SERVICE_STATE },
} as const satisfies Record<string, Record<number, readonly string[]>>;

/**
 * "New server from this snapshot" (begin) and the panel's provisioning (hook and webhook event). A
 * test provokes each.
 */
export const CLONE_REFUSALS = {
  begin: {
    404: ['snapshot_not_found'],
    409: ['clone_not_in_plan', 'clone_unsupported', 'clone_needs_active', 'clone_source_missing', 'clone_refused_by_panel', ...SERVICE_STATE],
  },
  provision: {
    400: ['handover_invalid'], 403: ['clone_wrong_owner'], 404: ['service_not_found'], 410: ['handover_expired'],
    409: ['handover_used', 'clone_source_gone', 'clone_unsupported', 'clone_other_driver', 'clone_disk_too_small', 'clone_target_not_empty'],
  },
} as const satisfies Record<string, Record<number, readonly string[]>>;

/** Refusal codes that only a race with the hypervisor's side can produce (no request alone can). */
export const RACE_ONLY_REFUSALS = ['snapshot_changed', 'duplicate_record'] as const;
