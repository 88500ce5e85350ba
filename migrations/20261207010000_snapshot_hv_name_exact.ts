import type { Knex } from 'knex';
import { isMysql } from '../module/db/values.js';

// A hypervisor's snapshot names are case-sensitive (Proxmox keeps `psnap-A` and `psnap-a` apart), so
// the record's name must be too: under the table's case-insensitive collation two snapshots whose
// names differ only in case collided on the (service, name) unique key, and reconcile stopped there.
// SQLite already compares text exactly.
export async function up(knex: Knex): Promise<void> {
  if (!isMysql(knex)) return;
  await knex.schema.alterTable('snapshot_snapshots', (t) => {
    t.string('hv_name', 40).notNullable().collate('utf8mb4_bin').alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  if (!isMysql(knex)) return;
  await knex.schema.alterTable('snapshot_snapshots', (t) => {
    t.string('hv_name', 40).notNullable().collate('utf8mb4_unicode_ci').alter();
  });
}
