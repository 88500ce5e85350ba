// bench/scale.ts's memory readings: RSS and where it is, from process.memoryUsage() and V8's heap
// spaces, all in MB. The young generation (new space) is garbage-only memory V8 grows under
// allocation pressure and keeps; old space is what survived collections; `rest` is RSS outside the
// V8 heap and the external buffers (the node binary, ICU, malloc arenas, thread stacks). On Linux,
// `fileBacked` is the part of RSS mapped from files (the node binary's code and its ICU data), which
// every node process on the host shares through the page cache.
import { existsSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

export interface MemoryReading {
  rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number;
  newSpace: number; oldSpace: number; code: number; largeObjects: number; rest: number; fileBacked: number;
}

const mb = (n: number) => +(n / 1024 ** 2).toFixed(1);
const ROLLUP = '/proc/self/smaps_rollup';

/** RSS minus its anonymous pages, in bytes; 0 where /proc does not say. */
function fileBackedBytes(): number {
  if (!existsSync(ROLLUP)) return 0;
  const text = readFileSync(ROLLUP, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return (kb('Rss') - kb('Anonymous')) * 1024;
}

/** The process's memory now. */
export function memoryReading(): MemoryReading {
  const u = process.memoryUsage();
  const spaces = new Map(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
  const size = (...names: string[]) => names.reduce((n, name) => n + (spaces.get(name) ?? 0), 0);
  return {
    rss: mb(u.rss), heapTotal: mb(u.heapTotal), heapUsed: mb(u.heapUsed), external: mb(u.external), arrayBuffers: mb(u.arrayBuffers),
    newSpace: mb(size('new_space', 'new_large_object_space')),
    oldSpace: mb(size('old_space')),
    code: mb(size('code_space', 'code_large_object_space')),
    largeObjects: mb(size('large_object_space')),
    rest: mb(u.rss - u.heapTotal - u.external),
    fileBacked: mb(fileBackedBytes()),
  };
}

/**
 * A reading after `quietMs` of quiet (timers and sockets settle); with `collect`, after two full
 * collections (needs `--expose-gc`), which leaves what is retained and the room V8 keeps anyway.
 */
export async function settledReading(collect = false, quietMs = 1000): Promise<MemoryReading> {
  await new Promise((r) => setTimeout(r, quietMs));
  if (collect) {
    if (!globalThis.gc) throw new Error('run with --expose-gc');
    globalThis.gc();
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 200));
  }
  return memoryReading();
}
