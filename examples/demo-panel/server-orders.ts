import { randomBytes } from 'node:crypto';
import type { Actor, ServerOrderRequest } from '../../module/index.js';

/**
 * An order for a new server from a snapshot, as the module handed it over. The module's reference
 * stays here, on the server: the customer's browser only ever sees the order's own random id, so
 * neither the reference nor the snapshot's id can be read, swapped or replayed from a URL.
 */
export interface ServerOrder {
  id: string;
  /** Who started it: only they can see and confirm it (a reseller or admin may order for the customer). */
  actorId: string;
  reference: string;
  expiresAt: Date;
  source: { id: string; name: string; ownerId: string; resellerId: string | null; driver: string; node: string };
  snapshot: { name: string; createdAt: Date; diskBytes: number | null };
  minDiskBytes: number;
  /** `confirming` while a confirm is being carried out, so a second confirm sent meanwhile makes nothing. */
  state: 'open' | 'confirming' | 'done';
  /** The server the order made, once confirmed. */
  serviceId: string | null;
}

/**
 * Open orders, in memory: a restart forgets them, and the customer starts again from the snapshot
 * (the module's reference would be single-use and expiring anyway). Expired orders are dropped.
 */
export function createOrderBook(now: () => number = Date.now) {
  const orders = new Map<string, ServerOrder>();

  return {
    /** Keeps the module's request and answers the order's id. */
    open(request: ServerOrderRequest): string {
      for (const [id, o] of orders) if (o.expiresAt.getTime() <= now()) orders.delete(id);
      const id = randomBytes(16).toString('base64url');
      const { source, snapshot } = request;
      orders.set(id, {
        id, actorId: request.actor.id, reference: request.reference, expiresAt: request.expiresAt,
        source: { id: source.id, name: source.name, ownerId: source.ownerId, resellerId: source.resellerId ?? null, driver: source.target.driver, node: source.target.node },
        snapshot: { name: snapshot.name, createdAt: snapshot.createdAt, diskBytes: snapshot.diskBytes },
        minDiskBytes: request.minDiskBytes, state: 'open', serviceId: null,
      });
      return id;
    },
    /** The order if it exists, has not expired and is `actor`'s; null otherwise (never says which). */
    of(id: string, actor: Actor): ServerOrder | null {
      const order = orders.get(id);
      if (!order || order.actorId !== actor.id) return null;
      if (order.expiresAt.getTime() > now() || order.state === 'done') return order;
      orders.delete(id);
      return null;
    },
    /** Marks an open order as being confirmed; false when it is not open (already confirming or done). */
    claim(order: ServerOrder): boolean {
      if (order.state !== 'open') return false;
      order.state = 'confirming';
      return true;
    },
    release(order: ServerOrder): void {
      if (order.state === 'confirming') order.state = 'open';
    },
    complete(order: ServerOrder, serviceId: string): void {
      order.state = 'done';
      order.serviceId = serviceId;
    },
  };
}

export type OrderBook = ReturnType<typeof createOrderBook>;
