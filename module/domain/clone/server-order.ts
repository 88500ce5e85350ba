import type { Actor, PanelService } from '../types.js';

/**
 * What the module hands the panel when a customer asks for a new server made from a snapshot: the
 * panel shows its order page (plans whose disk holds `minDiskBytes`, prices, payment) and later,
 * provisioning the service, passes `reference` back to the module's provisioning hook.
 */
export interface ServerOrderRequest {
  actor: Actor;
  /** The server the snapshot belongs to. */
  source: PanelService;
  snapshot: { id: number; name: string; createdAt: Date; diskBytes: number | null };
  /** The new server's disk must be at least this large (the source's disk when the order began). */
  minDiskBytes: number;
  /** Signed, expiring, single-use; opaque to the panel. Carry it through the order unchanged. */
  reference: string;
  expiresAt: Date;
  /** The customer's language, for a refusal the panel words itself. */
  locale: string;
}

/** Where the customer continues (the panel's order page), or why the panel will not take the order (in `locale`). */
export type ServerOrderAnswer = { continueUrl: string } | { refused: string };

/** The panel's order hook (adapter `orderServerFromSnapshot`). */
export type ServerOrderHook = (request: ServerOrderRequest) => ServerOrderAnswer | Promise<ServerOrderAnswer>;
