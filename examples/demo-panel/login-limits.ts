import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';

export const LOGIN_WINDOW_MS = 15 * 60_000;
/** Failed logins per address and account: guessing one password stops after a handful of tries. */
export const LOGIN_FAILURES_PER_ACCOUNT = 5;
/** Failed logins per address over all accounts: one password tried against many users stops too. */
export const LOGIN_FAILURES_PER_ADDRESS = 20;

/**
 * Rate limits on the login form. Only failures count (a successful login gives its hit back), so people
 * who type their password right are never slowed down. Keyed by address as well as account, so nobody
 * can lock a user out from elsewhere by failing on purpose. In memory: one process, like the sessions.
 */
export function loginRateLimits(opts: {
  accountOf: (req: Request) => string;
  refuse: (req: Request, res: Response, retryAfterSeconds: number) => void;
}): RequestHandler[] {
  const limiter = (limit: number, key: (req: Request) => string) => rateLimit({
    windowMs: LOGIN_WINDOW_MS,
    limit,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: key,
    // The limiter has set Retry-After by now (standard headers).
    handler: (req, res) => opts.refuse(req, res, Number(res.getHeader('Retry-After')) || LOGIN_WINDOW_MS / 1000),
  });
  const address = (req: Request) => ipKeyGenerator(req.ip ?? '');
  return [
    limiter(LOGIN_FAILURES_PER_ADDRESS, address),
    limiter(LOGIN_FAILURES_PER_ACCOUNT, (req) => `${address(req)}|${opts.accountOf(req)}`),
  ];
}
