import type { Knex } from 'knex';

/**
 * A service's activity log is read newest first in pages (`service_id = ? AND id < ? ORDER BY id DESC`):
 * this index answers each page without sorting the service's whole history.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_audit_events', (t) => {
    t.index(['service_id', 'id'], 'snapshot_audit_events_service_id_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_audit_events', (t) => {
    t.dropIndex(['service_id', 'id'], 'snapshot_audit_events_service_id_id');
  });
}
