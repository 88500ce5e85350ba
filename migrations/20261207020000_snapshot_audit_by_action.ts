import type { Knex } from 'knex';

/**
 * The scheduler health page counts one action's events over a time window (`action = 'schedule.run'
 * AND occurred_at >= ?`): with this index it reads just those rows, not every event of the window.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_audit_events', (t) => {
    t.index(['action', 'occurred_at'], 'snapshot_audit_events_action_occurred_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_audit_events', (t) => {
    t.dropIndex(['action', 'occurred_at'], 'snapshot_audit_events_action_occurred_at');
  });
}
