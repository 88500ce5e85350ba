import { randomBytes } from 'node:crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'demo_session';
export const SESSION_MS = 12 * 3_600_000;

interface Session {
  userId: string;
  expiresAt: number;
}

/**
 * Server-side sessions: the cookie carries only a random id, so logging out (deleting the entry) ends
 * the session for good — a self-contained signed cookie would stay valid until it expires. Kept in
 * memory, so a restart logs everyone out; a panel with several processes needs a shared store.
 */
export function createSessionStore(now: () => number = Date.now) {
  const sessions = new Map<string, Session>();

  const cookieOf = (req: Request): string | null => {
    const raw: unknown = (req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
    return typeof raw === 'string' ? raw : null;
  };

  /** The request's live session id, or null. */
  function idOf(req: Request): string | null {
    const id = cookieOf(req);
    const session = id === null ? undefined : sessions.get(id);
    if (!id || !session) return null;
    if (session.expiresAt > now()) return id;
    sessions.delete(id);
    return null;
  }

  return {
    idOf,
    userOf: (req: Request): string | null => {
      const id = idOf(req);
      return id && (sessions.get(id)?.userId ?? null);
    },
    /** A new session id; expired ones are dropped here so abandoned sessions do not pile up. */
    start(userId: string): string {
      const at = now();
      for (const [id, s] of sessions) if (s.expiresAt <= at) sessions.delete(id);
      const id = randomBytes(32).toString('base64url');
      sessions.set(id, { userId, expiresAt: at + SESSION_MS });
      return id;
    },
    /** Ends the request's session, whether or not it is still live. */
    end(req: Request): void {
      const id = cookieOf(req);
      if (id) sessions.delete(id);
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
