import {
  DriverError, type CloneState, type CreateSnapshotInput, type DriverCapabilities, type DriverNotice, type DriverTaskRef,
  type HypervisorSnapshot, type HypervisorTarget, type MissingAccess, type SnapshotDriver, type TaskState,
} from '../contract.js';
import { missingAccess } from './access-check.js';
import { GuestStorageTraits } from './capabilities.js';
import { cloneParams, cloneStateOf, destinationFree, discardRefusal, guestAt } from './clone.js';
import { toDriverError } from './errors.js';
import { GuestLocator } from './guest-location.js';
import { ProxmoxClient } from './http-client.js';
import { parseProxmoxOptions, type ProxmoxConfig, type ProxmoxDriverOptions } from './options.js';
import { guestPath, guestTypeOf, nodePath } from './paths.js';
import { toHypervisorSnapshots, type PveSnapshot } from './snapshot-list.js';
import { toSnapname } from './snapshot-names.js';
import { staleLock } from './stale-lock.js';
import { parseUpid, taskStateOf, type PveTaskStatus } from './tasks.js';
import { createTlsAgent } from './tls-agent.js';

export type { ProxmoxDriverOptions } from './options.js';

/**
 * The Proxmox VE driver: snapshots of QEMU VMs and LXC containers (`target.guestType`) through the
 * REST API with an API token. Options are validated here, so a panel fails at start with a clear
 * message rather than at the first snapshot.
 */
export function proxmoxDriver(options: ProxmoxDriverOptions): ProxmoxDriver {
  return new ProxmoxDriver(parseProxmoxOptions(options));
}

export class ProxmoxDriver implements SnapshotDriver {
  readonly name: string;
  readonly simulated = false;
  private readonly client: ProxmoxClient;
  private readonly traits: GuestStorageTraits;
  private readonly locator: GuestLocator;
  /** False once `checkAccess` found a privilege cloning needs missing; until then PVE answers for itself. */
  private cloneAllowed = true;

  constructor(private readonly config: ProxmoxConfig) {
    this.name = config.name;
    this.client = new ProxmoxClient({
      baseUrl: config.url, tokenId: config.tokenId, tokenSecret: config.tokenSecret,
      agent: createTlsAgent(config.tls), timeoutMs: config.timeouts.requestMs,
    });
    this.traits = new GuestStorageTraits(this.client, config.timeouts.capabilitiesCacheMs);
    this.locator = new GuestLocator(this.client);
  }

  onNotice(listener: (notice: DriverNotice) => void): void {
    this.locator.onNotice(listener);
  }

  async checkAccess(): Promise<MissingAccess[]> {
    const report = await this.guard(() => missingAccess(this.client));
    this.cloneAllowed = report.cloneAllowed;
    return report.missing;
  }

  async capabilities(target: HypervisorTarget): Promise<DriverCapabilities> {
    const readConfig = () => this.onGuest(target, (path) => this.client.get<Record<string, unknown>>(`${path}/config`));
    const traits = await this.guard(() => this.traits.of(target, readConfig));
    // Containers have no RAM state to save.
    return { memory: this.memoryAllowed(target), rollbackOnlyLatest: traits.rollbackOnlyLatest, clone: this.cloneAllowed && traits.cloneFromSnapshot };
  }

  async list(target: HypervisorTarget): Promise<HypervisorSnapshot[]> {
    return toHypervisorSnapshots(await this.onGuest(target, (path) => this.client.get<PveSnapshot[]>(`${path}/snapshot`)));
  }

  async create(target: HypervisorTarget, input: CreateSnapshotInput): Promise<DriverTaskRef> {
    if (input.includeMemory && !this.memoryAllowed(target)) {
      throw new DriverError('unsupported_storage', guestTypeOf(target) === 'lxc'
        ? 'containers have no memory state to save' : 'memory snapshots are turned off for this Proxmox connection');
    }
    // Listing first finds the guest where it lives now: pve-container forks before reading the config.
    await this.list(target);
    return this.task(() => this.client.post(`${guestPath(target, this.locator.nodeOf(target))}/snapshot`, {
      snapname: toSnapname(input.name, guestTypeOf(target)),
      description: input.description ?? undefined,
      // Proxmox saves the RAM only while the VM runs; a stopped VM gets a disk snapshot.
      vmstate: input.includeMemory ? 1 : undefined,
    }));
  }

  async delete(target: HypervisorTarget, name: string): Promise<DriverTaskRef> {
    // The delete task reads the config only once forked: list first, so a moved guest is followed and a
    // missing one is reported rather than a task that fails with it.
    const snapname = toSnapname(name, guestTypeOf(target));
    const snap = (await this.list(target)).find((s) => s.name === snapname);
    return this.task(() => this.client.delete(`${guestPath(target, this.locator.nodeOf(target))}/snapshot/${snapname}`, {
      // A delete that died half way left the entry in `snapstate: delete` with some volume snapshots
      // gone; only `force` removes the entry then. A create that died left `prepare`, likewise.
      force: snap?.incomplete ? 1 : undefined,
    }));
  }

