import type { Knex } from 'knex';

const T = 'snapshot_user_locales';

/** The language each panel user last used the module in (what their mail is written in). */
export class UserLocalesRepo {
  constructor(private readonly db: Knex) {}

  async get(userId: string): Promise<string | null> {
    const row = await this.db(T).where({ user_id: userId }).first('locale');
    return row ? String(row.locale) : null;
  }

  /** Inserts or replaces; concurrent writers for one user end with one of their values. */
  async set(userId: string, locale: string): Promise<void> {
    await this.db(T).insert({ user_id: userId, locale, updated_at: Date.now() }).onConflict('user_id').merge(['locale', 'updated_at']);
  }
}
