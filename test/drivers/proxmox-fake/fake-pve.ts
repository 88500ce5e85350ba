import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testCerts } from './certs.js';
import { FakeCloner } from './fake-clone.js';
import { FakeCluster, PveError, type FakeGuest } from './fake-cluster.js';
import { destroyGuest } from './fake-destroy.js';
import { isShared, STORAGES } from './fake-storages.js';
import { isTrue, verifyRequest } from './fake-schema.js';

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  authorization: string | undefined;
}

interface HttpKnob {
  method?: string;
  path: RegExp;
  status?: number;
  message?: string;
  /** Per-parameter messages, as PVE sends with 400 "Parameter verification failed." */
  errors?: Record<string, string>;
  /** Never answer (the client's timeout must end the wait). */
  stall?: boolean;
  times: number;
}

/**
 * A fake Proxmox VE API over real HTTPS (certificate signed by a test CA): token auth, `{data}`
 * envelopes, PVE's error style (message in the status line), worker tasks with UPIDs, and knobs for
 * failures. Only the endpoints the driver uses exist (and destroy, which tests use to show what PVE
 * refuses a token), with their parameters verified as PVE does (fake-schema.ts); anything else
 * answers 501 like pveproxy.
 */
export class FakePve {
  readonly tokenId = 'snapshots@pve!panel';
  readonly tokenSecret = 'f3c1a1f0-3a2b-4c5d-9e8f-0123456789ab';
  readonly cluster = new FakeCluster(this.tokenId);
  readonly requests: RecordedRequest[] = [];
  /** The token's effective permissions, path → privilege → propagate (what /access/permissions returns). */
  permissions: Record<string, Record<string, number>> = {
    '/vms': { 'VM.Audit': 1, 'VM.Snapshot': 1, 'VM.Snapshot.Rollback': 1, 'VM.PowerMgmt': 1, 'VM.Clone': 1, 'VM.Allocate': 1 },
    '/storage': { 'Datastore.Audit': 1, 'Datastore.AllocateSpace': 1 },
    '/nodes': { 'Sys.Audit': 1 },
    '/sdn/zones': { 'SDN.Use': 1 },
  };
  /** Clones and destroys (checked against `permissions`, which only those endpoints enforce). */
  readonly cloner = new FakeCloner(this.cluster, (privilege, path) => this.can(privilege, path));
  private readonly httpKnobs: HttpKnob[] = [];
  private readonly stalled = new Set<ServerResponse>();
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    const { certPem, keyPem } = testCerts();
    this.server = createServer({ cert: certPem, key: keyPem }, (req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * Whether the token holds `privilege` on `path`: the most specific path with permissions listed
   * decides, and one above `path` counts only where it propagates (1), as PVE's ACL tree does.
   */
  can(privilege: string, path: string): boolean {
    const parts = path.split('/').filter(Boolean);
    for (let i = parts.length; i >= 0; i -= 1) {
      const privs = this.permissions[`/${parts.slice(0, i).join('/')}`];
      if (privs) return privs[privilege] !== undefined && (i === parts.length || privs[privilege] === 1);
    }
    return false;
  }

  /** The next `times` matching requests get `status message` (or no answer at all with `stall`). */
  failHttp(knob: Omit<HttpKnob, 'times'> & { times?: number }): void {
    this.httpKnobs.push({ times: 1, ...knob });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    const body = await readBody(req);
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (body) Object.assign(params, (req.headers['content-type'] ?? '').includes('json') ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body)));
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/^\/api2\/json/, '');
    this.requests.push({ method, path, params, authorization: req.headers.authorization });
    try {
      if (req.headers.authorization !== `PVEAPIToken=${this.tokenId}=${this.tokenSecret}`) throw new PveError(401, 'authentication failure');
      const knob = this.httpKnobs.find((k) => k.times > 0 && k.path.test(path) && (!k.method || k.method === method));
      if (knob) {
        knob.times -= 1;
        if (knob.stall) {
          this.stalled.add(res);
          return;
        }
        throw new PveError(knob.status ?? 500, knob.message ?? 'internal error', knob.errors);
      }
      this.cluster.settle();
      send(res, 200, { data: this.route(method, path, params) });
    } catch (err) {
      const e = err instanceof PveError ? err : new PveError(500, String(err));
      send(res, e.status, e.errors ? { data: null, errors: e.errors } : { data: null }, e.message);
    }
  }

  private route(method: string, path: string, p: Record<string, string>): unknown {
    const c = this.cluster;
    const at = verifyRequest(method, path, p);
    if (path === '/access/permissions') {
      if (p.path === undefined) return this.permissions;
      return this.permissions[p.path] ? { [p.path]: this.permissions[p.path] } : {};
    }
    if (path === '/cluster/resources') return p.type === undefined || p.type === 'vm' ? c.resources() : [];
    if (path === '/storage') {
      return STORAGES.filter((s) => !p.type || s.type === p.type).map((s) => ({ ...s, ...(isShared(s) ? { shared: 1 } : {}), content: 'images,rootdir', digest: 'fakedigest' }));
    }
    if (path.endsWith('/storage')) return STORAGES.map((s) => ({ storage: s.storage, type: s.type, active: 1, enabled: 1 }));
    if (at.upid !== undefined) {
      try {
        return c.tasks.status(at.node!, at.upid);
      } catch (err) {
        throw new PveError(500, (err as Error).message);
      }
    }
    if (path.endsWith('/tasks')) return p.source === 'active' ? c.tasks.active(at.node!, p.vmid, p.typefilter) : [];
    const [node, vmid, name] = [at.node!, at.vmid!, at.snapname];
    const type = at.type === 'lxc' || path.includes('/lxc/') ? 'lxc' : 'qemu';
    if (method === 'GET' && path.endsWith('/config')) {
      const g = c.guest(node, type, vmid);
      return { ...g.config, ...(g.lock ? { lock: g.lock } : {}), digest: 'fakedigest' };
    }
    if (method === 'GET') return this.snapshotList(c.guest(node, type, vmid));
    if (path.endsWith('/clone')) return this.cloner.clone(node, type, vmid, p);
    if (method === 'DELETE' && name === undefined) return destroyGuest(c, (privilege, at) => this.can(privilege, at), { node, type, vmid }, p);
    if (method === 'PUT') return c.updateDescription(node, type, vmid, name!, p.description);
    if (method === 'DELETE') return c.deleteSnapshot(node, type, vmid, name!, isTrue(p.force));
    if (path.endsWith('/rollback')) return c.rollback(node, type, vmid, name!, isTrue(p.start));
    const snapname = p.snapname!;
    if (snapname === 'current' || (type === 'qemu' ? snapname.toLowerCase() === 'pending' : snapname === 'vzdump')) {
      throw new PveError(500, `unable to use snapshot name '${snapname}' (reserved name)`);
    }
    // qemu-server reads the VM config before forking the worker; pve-container does not.
    if (type === 'qemu') c.guest(node, type, vmid);
    return c.snapshot(node, type, vmid, snapname, p.description ?? '', isTrue(p.vmstate));
  }

  private snapshotList(g: FakeGuest): unknown[] {
    const items: Record<string, unknown>[] = [...g.snapshots.values()].map((s) => ({
      name: s.name, description: s.description, snaptime: s.snaptime ?? 0,
      ...(g.type === 'qemu' ? { vmstate: s.vmstate ?? 0 } : {}),
      ...(s.parent ? { parent: s.parent } : {}), ...(s.snapstate ? { snapstate: s.snapstate } : {}),
    }));
    // Proxmox's order is a hash order; make sure nothing relies on it.
    items.sort(() => Math.random() - 0.5);
    items.push({ name: 'current', description: 'You are here!', running: g.running ? 1 : 0, digest: 'fakedigest', ...(g.parent ? { parent: g.parent } : {}) });
    return items;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, payload: unknown, statusMessage?: string): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, statusMessage ?? 'OK', { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
