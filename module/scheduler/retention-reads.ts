import { TurnBatcher, type Waiting } from '../domain/turn-batcher.js';
import type { RetentionSnapshot } from '../domain/retention.js';
import type { SnapshotsRepo } from '../db/snapshots-repo.js';

/** A schedule's keep count and its own snapshots; null when the schedule is gone. */
export type RetentionInput = { keep: number; snapshots: RetentionSnapshot[] } | null;

interface Pending extends Waiting<RetentionInput> {
  scheduleId: number;
}

/**
 * What retention reads after a scheduled snapshot became active, for the schedules whose snapshots
 * ended in the same event-loop turn (outcomes written together resolve together) in one statement:
 * a rush's outcomes are batched, and each then read its own schedule's snapshots alone.
 */
export class RetentionReads {
  private readonly batcher: TurnBatcher<Pending>;

  constructor(snapshots: Pick<SnapshotsRepo, 'listForRetention'>, maxBatch = 100) {
    this.batcher = new TurnBatcher(async (batch) => {
      const read = await snapshots.listForRetention([...new Set(batch.map((p) => p.scheduleId))]);
      for (const p of batch) p.resolve(read.get(p.scheduleId) ?? null);
    }, maxBatch);
  }

  read(scheduleId: number): Promise<RetentionInput> {
    return new Promise((resolve, reject) => this.batcher.add({ scheduleId, resolve, reject }));
  }
}
