import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QmpClient, QmpCommandError, QmpConnectionError, withQmp } from '../../module/drivers/qemu/qmp-client.js';

/**
 * The wire protocol against a scripted peer: ordering, interleaved events and broken connections
 * are hard to provoke in a real QEMU on demand. test/qemu/ covers the real thing.
 */
type Handler = (msg: { execute: string; arguments?: Record<string, unknown>; id?: string }, sock: Socket) => void;

const GREETING = '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}\r\n';

let dir: string;
let server: Server | null;
const received: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qmp-'));
  server = null;
  received.length = 0;
});
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A QMP peer: greets (unless told not to), answers qmp_capabilities, hands other commands to `handle`. */
async function peer(handle: Handler, opts: { greet?: boolean } = {}): Promise<string> {
  const path = join(dir, 'qmp.sock');
  server = createServer((sock) => {
    if (opts.greet !== false) sock.write(GREETING);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as Parameters<Handler>[0];
        buf = buf.slice(nl + 1);
        received.push(msg.execute);
        if (msg.execute === 'qmp_capabilities') sock.write(`{"return": {}, "id": ${JSON.stringify(msg.id)}}\r\n`);
        else handle(msg, sock);
      }
    });
  });
  await new Promise<void>((resolve) => server!.listen(path, resolve));
  return path;
}

const reply = (sock: Socket, id: string | undefined, value: unknown) => sock.write(`${JSON.stringify({ return: value, id })}\r\n`);

describe('QMP client', () => {
  it('negotiates capabilities after the greeting and matches answers to commands by id, in any order', async () => {
    const held: [Socket, string | undefined][] = [];
    const path = await peer((msg, sock) => {
      held.push([sock, msg.id]);
      if (held.length === 2) {
        // Answer the second command first, in one write with the first answer.
        const [[s, first], [, second]] = held as [[Socket, string], [Socket, string]];
        s.write(`${JSON.stringify({ return: 'second', id: second })}\r\n${JSON.stringify({ return: 'first', id: first })}\r\n`);
      }
    });
    const result = await withQmp(path, {}, async (qmp) => {
      expect(qmp.greeting).toMatchObject({ version: { qemu: { major: 7 } } });
      return Promise.all([qmp.execute('query-status'), qmp.execute('query-jobs')]);
    });
    expect(result).toEqual(['first', 'second']);
    expect(received).toEqual(['qmp_capabilities', 'query-status', 'query-jobs']);
  });

  it('hands events to listeners, also when they arrive in the same chunk as an answer', async () => {
    const path = await peer((msg, sock) => {
      sock.write(`{"event": "JOB_STATUS_CHANGE", "data": {"id": "j1", "status": "running"}, "timestamp": {"seconds": 1, "microseconds": 0}}\r\n${
        JSON.stringify({ return: {}, id: msg.id })}\r\n{"event": "JOB_STATUS_CHANGE", "data": {"id": "j1", "status": "concluded"}, "timestamp": {"seconds": 2, "microseconds": 0}}\r\n`);
    });
    await withQmp(path, {}, async (qmp) => {
      const seen: string[] = [];
      qmp.onEvent((e) => seen.push(`${e.event}:${String(e.data.status)}`));
      const concluded = qmp.waitForEvent((e) => e.data.status === 'concluded', 2000);
      await qmp.execute('snapshot-save', { 'job-id': 'j1', tag: 't' });
      expect((await concluded).timestamp.seconds).toBe(2);
      expect(seen).toEqual(['JOB_STATUS_CHANGE:running', 'JOB_STATUS_CHANGE:concluded']);
    });
  });

  it('turns an error answer into QmpCommandError with QEMU class and text', async () => {
    const path = await peer((msg, sock) => sock.write(`${JSON.stringify({ error: { class: 'GenericError', desc: "Job ID 'x' already in use" }, id: msg.id })}\r\n`));
    const err = await withQmp(path, {}, (qmp) => qmp.execute('snapshot-save')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpCommandError);
    expect(err).toMatchObject({ command: 'snapshot-save', errorClass: 'GenericError', desc: "Job ID 'x' already in use" });
  });

  it('fails pending commands when QEMU closes the connection, and later ones at once', async () => {
    const path = await peer((_msg, sock) => sock.destroy());
    const qmp = await QmpClient.connect(path);
    const err = await qmp.execute('query-status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpConnectionError);
    expect((err as QmpConnectionError).reason).toBe('closed');
    await expect(qmp.execute('query-status')).rejects.toMatchObject({ reason: 'closed' });
    qmp.close();
  });

  it('reports a missing socket as absent, a silent peer as timeout, garbage as a protocol error', async () => {
    await expect(QmpClient.connect(join(dir, 'nothing.sock'))).rejects.toMatchObject({ reason: 'absent' });
    const silent = await peer(() => undefined, { greet: false });
    await expect(QmpClient.connect(silent, { timeoutMs: 200 })).rejects.toMatchObject({ reason: 'timeout' });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const garbage = await peer((_msg, sock) => sock.write('this is not json\r\n'));
    const qmp = await QmpClient.connect(garbage);
    await expect(qmp.execute('query-status')).rejects.toMatchObject({ reason: 'protocol' });
    qmp.close();
  });

  it('times out a command that gets no answer, without breaking the connection for the next one', async () => {
    let calls = 0;
    const path = await peer((msg, sock) => { if (++calls > 1) reply(sock, msg.id, 'ok'); });
    await withQmp(path, { timeoutMs: 200 }, async (qmp) => {
      await expect(qmp.execute('query-status')).rejects.toMatchObject({ reason: 'timeout' });
      expect(await qmp.execute('query-status')).toBe('ok');
    });
  });
});
