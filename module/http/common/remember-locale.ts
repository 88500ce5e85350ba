import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { UserLocalesRepo } from '../../db/user-locales-repo.js';

/** A language already stored is written again after this long (another process may have changed it). */
const REWRITE_MS = 10 * 60_000;
/** Users remembered per process before the memory starts over (it only saves writes). */
const MAX_REMEMBERED = 10_000;

/**
 * Stores the language of each actor the module serves, so mail about their services is written in
 * it by whichever process sends it. Written when it changed, else at most every REWRITE_MS per user
 * and process; a failed write is logged and the page served all the same.
 */
export function rememberLocale(repo: UserLocalesRepo, logger: Logger): RequestHandler {
  const written = new Map<string, { locale: string; at: number }>();
  return async (req: Request, _res: Response, next: NextFunction) => {
    const actor = req.snapshotActor;
    const last = actor?.locale ? written.get(actor.id) : undefined;
    if (actor?.locale && (!last || last.locale !== actor.locale || Date.now() - last.at > REWRITE_MS)) {
      try {
        await repo.set(actor.id, actor.locale);
        if (written.size >= MAX_REMEMBERED) written.clear();
        written.set(actor.id, { locale: actor.locale, at: Date.now() });
      } catch (err) {
        logger.warn({ err, user: actor.id }, 'snapshot module: could not store the user\'s language');
      }
    }
    next();
  };
}
