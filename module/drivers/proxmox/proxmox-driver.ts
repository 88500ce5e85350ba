import {
  DriverError, type CreateSnapshotInput, type DriverCapabilities, type DriverTaskRef, type HypervisorSnapshot,
  type HypervisorTarget, type SnapshotDriver, type TaskState,
} from '../contract.js';
import { RollbackLatestOnly } from './capabilities.js';
import { toDriverError } from './errors.js';
import { ProxmoxClient } from './http-client.js';
import { parseProxmoxOptions, type ProxmoxConfig, type ProxmoxDriverOptions } from './options.js';
import { vmPath } from './paths.js';
import { toSnapname } from './snapshot-names.js';
import { parseUpid, taskStateOf, type PveTaskStatus } from './tasks.js';
import { createTlsAgent } from './tls-agent.js';

export type { ProxmoxDriverOptions } from './options.js';

/** One entry of GET /nodes/{node}/qemu/{vmid}/snapshot. */
interface PveSnapshot {
  name: string;
  description?: string;
  snaptime?: number;
  vmstate?: number | boolean;
  parent?: string;
}

/**
 * The Proxmox VE driver: snapshots of QEMU VMs through the REST API with an API token. Options are
 * validated here, so a panel fails at start with a clear message rather than at the first snapshot.
 */
export function proxmoxDriver(options: ProxmoxDriverOptions): ProxmoxDriver {
  return new ProxmoxDriver(parseProxmoxOptions(options));
}

export class ProxmoxDriver implements SnapshotDriver {
  readonly name: string;
  readonly simulated = false;
  private readonly client: ProxmoxClient;
  private readonly latestOnly: RollbackLatestOnly;

  constructor(private readonly config: ProxmoxConfig) {
    this.name = config.name;
    this.client = new ProxmoxClient({
      baseUrl: config.url, tokenId: config.tokenId, tokenSecret: config.tokenSecret,
      agent: createTlsAgent(config.tls), timeoutMs: config.timeouts.requestMs,
    });
    this.latestOnly = new RollbackLatestOnly(this.client, config.timeouts.capabilitiesCacheMs);
  }

  async capabilities(target: HypervisorTarget): Promise<DriverCapabilities> {
    const rollbackOnlyLatest = await this.guard(() => this.latestOnly.of(target));
    return { memory: this.config.memory, rollbackOnlyLatest };
  }

  async list(target: HypervisorTarget): Promise<HypervisorSnapshot[]> {
    const items = await this.guard(() => this.client.get<PveSnapshot[]>(`${vmPath(target)}/snapshot`));
    // The list is unordered and ends with "current" (the running state), which is no snapshot.
    const snaps = (items ?? []).filter((s) => s.name !== 'current');
    const depth = chainDepth(snaps);
    snaps.sort((a, b) => (a.snaptime ?? Infinity) - (b.snaptime ?? Infinity) || depth(a.name) - depth(b.name) || a.name.localeCompare(b.name));
    return snaps.map((s) => ({
      name: s.name,
      description: s.description ? s.description : null,
      createdAt: typeof s.snaptime === 'number' ? new Date(s.snaptime * 1000) : null,
      withMemory: Boolean(s.vmstate),
      // Proxmox does not report per-snapshot sizes without reading every volume.
      diskBytes: null,
      memoryBytes: null,
    }));
  }

  async create(target: HypervisorTarget, input: CreateSnapshotInput): Promise<DriverTaskRef> {
    if (input.includeMemory && !this.config.memory) {
      throw new DriverError('unsupported_storage', 'memory snapshots are turned off for this Proxmox connection');
    }
    return this.task(() => this.client.post(`${vmPath(target)}/snapshot`, {
      snapname: toSnapname(input.name),
      description: input.description ?? undefined,
      // Proxmox saves the RAM only while the VM runs; a stopped VM gets a disk snapshot.
      vmstate: input.includeMemory ? 1 : undefined,
    }));
  }

  async delete(target: HypervisorTarget, name: string): Promise<DriverTaskRef> {
    return this.task(() => this.client.delete(`${vmPath(target)}/snapshot/${toSnapname(name)}`));
  }

  async restore(target: HypervisorTarget, name: string, options: { startAfter: boolean }): Promise<DriverTaskRef> {
    // `start` is left out rather than sent as 0, so Proxmox versions before it existed still accept the call.
    return this.task(() => this.client.post(`${vmPath(target)}/snapshot/${toSnapname(name)}/rollback`, {
      start: options.startAfter ? 1 : undefined,
    }));
  }

  async taskStatus(_target: HypervisorTarget, task: DriverTaskRef): Promise<TaskState> {
    const upid = parseUpid(task);
    if (!upid) return { state: 'failed', error: new DriverError('not_found', `not a Proxmox task id: '${task}'`) };
    try {
      // The task runs on the node that owns the VM, named in the UPID itself.
      const status = await this.client.get<PveTaskStatus>(`/nodes/${upid.node}/tasks/${encodeURIComponent(task)}/status`);
      return taskStateOf(task, status ?? {});
    } catch (err) {
      const error = toDriverError(err);
      // A task Proxmox does not know will never finish; anything else is worth asking again.
      if (error.code === 'not_found') return { state: 'failed', error };
      throw error;
    }
  }

  /** Drops idle connections to the cluster. */
  close(): void {
    this.client.close();
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

/** Depth of each snapshot in the parent chain, breaking ties of equal `snaptime` (whole seconds). */
function chainDepth(snaps: PveSnapshot[]): (name: string) => number {
  const parent = new Map(snaps.map((s) => [s.name, s.parent]));
  const memo = new Map<string, number>();
  const depth = (name: string, seen = new Set<string>()): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const p = parent.get(name);
    // A cycle or a parent outside the list ends the chain.
    const d = p && parent.has(p) && !seen.has(p) ? depth(p, seen.add(name)) + 1 : 0;
    memo.set(name, d);
    return d;
  };
  return (name) => depth(name);
}
