import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testCerts } from './certs.js';
import { FakeCluster, PveError, STORAGES } from './fake-cluster.js';

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

const SNAPNAME = /^[A-Za-z][A-Za-z0-9_-]+$/;

/**
 * A fake Proxmox VE API over real HTTPS (certificate signed by a test CA): token auth, `{data}`
 * envelopes, PVE's error style (message in the status line), worker tasks with UPIDs, and knobs for
 * failures. Only the endpoints the driver uses exist; anything else answers 501 like pveproxy.
 */
export class FakePve {
  readonly tokenId = 'snapshots@pve!panel';
  readonly tokenSecret = 'f3c1a1f0-3a2b-4c5d-9e8f-0123456789ab';
  readonly cluster = new FakeCluster(this.tokenId);
  readonly requests: RecordedRequest[] = [];
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
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/nodes\/([^/]+)\/tasks\/([^/]+)\/status$/.exec(path))) return c.taskStatus(m[1]!, decodeURIComponent(m[2]!));
    if (method === 'GET' && /^\/nodes\/[^/]+\/storage$/.test(path)) return STORAGES.map((s) => ({ ...s, active: 1, enabled: 1 }));
    if (!(m = /^\/nodes\/([^/]+)\/qemu\/(\d+)(\/.*)$/.exec(path))) throw new PveError(501, `Method '${method} ${path}' not implemented`);
    const vm = c.vm(m[1]!, m[2]!);
    const rest = m[3]!;
    if (method === 'GET' && rest === '/config') return { ...vm.config, digest: 'fakedigest' };
    if (method === 'GET' && rest === '/snapshot') {
      const items: Record<string, unknown>[] = [...vm.snapshots.values()].map((s) => ({ ...s, description: s.description }));
      // Proxmox's order is a hash order; make sure nothing relies on it.
      items.sort(() => Math.random() - 0.5);
      items.push({ name: 'current', description: 'You are here!', running: vm.running ? 1 : 0, digest: 'fakedigest', ...(vm.parent ? { parent: vm.parent } : {}) });
      return items;
    }
    if (method === 'POST' && rest === '/snapshot') {
      const name = p.snapname ?? '';
      if (!SNAPNAME.test(name) || name.length > 40) {
        throw new PveError(400, 'Parameter verification failed.', { snapname: `invalid format - invalid configuration ID '${name}'` });
      }
      if (name === 'current' || name === 'pending') throw new PveError(500, `unable to use snapshot name '${name}' (reserved name)`);
      return c.snapshot(vm, name, p.description ?? '', p.vmstate === '1');
    }
    if ((m = /^\/snapshot\/([^/]+)$/.exec(rest)) && method === 'DELETE') return c.deleteSnapshot(vm, decodeURIComponent(m[1]!));
    if ((m = /^\/snapshot\/([^/]+)\/rollback$/.exec(rest)) && method === 'POST') return c.rollback(vm, decodeURIComponent(m[1]!), p.start === '1');
    throw new PveError(501, `Method '${method} ${path}' not implemented`);
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
