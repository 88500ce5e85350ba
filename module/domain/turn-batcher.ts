/** A request waiting in a TurnBatcher, answered by its batch's `run`. */
export interface Waiting<Res> {
  resolve(res: Res): void;
  reject(err: unknown): void;
}

/**
 * Requests made in the same event-loop turn go to the database together: the first waits one turn
 * for the others, and while a batch is in the database, the requests that arrive wait and form the
 * next (one batch at a time, so a busy process makes bigger batches rather than more of them).
 * `run` answers each request of its batch; if it throws, those it left unanswered fail with its error.
 */
export class TurnBatcher<Item extends Waiting<never>> {
  private readonly waiting: Item[] = [];
  private busy = false;

  constructor(private readonly run: (batch: Item[]) => Promise<void>, private readonly maxBatch = 50) {}

  add(item: Item): void {
    this.waiting.push(item);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await new Promise((resolve) => setImmediate(resolve));
      while (this.waiting.length) {
        const batch = this.waiting.splice(0, this.maxBatch);
        // A promise already settled ignores the rejection.
        await this.run(batch).catch((err: unknown) => { for (const item of batch) item.reject(err); });
      }
    } finally {
      this.busy = false;
    }
  }
}

/**
 * Splits a batch so that no key occurs twice in `first`: an item sharing a key with an earlier one
 * goes to `again`, for a later statement (a batched write must meet each row once).
 */
export function distinctByKeys<T>(items: T[], keysOf: (item: T) => string[]): { first: T[]; again: T[] } {
  const seen = new Set<string>();
  const first: T[] = [];
  const again: T[] = [];
  for (const item of items) {
    const keys = keysOf(item);
    if (keys.some((k) => seen.has(k))) again.push(item);
    else {
      keys.forEach((k) => seen.add(k));
      first.push(item);
    }
  }
  return { first, again };
}
