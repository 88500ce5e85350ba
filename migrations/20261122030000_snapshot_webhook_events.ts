import type { Knex } from 'knex';

const isMysql = (knex: Knex) => knex.client.config.client === 'mysql2' || knex.client.config.client === 'mysql';

// One row per billing webhook delivery id: the first delivery claims it (the primary key makes two
// concurrent claims impossible), and its answer is kept so a repeat gets the same answer, unapplied.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('snapshot_webhook_events', (t) => {
    if (isMysql(knex)) {
      t.charset('utf8mb4');
      t.collate('utf8mb4_unicode_ci');
      t.engine('InnoDB');
    }
    // Binary collation on MySQL: event ids are case-sensitive ('Ab' and 'ab' are two events).
    const id = t.string('event_id', 64).primary();
    if (isMysql(knex)) id.collate('utf8mb4_bin');
    t.string('event_type', 40).notNullable();
    t.string('service_id', 64).notNullable();
    t.string('request_hash', 64).notNullable(); // sha256 hex of the canonical JSON body
    t.string('state', 16).notNullable(); // processing | done
    t.integer('response_status').nullable();
    t.text('response_body').nullable(); // JSON, replayed verbatim
    t.datetime('received_at', { precision: 3 }).notNullable();
    t.datetime('completed_at', { precision: 3 }).nullable();
    t.index(['received_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('snapshot_webhook_events');
}
