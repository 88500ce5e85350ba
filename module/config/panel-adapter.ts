import type { Request } from 'express';
import type { CloneReport } from '../domain/clone/clone-report.js';
import type { ServerOrderAnswer, ServerOrderRequest } from '../domain/clone/server-order.js';
import type { Actor, PanelService } from '../domain/types.js';

/** Something to tell a customer, with subject and body already in their language. */
export interface PanelNotification {
  type: string;
  serviceId: string;
  /** The service owner's id: whom the panel should mail. */
  recipientId: string;
  locale: string;
  subject: string;
  /** Plain-text body. */
  body: string;
  /** The same message as a small self-contained HTML document (inline styles), for HTML mail. */
  html: string;
  params: Record<string, string | number>;
}

/** What the module hands the panel's layout hook so its pages sit inside the panel's chrome. */
export interface LayoutContext {
  req: Request;
  actor: Actor;
  service: PanelService | null;
  title: string;
  /** The module's rendered page content (already escaped HTML). */
  body: string;
  /** Stylesheets and scripts the page needs; link them in <head>. */
  stylesheets: string[];
  scripts: string[];
  lang: string;
  /** The Snapshots entry for `service`'s menu (what `menuItem` returns), so the layout can mark it active. */
  menuItem: { label: string; href: string } | null;
}

/**
 * The only code a panel writes: how to find the acting user and a service, and optionally plans,
 * mail and layout.
 */
export interface PanelAdapter {
  /** The logged-in user of a request, or null when nobody is logged in. */
  getActor(req: Request): Actor | null | Promise<Actor | null>;
  /** A service by id, or null when unknown. */
  getService(serviceId: string): PanelService | null | Promise<PanelService | null>;
  /**
   * The services `actor` may see, for the All snapshots page (GET /snapshots and its API twin); without
   * it that page is not offered. The module still checks each one against the actor, so a service that
   * is not theirs is left out whatever this returns.
   */
  listServices?(actor: Actor): PanelService[] | Promise<PanelService[]>;
  /** Plans for the admin pages: id and display name. */
  listPlans?(): { id: string; name: string }[] | Promise<{ id: string; name: string }[]>;
  /** Sends a notification (mail, in-panel message). Failures are logged, never block an action. */
  notify?(notification: PanelNotification): void | Promise<void>;
  /** Wraps a module page in the panel's layout; without it the module's own minimal layout is used. */
  renderLayout?(ctx: LayoutContext): string | Promise<string>;
  /**
   * "New server from this snapshot": the panel's order flow for a new server whose disk is made from
   * the snapshot. Return where the customer continues (an order page offering plans whose disk holds
   * `minDiskBytes`), or `{ refused }` with a reason in `request.locale`. Keep `request.reference` with
   * the order and pass it to `hooks.provisionedFromSnapshot` (or the webhook event
   * `service.provisioned_from_snapshot`) once the new service exists. Without this hook the feature
   * is not offered.
   */
  orderServerFromSnapshot?(request: ServerOrderRequest): ServerOrderAnswer | Promise<ServerOrderAnswer>;
  /** Told whenever a new server from a snapshot moves on (queued, running, succeeded, failed). Errors are ignored. */
  onCloneProgress?(report: CloneReport): void | Promise<void>;
  /** Where to send someone who is not logged in (HTML pages); without it they get a 401 page. */
  loginUrl?(req: Request): string;
}
