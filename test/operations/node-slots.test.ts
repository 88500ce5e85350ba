import { describe, expect, it } from 'vitest';
import { LocalNodeSlots } from '../../module/operations/node-slots.js';

/** Which waiting service job a slot freed in this process goes to. */
describe('LocalNodeSlots', () => {
  it('gives a freed slot to the waiting service with the most work left, the longest waiting among equals', () => {
    const slots = new LocalNodeSlots<string>(1);
    const park = (service: string, backlog: number) => {
      slots.seen(service, 'sim/n1', backlog);
      slots.wait('sim/n1', service, `job-${service}`);
    };
    park('short', 1);
    park('long', 7);
    park('also-long', 7);
    park('middle', 3);
    // One holding a slot with 4 or fewer left gives it up after its operation; with 5, not yet.
    expect([slots.shouldYield('sim/n1', 4), slots.shouldYield('sim/n1', 5)]).toEqual([true, false]);
    expect([slots.next('sim/n1'), slots.next('sim/n1'), slots.next('sim/n1'), slots.next('sim/n1'), slots.next('sim/n1')])
      .toEqual(['job-long', 'job-also-long', 'job-middle', 'job-short', undefined]);
    expect(slots.shouldYield('sim/n1', 0)).toBe(false);
  });

  it('counts what was queued for a waiting service since its claim counted, and what ran', () => {
    const slots = new LocalNodeSlots<string>(1);
    for (const [s, n] of [['a', 3], ['b', 2]] as const) {
      slots.seen(s, 'sim/n1', n);
      slots.wait('sim/n1', s, `job-${s}`);
    }
    slots.queued('b');
    slots.queued('b');
    slots.ran('a');
    expect([slots.backlogOf('a'), slots.backlogOf('b')]).toEqual([2, 4]);
    expect(slots.next('sim/n1')).toBe('job-b');
    // Never counted: neither woken nor claimed here, it counts as one.
    slots.queued('c');
    expect(slots.backlogOf('c')).toBe(1);
  });

  it('a service that waited past its patience goes first, however little work it has, and is yielded to', () => {
    let now = 0;
    const slots = new LocalNodeSlots<string>(1, 10_000, () => now);
    slots.seen('restore', 'sim/n1', 1);
    slots.wait('sim/n1', 'restore', 'job-restore');
    now = 4_000;
    slots.seen('rush', 'sim/n1', 9);
    slots.wait('sim/n1', 'rush', 'job-rush');
    // Its job wakes on its own after a lease and waits again: it keeps the time it started waiting.
    slots.unwait('restore');
    now = 9_000;
    slots.wait('sim/n1', 'restore', 'job-restore');
    expect(slots.shouldYield('sim/n1', 9)).toBe(false);
    now = 10_000;
    expect(slots.shouldYield('sim/n1', 9)).toBe(true);
    expect(slots.next('sim/n1')).toBe('job-restore');
    expect(slots.next('sim/n1')).toBe('job-rush');
  });

  it('a job parked again waits once, keeping its place; one that runs waits no more', () => {
    const slots = new LocalNodeSlots<string>(1);
    for (const s of ['a', 'b']) slots.seen(s, 'sim/n1', 2);
    slots.wait('sim/n1', 'a', 'job-a');
    slots.wait('sim/n1', 'b', 'job-b');
    slots.wait('sim/n1', 'a', 'job-a');
    expect(slots.next('sim/n1')).toBe('job-a');
    expect(slots.next('sim/n1')).toBe('job-b');
    expect(slots.next('sim/n1')).toBeUndefined();
    slots.wait('sim/n1', 'a', 'job-a');
    slots.unwait('a');
    expect(slots.next('sim/n1')).toBeUndefined();
  });
});
