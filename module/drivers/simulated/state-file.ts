import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A JSON document persisted atomically (write to a temporary file, then rename), so a simulated
 * hypervisor keeps its snapshots and running tasks across panel restarts. `null` path = memory only.
 */
export class JsonStateFile<T> {
  private cache: T | null = null;
  constructor(private readonly path: string | null, private readonly initial: () => T) {}

  read(): T {
    if (this.cache) return this.cache;
    if (this.path) {
      try {
        this.cache = JSON.parse(readFileSync(this.path, 'utf8')) as T;
        return this.cache;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.cache = this.initial();
    return this.cache;
  }

  /** Applies a change and persists it before returning. */
  update<R>(change: (state: T) => R): R {
    const state = this.read();
    const result = change(state);
    if (this.path) {
      mkdirSync(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(state));
      renameSync(tmp, this.path);
    }
    return result;
  }

  /** Forgets the in-memory copy, so the next read sees what another process wrote. */
  reload(): void {
    // Memory-only state has no other copy to re-read.
    if (this.path) this.cache = null;
  }
}
