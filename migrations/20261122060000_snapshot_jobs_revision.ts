import type { Knex } from 'knex';

/**
 * A random revision written with every change to a job's definition (saveJob paths), so a worker can
 * claim a job from a list of candidates it read earlier and know, in the claiming UPDATE itself, that
 * the row is still the one it read: no read-back after the claim, no fresh candidate query per claim.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_jobs', (t) => {
    t.string('revision', 16).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_jobs', (t) => {
    t.dropColumn('revision');
  });
}
