import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/wait-for.js';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface DemoPanel {
  url: string;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts examples/demo-panel/server.ts as its own process — exactly what `npm start` runs — on a free
 * port with a fresh SQLite file and a fresh simulated hypervisor whose tasks take about a second or two,
 * so "Creating" is on screen long enough to see it turn into "Current".
 */
export async function startDemoPanel(opts: { delayScale?: number } = {}): Promise<DemoPanel> {
  const dir = mkdtempSync(path.join(tmpdir(), 'snapshots-e2e-'));
  const port = await freePort();
  const logFile = path.join(dir, 'server.log');
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'examples/demo-panel/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: path.join(dir, 'demo.sqlite'),
      DEMO_DATA_DIR: dir,
      DEMO_DELAY_SCALE: String(opts.delayScale ?? 0.4),
    },
    stdio: ['ignore', log, log],
  });
  const url = `http://127.0.0.1:${port}`;
  let exited: number | null = null;
  child.on('exit', (code) => { exited = code ?? -1; });
  try {
    await waitFor(async () => {
      if (exited !== null) throw new Error(`demo panel exited with ${exited}`);
      return (await fetch(`${url}/healthz`)).ok;
    }, 60_000, 'demo panel /healthz', 250);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- demo panel log ---\n${readFileSync(logFile, 'utf8')}`, { cause: err });
  }
  return {
    url,
    stop: async () => {
      if (exited === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
