/**
 * Work that arrives together runs together (group commit): items pushed in one event-loop turn, or
 * while a batch is running, form the next batch, of at most `maxBatch`. One batch runs at a time.
 * `run` settles every item of its batch itself and never throws.
 */
export class BatchQueue<T> {
  private readonly waiting: T[] = [];
  private busy = false;

  constructor(private readonly run: (batch: T[]) => Promise<void>, private readonly maxBatch = 50) {}

  push(item: T): void {
    this.waiting.push(item);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        // Items pushed later in this turn (the callers a batch just answered, asking again) join it.
        await new Promise((resolve) => setImmediate(resolve));
        if (!this.waiting.length) break;
        await this.run(this.waiting.splice(0, this.maxBatch));
      }
    } finally {
      this.busy = false;
    }
  }
}
