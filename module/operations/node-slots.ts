/** A service job waiting here for a slot on its node. */
interface Waiter<Job> {
  job: Job;
  /** Arrival order: the longest waiting goes first among equal backlogs. */
  seq: number;
}

/**
 * A service holding a slot gives it up after an operation to a service waiting for that node with at
 * least this many more operations left: often enough that no long queue is left to run alone at the
 * end, rarely enough that hand-offs (a job claim and a wake each) stay few.
 */
export const YIELD_MARGIN = 3;

/**
 * What one process knows of its own operations per hypervisor node ("driver/node"): how many slots
 * its service jobs hold, which node each service last ran on and how much work it had left, and the
 * service jobs that found their node full here. Only a lower bound of a node's load (other processes
 * add to it), so it only ever saves claims that could not succeed: the cap itself is still decided by
 * the claim under the node's row lock.
 */
export class LocalNodeSlots<Job> {
  private readonly running = new Map<string, number>();
  private readonly lastNode = new Map<string, string>();
  private readonly backlog = new Map<string, number>();
  /** Per node, per service: at most one entry a service (a job parked twice waits once). */
  private readonly waiting = new Map<string, Map<string, Waiter<Job>>>();
  /** Per service, since when it has waited for a slot (kept while its job wakes on its own and waits again). */
  private readonly since = new Map<string, number>();
  private seq = 0;

  /**
   * `patienceMs`: a service that has waited this long for a slot goes first, however little work it
   * has (a customer's one restore behind a rush of long queues).
   */
  constructor(private readonly cap: number, private readonly patienceMs = Infinity, private readonly now: () => number = Date.now) {}

  nodeOf(serviceId: string): string | undefined {
    return this.lastNode.get(serviceId);
  }

  /** This process alone runs the node's cap: no claim there can succeed now. */
  full(node: string): boolean {
    return (this.running.get(node) ?? 0) >= this.cap;
  }

  /** The service's node, and its unfinished operations when the claim counted them. */
  seen(serviceId: string, node: string, backlog?: number): void {
    this.lastNode.set(serviceId, node);
    if (backlog !== undefined) this.backlog.set(serviceId, backlog);
  }

  /** The service's unfinished operations as last counted, and queued or ended since (1 when never counted). */
  backlogOf(serviceId: string): number {
    return this.backlog.get(serviceId) ?? 1;
  }

  /** An operation was queued for the service (it was woken): one more than its claim counted. */
  queued(serviceId: string): void {
    const n = this.backlog.get(serviceId);
    if (n !== undefined) this.backlog.set(serviceId, n + 1);
  }

  /** The service's operation ended (whatever its outcome, the next claim counts again). */
  ran(serviceId: string): void {
    const n = this.backlog.get(serviceId);
    if (n !== undefined) this.backlog.set(serviceId, Math.max(0, n - 1));
  }

  /** A service job takes a slot on `node`, and holds it between its operations until `ended`. */
  started(serviceId: string, node: string): void {
    this.since.delete(serviceId);
    this.lastNode.set(serviceId, node);
    this.running.set(node, (this.running.get(node) ?? 0) + 1);
  }

  ended(node: string): void {
    const n = (this.running.get(node) ?? 1) - 1;
    if (n > 0) this.running.set(node, n);
    else this.running.delete(node);
  }

  /** The service has no work left here: nothing to remember about it. */
  forget(serviceId: string): void {
    this.lastNode.delete(serviceId);
    this.backlog.delete(serviceId);
    this.since.delete(serviceId);
  }

  /** `job` waits for a slot on `node` to free up in this process (see next). */
  wait(node: string, serviceId: string, job: Job): void {
    const queue = this.waiting.get(node) ?? new Map<string, Waiter<Job>>();
    queue.set(serviceId, { job, seq: queue.get(serviceId)?.seq ?? ++this.seq });
    this.waiting.set(node, queue);
    if (!this.since.has(serviceId)) this.since.set(serviceId, this.now());
  }

  /** The service's job runs (woken, or on its own once its wait ran out): it waits no more. */
  unwait(serviceId: string): void {
    const node = this.lastNode.get(serviceId);
    const queue = node === undefined ? undefined : this.waiting.get(node);
    queue?.delete(serviceId);
    if (node !== undefined && queue && !queue.size) this.waiting.delete(node);
  }

  /**
   * Whether a service holding a slot on `node`, with `left` operations still to run, gives it up: a
   * service waiting there has at least YIELD_MARGIN more, or has waited past its patience.
   */
  shouldYield(node: string, left: number): boolean {
    const at = this.now();
    for (const serviceId of this.waiting.get(node)?.keys() ?? []) {
      if (this.backlogOf(serviceId) >= left + YIELD_MARGIN || this.overdue(serviceId, at)) return true;
    }
    return false;
  }

  /**
   * The job of the service waiting for `node` with the most work left, taken off the list: a node's
   * last operations are those of its longest queue, so it starts first (per-service order runs a
   * queue one operation at a time; started last, it would run on alone after the others finished).
   * Services waiting past their patience go before any other, the longest waiting first.
   */
  next(node: string): Job | undefined {
    const queue = this.waiting.get(node);
    const at = this.now();
    const rank = (serviceId: string, w: Waiter<Job>): number[] => {
      const overdue = this.overdue(serviceId, at);
      return [overdue ? 1 : 0, overdue ? 0 : this.backlogOf(serviceId), -(this.since.get(serviceId) ?? at), -w.seq];
    };
    let best: { serviceId: string; w: Waiter<Job>; r: number[] } | undefined;
    for (const [serviceId, w] of queue ?? []) {
      const r = rank(serviceId, w);
      if (!best || ahead(r, best.r)) best = { serviceId, w, r };
    }
    if (!queue || !best) return undefined;
    queue.delete(best.serviceId);
    if (!queue.size) this.waiting.delete(node);
    return best.w.job;
  }

  private overdue(serviceId: string, at: number): boolean {
    return at - (this.since.get(serviceId) ?? at) >= this.patienceMs;
  }

  clear(): void {
    this.waiting.clear();
  }
}

/** `a` ranks before `b`: compared element by element, higher first. */
function ahead(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return false;
}
