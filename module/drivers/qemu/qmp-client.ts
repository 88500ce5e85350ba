import { connect, type Socket } from 'node:net';

/** An asynchronous QMP event (`{"event": ..., "data": ..., "timestamp": ...}`). */
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/** QEMU answered a command with `{"error": {"class", "desc"}}`. */
export class QmpCommandError extends Error {
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string) {
    super(`${command}: ${desc}`);
    this.name = 'QmpCommandError';
  }
}

/** The conversation with QEMU could not happen or broke off (socket missing, closed, too slow). */
export class QmpConnectionError extends Error {
  constructor(readonly reason: 'absent' | 'closed' | 'timeout' | 'denied' | 'protocol', message: string) {
    super(message);
    this.name = 'QmpConnectionError';
  }
}

export interface QmpConnectOptions {
  /** Limit for connecting + greeting and, separately, for each command's answer. */
  timeoutMs?: number;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A minimal QMP client over a unix socket: reads the greeting, negotiates capabilities, matches
 * answers to commands by `id`, and hands events to listeners. QEMU's QMP socket serves one client at
 * a time, so callers connect for a short conversation and close again.
 */
export class QmpClient {
  private buffer = '';
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(e: QmpEvent) => void>();
  private closedError: QmpConnectionError | null = null;
  /** What QEMU announced in its greeting (version, capabilities). */
  greeting: Record<string, unknown> = {};

  private constructor(private readonly socket: Socket, private readonly timeoutMs: number) {}

  /** Connects, waits for the greeting and leaves capabilities negotiation mode. */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const socket = connect({ path });
    const client = new QmpClient(socket, timeoutMs);
    try {
      client.greeting = await client.handshake(path);
      await client.execute('qmp_capabilities');
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  /** Sends a command and resolves with its `return` value, or rejects with QmpCommandError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = `c${++this.seq}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpConnectionError('timeout', `QMP command '${command}' got no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`);
    });
  }

  /** Calls `listener` for every event until the returned function is called. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first event matching `accept`, or rejects after `timeoutMs`. */
  waitForEvent(accept: (e: QmpEvent) => boolean, timeoutMs = this.timeoutMs): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new QmpConnectionError('timeout', `no matching QMP event within ${timeoutMs} ms`)); }, timeoutMs);
      const off = this.onEvent((e) => {
        if (!accept(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }

  close(): void {
    this.fail(new QmpConnectionError('closed', 'QMP connection closed'));
    this.socket.destroy();
  }

  private handshake(path: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new QmpConnectionError('timeout', `no QMP greeting on ${path} within ${this.timeoutMs} ms (is another client connected?)`));
      }, this.timeoutMs);
      this.socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const reason = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'absent' : err.code === 'EACCES' ? 'denied' : 'closed';
        reject(new QmpConnectionError(reason, `QMP socket ${path}: ${err.message}`));
      });
      this.socket.once('close', () => {
        clearTimeout(timer);
        reject(new QmpConnectionError('closed', `QMP socket ${path} closed before the greeting`));
      });
      let greeted = false;
      this.socket.setEncoding('utf8');
      this.socket.on('data', (chunk: string) => {
        this.buffer += chunk;
        let nl: number;
        while ((nl = this.buffer.indexOf('\n')) >= 0) {
          const line = this.buffer.slice(0, nl).trim();
          this.buffer = this.buffer.slice(nl + 1);
          if (!line) continue;
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(line) as Record<string, unknown>;
          } catch {
            this.fail(new QmpConnectionError('protocol', `QMP sent something that is not JSON: ${line.slice(0, 200)}`));
            this.socket.destroy();
            return;
          }
          if (!greeted && 'QMP' in msg) {
            greeted = true;
            clearTimeout(timer);
            this.socket.on('error', () => undefined); // 'close' follows and fails what is pending
            this.socket.on('close', () => this.fail(new QmpConnectionError('closed', 'QEMU closed the QMP connection')));
            resolve(msg.QMP as Record<string, unknown>);
          } else {
            this.dispatch(msg);
          }
        }
      });
    });
  }

  private dispatch(msg: Record<string, unknown>): void {
    if (typeof msg.event === 'string') {
      for (const l of [...this.listeners]) l(msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : null;
    const p = id ? this.pending.get(id) : undefined;
    if (!p || !id) return; // an answer nobody waits for any more (timed out)
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in msg) {
      const e = (msg.error ?? {}) as { class?: string; desc?: string };
      p.reject(new QmpCommandError(p.command, e.class ?? 'GenericError', e.desc ?? 'unknown error'));
    } else {
      p.resolve(msg.return);
    }
  }

  private fail(err: QmpConnectionError): void {
    this.closedError ??= err;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
  }
}

/** Opens a connection, runs `fn` with it and always closes it again. */
export async function withQmp<T>(path: string, options: QmpConnectOptions, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const qmp = await QmpClient.connect(path, options);
  try {
    return await fn(qmp);
  } finally {
    qmp.close();
  }
}
