import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerSpec } from './crash-worker.js';

const SCRIPT = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));
/** tsx compiles and starts the worker in a few hundred milliseconds; a loaded machine is slower. */
const READY_MS = 30_000;

export interface CrashWorker {
  child: ChildProcess;
  /** What the worker wrote on stderr (its error logs), for a failing test's message. */
  stderr(): string;
  /** SIGKILL: no stop(), no unlock, no finally; resolves once the process is gone. */
  kill(): Promise<void>;
  /** A clean stop (module.stop(), connections closed); resolves once the process has exited. */
  stop(): Promise<void>;
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) resolve();
  else child.once('exit', () => resolve());
});

/**
 * Worker processes of one test. Vitest runs test files in its own module runner, so process.execArgv
 * does not carry tsx: each worker is `node --import tsx crash-worker.ts`. killAll() (afterEach) ends
 * whatever is left, even after a failed assertion.
 */
export class CrashWorkers {
  private readonly all: CrashWorker[] = [];

  async start(spec: WorkerSpec): Promise<CrashWorker> {
    const child = fork(SCRIPT, [JSON.stringify(spec)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const worker: CrashWorker = {
      child,
      stderr: () => err,
      async kill() {
        child.kill('SIGKILL');
        await exited(child);
      },
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.send('stop');
        await exited(child);
      },
    };
    this.all.push(worker);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker not ready after ${READY_MS} ms: ${err}`)), READY_MS);
      child.once('message', () => { clearTimeout(timer); resolve(); });
      child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`worker exited (${code ?? signal}) before ready: ${err}`)); });
    });
    return worker;
  }

  /** Everything this test printed on the workers' stderr. */
  stderr(): string {
    return this.all.map((w, i) => `--- worker ${i + 1} (pid ${w.child.pid}) ---\n${w.stderr()}`).join('\n');
  }

  async killAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((w) => w.kill()));
  }
}
