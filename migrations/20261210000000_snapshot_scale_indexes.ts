import type { Knex } from 'knex';

/**
 * Indexes for a hosting company's volume (bench/scale.ts: 100,000 snapshots, 50,000 operations):
 *
 * - snapshots by (status, id) and operations by (status, id): the admin overview's problem counts and
 *   the browsers filtered by status read just those rows, newest first, with no sort and no scan of
 *   every row for a handful of errors;
 * - snapshots by (service_id, created_at, id): a service's list and the All snapshots page come in
 *   their display order (newest first) straight off the index, a page at a time;
 * - operations by (service_id, id): the operations browser filtered by service or customer pages
 *   through one service's history without sorting it;
 * - audit events by (action, result, actor_type, occurred_at, service_id): the health page's run
 *   summaries count a week of scheduled runs from the index alone, and find the few that went wrong
 *   without reading the ones that did not;
 * - jobs by failed_at and by repeat_interval: the health page counts ten thousand schedule jobs from
 *   the claim index and reads only the exceptions (failed, one-off); both columns change only when a
 *   job fails or is redefined, so a run's bookkeeping never touches these indexes.
 */
const INDEXES: [table: string, columns: string[], name: string][] = [
  ['snapshot_snapshots', ['status', 'id'], 'snapshot_snapshots_status_id'],
  ['snapshot_snapshots', ['service_id', 'created_at', 'id'], 'snapshot_snapshots_service_created'],
  ['snapshot_operations', ['status', 'id'], 'snapshot_operations_status_id'],
  ['snapshot_operations', ['service_id', 'id'], 'snapshot_operations_service_id_id'],
  ['snapshot_audit_events', ['action', 'result', 'actor_type', 'occurred_at', 'service_id'], 'snapshot_audit_events_action_result'],
  ['snapshot_jobs', ['failed_at'], 'snapshot_jobs_failed_at'],
  ['snapshot_jobs', ['repeat_interval'], 'snapshot_jobs_repeat_interval'],
];

export async function up(knex: Knex): Promise<void> {
  for (const [table, columns, name] of INDEXES) {
    await knex.schema.alterTable(table, (t) => {
      t.index(columns, name);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [table, columns, name] of INDEXES) {
    await knex.schema.alterTable(table, (t) => {
      t.dropIndex(columns, name);
    });
  }
}
