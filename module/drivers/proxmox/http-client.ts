import type { Agent } from 'node:https';
import { request } from 'node:https';

/** Proxmox answered with an HTTP error; `message` is its reason text (where PVE puts the error). */
export class ProxmoxHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ProxmoxHttpError';
  }
}

/** No complete answer within the request timeout. */
export class ProxmoxTimeoutError extends Error {
  readonly code = 'ERR_PROXMOX_TIMEOUT';
  constructor(method: string, path: string, ms: number) {
    super(`${method} ${path}: no answer within ${ms} ms`);
    this.name = 'ProxmoxTimeoutError';
  }
}

export type Params = Record<string, string | number | boolean | undefined>;

export interface ProxmoxClientOptions {
  baseUrl: string;
  tokenId: string;
  tokenSecret: string;
  agent: Agent;
  timeoutMs: number;
}

const MAX_BODY = 8 * 1024 * 1024;

/**
 * A minimal client for `/api2/json`: API-token auth, form-encoded parameters, the `{data}` envelope
 * unwrapped, every request bounded by a deadline, TLS through the connection's own agent.
 */
export class ProxmoxClient {
  private readonly base: URL;
  constructor(private readonly options: ProxmoxClientOptions) {
    this.base = new URL(options.baseUrl);
  }

  get<T>(path: string, params?: Params): Promise<T> {
    return this.call<T>('GET', path, params);
  }

  post<T>(path: string, params?: Params): Promise<T> {
    return this.call<T>('POST', path, params);
  }

  put<T>(path: string, params?: Params): Promise<T> {
    return this.call<T>('PUT', path, params);
  }

  delete<T>(path: string, params?: Params): Promise<T> {
    return this.call<T>('DELETE', path, params);
  }

  /** Closes idle keep-alive connections (the driver is being dropped). */
  close(): void {
    this.options.agent.destroy();
  }

  private call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, params: Params = {}): Promise<T> {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined) form.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    }
    const url = new URL(`/api2/json${path}`, this.base);
    const hasBody = method === 'POST' || method === 'PUT';
    const body = hasBody ? form.toString() : '';
    if (!hasBody && [...form.keys()].length > 0) url.search = form.toString();
    const headers: Record<string, string> = {
      Authorization: `PVEAPIToken=${this.options.tokenId}=${this.options.tokenSecret}`,
      Accept: 'application/json',
    };
    if (hasBody) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    return new Promise<T>((resolve, reject) => {
      const req = request(url, { method, headers, agent: this.options.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`answer to ${method} ${path} larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let json: { data?: unknown; message?: unknown; errors?: Record<string, unknown> } | null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          if (status >= 200 && status < 300) {
            if (json === null || typeof json !== 'object') {
              reject(new ProxmoxHttpError(status, `${method} ${path}: answer is not JSON`));
            } else resolve(json.data as T);
            return;
          }
          reject(new ProxmoxHttpError(status, errorText(res.statusMessage, json)));
        });
      });
      const timer = setTimeout(() => req.destroy(new ProxmoxTimeoutError(method, path, this.options.timeoutMs)), this.options.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body || undefined);
    });
  }
}

/** PVE puts the error in the status line; parameter errors also come as `errors: {param: text}`. */
function errorText(statusMessage: string | undefined, json: { message?: unknown; errors?: Record<string, unknown> } | null): string {
  const parts: string[] = [];
  if (statusMessage) parts.push(statusMessage.trim());
  if (json && typeof json.message === 'string' && !parts.includes(json.message.trim())) parts.push(json.message.trim());
  if (json?.errors && typeof json.errors === 'object') {
    for (const [k, v] of Object.entries(json.errors)) parts.push(`${k}: ${String(v).trim()}`);
  }
  return parts.join(' — ') || 'HTTP error without a message';
}
