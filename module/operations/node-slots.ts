/**
 * What one process knows of its own operations per hypervisor node ("driver/node"): how many run,
 * which node each service last ran on, and the service jobs that found their node full here. Only a
 * lower bound of a node's load (other processes add to it), so it only ever saves claims that could
 * not succeed: the cap itself is still decided by the claim under the node's row lock.
 */
export class LocalNodeSlots<Job> {
  private readonly running = new Map<string, number>();
  private readonly lastNode = new Map<string, string>();
  private readonly waiting = new Map<string, Job[]>();

  constructor(private readonly cap: number) {}

  nodeOf(serviceId: string): string | undefined {
    return this.lastNode.get(serviceId);
  }

  /** This process alone runs the node's cap: no claim there can succeed now. */
  full(node: string): boolean {
    return (this.running.get(node) ?? 0) >= this.cap;
  }

  seen(serviceId: string, node: string): void {
    this.lastNode.set(serviceId, node);
  }

  started(serviceId: string, node: string): void {
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
  }

  /** `job` waits for a slot on `node` to free up in this process (see next). */
  wait(node: string, job: Job): void {
    const queue = this.waiting.get(node) ?? [];
    queue.push(job);
    this.waiting.set(node, queue);
  }

  /** The job that has waited longest for `node`, taken off the list. */
  next(node: string): Job | undefined {
    const queue = this.waiting.get(node);
    const job = queue?.shift();
    if (queue && !queue.length) this.waiting.delete(node);
    return job;
  }

  clear(): void {
    this.waiting.clear();
  }
}
