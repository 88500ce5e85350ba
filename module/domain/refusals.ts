/**
 * The refusals each customer action on a snapshot can answer with, by HTTP status: what the domain
 * throws (validation aside, 422), written down once. The API documents these lists; a test provokes
 * every code in them, and the race suites check that no other code is ever thrown.
 */
const SERVICE_STATE = ['service_suspended', 'service_terminated'] as const;
const NOT_FOUND = { 404: ['snapshot_not_found'] } as const;

export const SNAPSHOT_REFUSALS = {
  // duplicate_record: two hypervisor names generated alike (the database's unique key says so).
  create: { 409: ['snapshot_limit_reached', 'duplicate_record', ...SERVICE_STATE] },
  edit: { ...NOT_FOUND, 409: ['snapshot_not_editable', ...SERVICE_STATE] },
  pin: { ...NOT_FOUND, 409: ['snapshot_not_pinnable', ...SERVICE_STATE] },
  // snapshot_changed: an operation or reconcile moved the snapshot between the read and the write.
  delete: { ...NOT_FOUND, 409: ['illegal_transition', 'snapshot_changed', ...SERVICE_STATE] },
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

/** Refusal codes that only a race with the hypervisor's side can produce (no request alone can). */
export const RACE_ONLY_REFUSALS = ['snapshot_changed', 'duplicate_record'] as const;