  async restore(target: HypervisorTarget, name: string, options: { startAfter: boolean }): Promise<DriverTaskRef> {
    const snapname = toSnapname(name, guestTypeOf(target));
    const snap = (await this.list(target)).find((s) => s.name === snapname);
    if (!snap) throw new DriverError('not_found', `snapshot '${snapname}' does not exist`);
    if (snap.incomplete) throw new DriverError('snapshot_incomplete', `unable to rollback to incomplete snapshot (snapstate = ${snap.incomplete})`);
    // `start` is left out rather than sent as 0, so Proxmox versions before it existed still accept the call.
    return this.task(() => this.client.post(`${guestPath(target, this.locator.nodeOf(target))}/snapshot/${snapname}/rollback`, {
      start: options.startAfter ? 1 : undefined,
    }));
  }

  async clone(source: HypervisorTarget, name: string, dest: HypervisorTarget): Promise<DriverTaskRef> {
    const type = guestTypeOf(source);
    if (guestTypeOf(dest) !== type) throw new DriverError('rejected', `a clone of ${type} ${source.vmId} is a ${type} too, not a ${guestTypeOf(dest)}`);
    const snapname = toSnapname(name, type);
    const snap = (await this.list(source)).find((s) => s.name === snapname);
    if (!snap) throw new DriverError('not_found', `snapshot '${snapname}' does not exist`);
    // PVE would clone it: its volume snapshots may be half made or half gone.
    if (snap.incomplete) throw new DriverError('snapshot_incomplete', `unable to clone from incomplete snapshot (snapstate = ${snap.incomplete})`);
    await this.guard(() => destinationFree(this.locator, dest));
    const node = this.locator.nodeOf(source);
    try {
      return await this.task(() => this.client.post(`${guestPath(source, node)}/clone`, cloneParams(snapname, node, dest)));
    } catch (err) {
      throw await this.unlessStale(toDriverError(err), source, node);
    }
  }

  async cloneState(dest: HypervisorTarget): Promise<CloneState> {
    return cloneStateOf(await this.guard(() => guestAt(this.locator, dest)), guestTypeOf(dest));
  }

  async discardClone(dest: HypervisorTarget): Promise<void> {
    const refusal = await this.guard(async () => discardRefusal(this.client, dest, await guestAt(this.locator, dest)));
    if (refusal) throw refusal;
  }

  async updateDescription(target: HypervisorTarget, name: string, description: string | null): Promise<void> {
    const snapname = toSnapname(name, guestTypeOf(target));
    try {
      // An empty string clears it: PVE leaves the description alone when the parameter is absent.
      await this.onGuest(target, (path) => this.client.put(`${path}/snapshot/${snapname}/config`, { description: description ?? '' }));
    } catch (err) {
      throw await this.unlessStale(toDriverError(err), target, this.locator.nodeOf(target));
    }
  }

  async taskStatus(target: HypervisorTarget, task: DriverTaskRef): Promise<TaskState> {
    const upid = parseUpid(task);
    if (!upid) return { state: 'failed', error: new DriverError('not_found', `not a Proxmox task id: '${task}'`) };
    let state: TaskState;
    try {
      // The task runs on the node that owns the guest, named in the UPID itself.
      state = taskStateOf(task, (await this.client.get<PveTaskStatus>(`${nodePath(upid.node)}/tasks/${encodeURIComponent(task)}/status`)) ?? {});
    } catch (err) {
      const error = toDriverError(err);
      // A task Proxmox does not know will never finish; anything else is worth asking again.
      if (error.code === 'not_found') return { state: 'failed', error };
      throw error;
    }
    if (state.state !== 'failed') return state;
    return { state: 'failed', error: await this.unlessStale(state.error, { ...target, vmId: upid.id || target.vmId }, upid.node) };
  }

  /** Drops idle connections to the cluster. */
  close(): void {
    this.client.close();
  }

  private memoryAllowed(target: HypervisorTarget): boolean {
    return this.config.memory && guestTypeOf(target) === 'qemu';
  }

  /** A lock no running task holds will not go away by waiting: say so, with what clears it. */
  private async unlessStale(error: DriverError, target: HypervisorTarget, node: string): Promise<DriverError> {
    if (error.code !== 'locked') return error;
    return staleLock(this.client, error, { node, vmid: target.vmId, type: guestTypeOf(target), configPath: `${guestPath(target, node)}/config` });
  }

  /** Calls `fn` with the guest's API path; a node that does not have the guest sends us to the one that does. */
  private async onGuest<T>(target: HypervisorTarget, fn: (path: string) => Promise<T>): Promise<T> {
    try {
      return await fn(guestPath(target, this.locator.nodeOf(target)));
    } catch (err) {
      const error = toDriverError(err);
      if (error.code !== 'guest_missing') throw error;
      const node = await this.guard(() => this.locator.locate(target, error));
      return this.guard(() => fn(guestPath(target, node)));
    }
  }

  private async task(start: () => Promise<unknown>): Promise<DriverTaskRef> {
    const upid = await this.guard(start);
    if (typeof upid !== 'string' || !parseUpid(upid)) {
      throw new DriverError('rejected', `Proxmox answered without a task id: ${JSON.stringify(upid)}`);
    }
    return upid;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toDriverError(err);
    }
  }
}
