import type { Knex } from 'knex';

// The panel's owner of each service, copied whenever the module loads the service, so the admin
// browser can filter snapshots and operations by customer without asking the panel for every row.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_services', (t) => {
    t.string('owner_id', 64).nullable();
    t.index(['owner_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_services', (t) => {
    t.dropIndex(['owner_id']);
    t.dropColumn('owner_id');
  });
}
