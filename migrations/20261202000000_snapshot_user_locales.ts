import type { Knex } from 'knex';

// The language each panel user last used the module in, so mail sent by any process (a scheduler
// worker that never served the user a page, or one started since) is in that language.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('snapshot_user_locales', (t) => {
    if (knex.client.config.client === 'mysql2' || knex.client.config.client === 'mysql') {
      t.charset('utf8mb4');
      t.engine('InnoDB');
    }
    t.string('user_id', 64).primary();
    t.string('locale', 16).notNullable();
    t.bigInteger('updated_at').notNullable(); // ms since the epoch
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('snapshot_user_locales');
}
