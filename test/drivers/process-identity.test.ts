import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { identify, isAlive, killIfAlive } from '../../module/drivers/qemu/process-identity.js';

/** How a restarted panel tells a clone's copier that still runs from one that is gone (or a reused pid). */
describe('process identity', () => {
  it('knows a running process, and not one that exited or a pid that now names another process', () => {
    const me = identify();
    expect(isAlive(me)).toBe(true);
    expect(isAlive({ ...me, pid: spawnSync('true').pid })).toBe(false);
    if (me.start) {
      // Same pid, another start time: what a panel restarted under its old pid looks like.
      expect(isAlive({ ...me, start: `${me.start}0` })).toBe(false);
      expect(isAlive({ ...me, boot: 'another-boot' })).toBe(false);
    }
  });

  it('kills the process it names, and leaves a reused pid alone', async () => {
    const child = spawn('sleep', ['30']);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const who = identify(child.pid!);
    if (who.start) {
      killIfAlive({ ...who, start: `${who.start}0` });
      expect(isAlive(who)).toBe(true);
    }
    killIfAlive(who);
    await exited;
    expect(isAlive(who)).toBe(false);
  });
});
