import { describe, expect, it } from 'vitest';
import { DeferredStarts } from '../../module/scheduler/knex-backend/deferred-start.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DeferredStarts (Agenda\'s write at the start of a run)', () => {
  it('recognises a run start: locked, just run, not finished since', () => {
    const now = new Date();
    expect(DeferredStarts.isRunStart({ name: 'j', lockedAt: now, lastRunAt: now, lastFinishedAt: new Date(now.getTime() - 60_000) } as never)).toBe(true);
    expect(DeferredStarts.isRunStart({ name: 'j', lockedAt: undefined, lastRunAt: now } as never)).toBe(false);
    expect(DeferredStarts.isRunStart({ name: 'j', lockedAt: now, lastRunAt: now, lastFinishedAt: now } as never)).toBe(false);
    expect(DeferredStarts.isRunStart({ name: 'j', lockedAt: now, lastRunAt: new Date(now.getTime() - 5000) } as never)).toBe(false);
  });

  it('drops a start write that the end write replaces before its delay', async () => {
    const starts = new DeferredStarts(50);
    const written: string[] = [];
    expect(starts.defer('a', async () => { written.push('start'); })).toBe(true);
    await starts.supersede('a');
    written.push('end');
    await sleep(80);
    expect(written).toEqual(['end']);
  });

  it('sends a start write after its delay, and a later write waits for it rather than overtaking it', async () => {
    const starts = new DeferredStarts(20);
    const written: string[] = [];
    starts.defer('a', async () => { await sleep(40); written.push('start'); });
    await sleep(30); // sent, still in flight
    await starts.supersede('a');
    written.push('end');
    expect(written).toEqual(['start', 'end']);
  });

  it('a stream of early writes (heartbeats) is written at the first one\'s deadline, as the last of them', async () => {
    const starts = new DeferredStarts(60);
    const written: number[] = [];
    const t0 = Date.now();
    let at = 0;
    for (let i = 1; i <= 3; i++) {
      starts.defer('a', async () => { written.push(i); at = Date.now() - t0; });
      await sleep(5);
    }
    await sleep(100);
    expect(written).toEqual([3]);
    // Not pushed back by the later ones: a heartbeat held back is late by at most the delay.
    expect(at).toBeLessThan(100);
  });

  it('writes nothing late when the delay is 0, and flush sends what waits', async () => {
    expect(new DeferredStarts(0).defer('a', async () => undefined)).toBe(false);
    const starts = new DeferredStarts(10_000);
    const written: string[] = [];
    starts.defer('a', async () => { written.push('a'); });
    starts.defer('b', async () => { written.push('b'); });
    await starts.flush();
    expect(written.sort()).toEqual(['a', 'b']);
  });
});
