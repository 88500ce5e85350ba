import type { Knex } from 'knex';

// One row per hypervisor node: operation claims lock it, so "at most N operations per node" holds
// across every worker process even when nothing runs on the node yet (no other row to lock then).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('snapshot_nodes', (t) => {
    if (knex.client.config.client === 'mysql2' || knex.client.config.client === 'mysql') {
      t.charset('utf8mb4');
      t.engine('InnoDB');
    }
    t.string('node_key', 200).primary(); // driver + '/' + node
  });
  await knex.schema.alterTable('snapshot_operations', (t) => {
    t.index(['driver', 'node', 'status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_operations', (t) => {
    t.dropIndex(['driver', 'node', 'status']);
  });
  await knex.schema.dropTableIfExists('snapshot_nodes');
}
