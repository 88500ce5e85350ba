import type { Knex } from 'knex';
import { ConflictError } from '../domain/errors.js';
import { translateDbError } from './db-errors.js';
import { parseJson, toDate } from './values.js';

const T = 'snapshot_webhook_events';
/** Rows one prune statement deletes at most. */
const PRUNE_BATCH = 500;

export interface WebhookEventKey {
  eventId: string;
  eventType: string;
  serviceId: string;
  /** sha256 hex of the delivery's canonical body: the same id with another body is a conflict. */
  requestHash: string;
}

/** What claiming a delivery id found. */
export type WebhookClaim =
  | { kind: 'claimed' }
  | { kind: 'answered'; requestHash: string; status: number; body: unknown }
  | { kind: 'in_progress'; requestHash: string };

const isDuplicate = (err: unknown) => {
  const e = translateDbError(err);
  return e instanceof ConflictError && e.code === 'duplicate_record';
};

/** Delivery ids of the billing webhook and their first answers, so a repeat is answered, not applied. */
export class WebhookEventsRepo {
  constructor(private readonly db: Knex) {}

  /**
   * Claims `eventId` for this delivery: inserting the row is the claim (the primary key lets one
   * insert win). A claim left `processing` since before `staleBefore` (its process died) is taken
   * over; the hooks are idempotent, so applying again is safe.
   */
  async claim(e: WebhookEventKey, staleBefore: Date): Promise<WebhookClaim> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.db(T).insert({
          event_id: e.eventId, event_type: e.eventType, service_id: e.serviceId, request_hash: e.requestHash,
          state: 'processing', received_at: new Date(),
        });
        return { kind: 'claimed' };
      } catch (err) {
        if (!isDuplicate(err)) throw err;
      }
      const row = await this.db(T).where({ event_id: e.eventId }).first();
      if (!row) continue; // released between our insert and read: try again
      const requestHash = String(row.request_hash);
      if (row.state === 'done') {
        return { kind: 'answered', requestHash, status: Number(row.response_status), body: parseJson(row.response_body, null) };
      }
      if (requestHash === e.requestHash && toDate(row.received_at) < staleBefore) {
        const taken = await this.db(T).where({ event_id: e.eventId, state: 'processing', received_at: row.received_at })
          .update({ received_at: new Date() });
        if (taken === 1) return { kind: 'claimed' };
        continue;
      }
      return { kind: 'in_progress', requestHash };
    }
    return { kind: 'in_progress', requestHash: e.requestHash };
  }

  /** Stores the answer given to the claimed delivery; repeats get exactly this. */
  async complete(eventId: string, status: number, body: unknown): Promise<void> {
    await this.db(T).where({ event_id: eventId, state: 'processing' })
      .update({ state: 'done', response_status: status, response_body: JSON.stringify(body), completed_at: new Date() });
  }

  /** Gives up a claim without an answer (a transient failure), so the sender's retry is applied. */
  async release(eventId: string): Promise<void> {
    await this.db(T).where({ event_id: eventId, state: 'processing' }).delete();
  }

  /**
   * Forgets deliveries that arrived before `before`, answered or not: a claim that old is one whose
   * process died, which the next delivery would take over anyway. A repeat after that is applied
   * again, which the idempotent hooks make harmless. Small batches read off the received_at index,
   * so no statement scans the table or holds many row locks; each delete re-checks the time, since
   * a take-over in between makes a row new again.
   */
  async prune(before: Date, batch = PRUNE_BATCH): Promise<number> {
    let total = 0;
    for (;;) {
      const ids = (await this.db(T).where('received_at', '<', before).orderBy('received_at').limit(batch).select('event_id'))
        .map((r: { event_id: string }) => r.event_id);
      if (!ids.length) return total;
      total += await this.db(T).whereIn('event_id', ids).where('received_at', '<', before).delete();
      if (ids.length < batch) return total;
    }
  }
}
