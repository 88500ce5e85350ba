// A fixed-rate (open-loop) load: request i is due at start + i / rate, sent then whether or not
// earlier ones have been answered, and its latency counts from when it was due, so time spent
// waiting for a free connection counts too. autocannon's `overallRate` does not do this: each of its
// connections sends its share of the second's requests back to back at the top of every second and
// then waits for the next, so 200/s over 50 connections arrives as a burst of 200 each second, and
// its p99 measured how long a burst took to drain (the bare page's "p99" of 113–190 ms here).
import http from 'node:http';

export interface OpenLoopRun {
  requests: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  bytesPerReq: number;
  non2xx: number;
  errors: number;
}

/** `rate` requests a second to `url` for `seconds`, over at most `connections` kept-alive sockets. */
export async function openLoop(url: string, o: { rate: number; seconds: number; connections: number; headers?: Record<string, string> }): Promise<OpenLoopRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const total = Math.round(o.rate * o.seconds);
  const latencies: number[] = [];
  let bytes = 0;
  let non2xx = 0;
  let errors = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(new Promise<void>((resolve) => {
      const req = http.get(url, { agent, headers: o.headers }, (res) => {
        res.on('data', (chunk: Buffer) => { bytes += chunk.length; });
        res.on('end', () => {
          latencies.push(performance.now() - due);
          if ((res.statusCode ?? 0) >= 300) non2xx += 1;
          resolve();
        });
      });
      req.on('error', () => { errors += 1; resolve(); });
    }));
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0);
  return {
    requests: latencies.length, seconds: o.seconds, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1),
    bytesPerReq: Math.round(bytes / Math.max(1, latencies.length)), non2xx, errors,
  };
}
