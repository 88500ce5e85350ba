import { describe, expect, it } from 'vitest';
import type { DriverError, HypervisorTarget } from '../../module/drivers/contract.js';
import { ProxmoxHttpError } from '../../module/drivers/proxmox/http-client.js';
import { waitForTask } from './conformance.js';
import { code, CT_TARGET, freshFakePerTest, outcome, rawClient, rejection, snapshotOk, TARGET } from './proxmox-fake/fixture.js';

const fields = (e: DriverError) => [e.code, e.detail];

describe('proxmox driver: what an unfinished clone leaves, and discardClone', () => {
  const env = freshFakePerTest();
  /** The source (VM 100, or container 200 added here) with snapshot psnap-a, and a destination id 120. */
  const prepare = async (type: 'qemu' | 'lxc') => {
    const source = type === 'qemu' ? TARGET : CT_TARGET;
    const guest = type === 'qemu' ? env.fx.vm : env.fx.fake.cluster.addContainer(CT_TARGET.node, CT_TARGET.vmId);
    await snapshotOk(env.d, source, 'psnap-a');
    return { source, guest, dest: { ...source, vmId: '120' } as HypervisorTarget };
  };

  it.each([
    ['qemu', 'qmclone', "clone failed: command '/usr/bin/qemu-img convert -p -n -f raw -O raw /dev/pve/vm-100-disk-0 zeroinit:/dev/pve/vm-120-disk-0' failed: exit code 1"],
    ['lxc', 'vzclone', 'clone failed: rsync: [receiver] write failed on "/var/lib/lxc/120/.copy-volume-1/var/log/syslog": No space left on device (28)'],
  ] as const)('a %s clone that fails half way is cleaned up by PVE: nothing left at the destination, the source free', async (type, task, exitstatus) => {
    const { source, guest, dest } = await prepare(type);
    env.fx.fake.cluster.tasks.inject({ type: task, exitstatus });
    const o = await outcome(env.d, source, () => env.d.clone(source, 'psnap-a', dest));
    expect(o.state === 'failed' && fields(o.error)).toEqual(['rejected', exitstatus]);
    expect(await env.d.cloneState(dest)).toBe('absent');
    expect([guest.lock, guest.flocks.size]).toEqual([null, 0]);
    await env.d.discardClone(dest); // nothing to remove
    await snapshotOk(env.d, source, 'psnap-b');
  });

  it('a killed VM clone leaves the new VM locked: partial; discardClone names what root must run; then the clone is made again', async () => {
    const c = env.fx.fake.cluster;
    const { dest } = await prepare('qemu');
    c.tasks.inject({ type: 'qmclone', exitstatus: 'unexpected status', leaveBehind: true });
    expect(code(await outcome(env.d, TARGET, () => env.d.clone(TARGET, 'psnap-a', dest)))).toBe('rejected');
    expect(await env.d.cloneState(dest)).toBe('partial');
    expect(c.guests.get('120')).toMatchObject({ node: 'pve1', lock: 'clone' });
    expect(env.fx.vm.flocks.size).toBe(0); // the flock died with the worker

    const err = await rejection(env.d.discardClone(dest));
    expect([err.code, err.transient]).toEqual(['stale_lock', false]);
    expect(err.detail).toBe('VM 120 on node pve1 is locked (clone) and no clone task is running on pve1: an interrupted clone left it half made. '
      + "Proxmox lets only root on the node remove a locked guest; run 'qm destroy 120 --purge 1 --destroy-unreferenced-disks 1 --skiplock 1' on pve1 "
      + '(not just an unlock: an unlocked guest counts as a finished clone).');
    expect(env.fx.fake.requests.find((r) => r.path === '/nodes/pve1/tasks')!.params).toEqual({ source: 'active', typefilter: 'qmclone' });
    expect(env.fx.calls().filter((x) => x.startsWith('DELETE'))).toEqual([]);
    expect(c.guests.get('120')?.lock).toBe('clone');
    expect((await rejection(env.d.clone(TARGET, 'psnap-a', dest))).code).toBe('already_exists');

    c.guests.delete('120'); // root ran the command on pve1
    await env.d.discardClone(dest);
    expect(await env.d.cloneState(dest)).toBe('absent');
    expect(await outcome(env.d, TARGET, () => env.d.clone(TARGET, 'psnap-a', dest))).toEqual({ state: 'succeeded' });
    expect(await env.d.cloneState(dest)).toBe('complete');
  });

  it("a killed container clone leaves the new CT locked 'create' and the source 'disk': both reported with what to run", async () => {
    const { source, guest, dest } = await prepare('lxc');
    env.fx.fake.cluster.tasks.inject({ type: 'vzclone', exitstatus: 'unexpected status', leaveBehind: true });
    expect(code(await outcome(env.d, source, () => env.d.clone(source, 'psnap-a', dest)))).toBe('rejected');
    expect([await env.d.cloneState(dest), guest.lock]).toEqual(['partial', 'disk']);
    const err = await rejection(env.d.discardClone(dest));
    expect(fields(err)).toEqual(['stale_lock', expect.stringContaining("run 'pct unlock 120 && pct destroy 120 --purge 1 --destroy-unreferenced-disks 1' on pve1")]);
    const blocked = await outcome(env.d, source, () => env.d.create(source, { name: 'psnap-b', description: null, includeMemory: false }));
    expect(blocked.state === 'failed' && fields(blocked.error)).toEqual(['stale_lock', 'CT 200 on node pve1 is locked (disk) and no task is running for it: '
      + "an earlier clone or volume move of it was interrupted. Remove any half-made clone (a container locked 'create'), then run 'pct unlock 200' on pve1."]);
  });

  it('while the clone task still runs, discardClone waits (locked) and touches nothing', async () => {
    const { dest } = await prepare('qemu');
    env.fx.fake.cluster.tasks.inject({ type: 'qmclone', hang: true });
    const upid = await env.d.clone(TARGET, 'psnap-a', dest);
    expect(await env.d.cloneState(dest)).toBe('partial');
    const err = await rejection(env.d.discardClone(dest));
    expect([err.code, err.transient]).toEqual(['locked', true]);
    expect(err.detail).toBe(`VM 120 on node pve1 is locked (clone): a clone task is still running on pve1 (${upid}) and ends with the guest finished or removed`);
    expect(await env.d.taskStatus(TARGET, upid)).toEqual({ state: 'running' });
    expect(env.fx.fake.cluster.guests.get('120')?.lock).toBe('clone');
  });

  it('cloneState by the lock, anywhere in the cluster; a finished guest is left alone, one of the other type refused', async () => {
    const c = env.fx.fake.cluster;
    const dest = { ...TARGET, vmId: '120' };
    expect(await env.d.cloneState(dest)).toBe('absent');
    await env.d.discardClone(dest);
    const g = c.addVm('pve2', '120');
    const states: string[] = [];
    for (const lock of [null, 'clone', 'create', 'backup']) {
      g.lock = lock;
      states.push(await env.d.cloneState(dest));
    }
    expect(states).toEqual(['complete', 'partial', 'complete', 'complete']);
    g.lock = null;
    await env.d.discardClone(dest);
    expect(c.guests.get('120')).toBe(g);
    c.guests.delete('120');
    c.addContainer('pve1', '120').lock = 'create';
    expect(await env.d.cloneState({ ...CT_TARGET, vmId: '120' })).toBe('partial');
    for (const call of [env.d.cloneState(dest), env.d.discardClone(dest)]) {
      expect(fields(await rejection(call))).toEqual(['already_exists', "CT 120 already exists on node 'pve1' (the destination names a qemu)"]);
    }
    expect(c.guests.has('120')).toBe(true);
    expect(env.fx.calls().filter((x) => x.startsWith('DELETE'))).toEqual([]);
    const asked = env.fx.fake.requests.length;
    for (const call of [env.d.cloneState({ ...TARGET, vmId: '12' }), env.d.discardClone({ ...TARGET, node: '../x' })]) {
      expect((await rejection(call)).code).toBe('rejected');
    }
    expect(env.fx.fake.requests.length).toBe(asked);
  });

  it('the fake refuses what PVE refuses a token: skiplock is for root@pam, a locked guest is not destroyed; an unlocked one is', async () => {
    const c = env.fx.fake.cluster;
    Object.assign(c.addVm('pve1', '120'), { lock: 'clone', running: false });
    Object.assign(c.addContainer('pve1', '210'), { lock: 'create', running: false });
    const client = rawClient(env.fx.fake);
    const refused = (call: Promise<unknown>) => call.then(() => null, (e: ProxmoxHttpError) => [e.status, e.message]);
    try {
      expect(await refused(client.delete('/nodes/pve1/qemu/120', { skiplock: 1, purge: 1 })))
        .toEqual([400, 'Parameter verification failed. — skiplock: Only root may use this option.']);
      expect(await refused(client.delete('/nodes/pve1/lxc/210', { purge: 1, 'destroy-unreferenced-disks': 1 }))).toEqual([500, 'CT is locked (create)']);
      const vmTask = await client.delete<string>('/nodes/pve1/qemu/120', { purge: 1, 'destroy-unreferenced-disks': 1 });
      const locked = await waitForTask(env.d, TARGET, vmTask, 5_000, 5);
      expect(locked.state === 'failed' && fields(locked.error)).toEqual(['locked', 'VM is locked (clone)']);
      c.guests.get('120')!.lock = null;
      const done = await waitForTask(env.d, TARGET, await client.delete<string>('/nodes/pve1/qemu/120', { purge: 1 }), 5_000, 5);
      expect([done.state, c.guests.has('120')]).toEqual(['succeeded', false]);
    } finally {
      client.close();
    }
  });
});
