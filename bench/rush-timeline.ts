// bench:rush's reading of the operations' own times (created, claimed, finished): where a node's
// slots went between operations, and how far apart the nodes finished (the tail per-service order leaves).

/** An operation as the table keeps it, times in ms from the rush's start. */
export interface TimedOp {
  id: number;
  service: string;
  node: string;
  created: number;
  started: number;
  finished: number;
}

export function timedOps(rows: Array<Record<string, unknown>>, t0: number): TimedOp[] {
  const ms = (x: unknown) => new Date(x as string | Date).getTime() - t0;
  return rows.map((r) => ({
    id: Number(r.id), service: String(r.service_id), node: String(r.node), created: ms(r.created_at), started: ms(r.started_at), finished: ms(r.finished_at),
  }));
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

function groupBy<K>(ops: TimedOp[], key: (o: TimedOp) => K): Map<K, TimedOp[]> {
  const out = new Map<K, TimedOp[]>();
  for (const o of ops) {
    const list = out.get(key(o));
    if (list) list.push(o);
    else out.set(key(o), [o]);
  }
  return out;
}

/**
 * Hand-off: for each operation that ended while another on its node could have run (queued, and its
 * service's previous operation over), the time until the node's next start, split by whether the
 * next one was the same service's (it kept its slot) or another's. Node ends: when each node's last
 * operation finished (first, median, last), in seconds.
 */
export function timeline(ops: TimedOp[]) {
  const previousEnd = new Map<number, number>();
  for (const list of groupBy(ops, (o) => o.service).values()) {
    list.sort((a, b) => a.id - b.id).forEach((o, i) => previousEnd.set(o.id, i ? list[i - 1]!.finished : -Infinity));
  }
  const same: number[] = [];
  const other: number[] = [];
  const ends: number[] = [];
  for (const list of groupBy(ops, (o) => o.node).values()) {
    const starts = [...list].sort((a, b) => a.started - b.started);
    ends.push(Math.max(...list.map((o) => o.finished)));
    for (const o of list) {
      const runnable = list.some((x) => x.created <= o.finished && x.started > o.finished && previousEnd.get(x.id)! <= o.finished);
      const next = runnable ? starts.find((x) => x.started >= o.finished) : undefined;
      if (next) (next.service === o.service ? same : other).push(next.started - o.finished);
    }
  }
  const all = [...same, ...other];
  const s = (ms: number) => Math.round(ms / 10) / 100;
  return {
    handoffs: all.length, handoffP50Ms: pct(all, 50), handoffP90Ms: pct(all, 90),
    handoffSameServiceP50Ms: pct(same, 50), handoffOtherServiceP50Ms: pct(other, 50), handoffsToOtherService: other.length,
    nodeEndFirstSeconds: s(Math.min(...ends)), nodeEndP50Seconds: s(pct(ends, 50)), nodeEndLastSeconds: s(Math.max(...ends)),
  };
}
