import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Actor } from '../../module/index.js';
import { chromeText, fill, languageName, pageLanguage, roleLabel, type ChromeText } from './chrome-text.js';
import { findUser, toActor, USERS } from './demo-data.js';
import { escapeHtml, type RenderLayout } from './layout.js';
import { loginRateLimits } from './login-limits.js';
import type { PanelCsrf } from './panel-security.js';
import { SESSION_COOKIE, SESSION_MS, type SessionStore } from './session-store.js';

type Message = (text: ChromeText) => string;

/**
 * Demo login: a server-side session per login, CSRF tokens on the login and logout forms, and a limit
 * on failed logins. Enough to show how a panel hands its logged-in user to the module — a real panel
 * has its own user store and sessions.
 */
export function createAuth(deps: { sessions: SessionStore; csrf: PanelCsrf; layout: RenderLayout }) {
  const { sessions, csrf, layout } = deps;

  function actorOf(req: Request): Actor | null {
    const userId = sessions.userOf(req);
    const found = userId ? findUser(userId) : null;
    return found ? toActor(found) : null;
  }

  function loginPage(req: Request, res: Response, status: number, error: Message | null) {
    const lang = pageLanguage(req, null);
    const text = chromeText(lang);
    const next = safeNext(req.method === 'GET' ? req.query.next : fields(req).next);
    const body = loginForm(text, error?.(text) ?? null, next, csrf.tokenFor(req));
    res.status(status).type('html').send(layout({ req, actor: null, service: null, title: text.loginTitle, body, lang }));
  }

  function router(): Router {
    const r = express.Router();
    const form = express.urlencoded({ extended: false, limit: '8kb' });

    r.get('/login', (req, res) => loginPage(req, res, 200, null));

    r.post('/login', form,
      csrf.verify((req, res) => loginPage(req, res, 403, (t) => t.formExpired)),
      ...loginRateLimits({
        accountOf: loginName,
        refuse: (req, res, seconds) => loginPage(req, res, 429, (t) => fill(t.loginRateLimited, { minutes: Math.ceil(seconds / 60) })),
      }),
      (req, res) => {
        const user = findUser(loginName(req));
        if (!user || !sameText(String(fields(req).password ?? ''), user.password)) {
          loginPage(req, res, 401, (t) => t.loginFailed);
          return;
        }
        // A fresh id at every login: an id planted before it never becomes the user's session.
        sessions.end(req);
        res.cookie(SESSION_COOKIE, sessions.start(user.id), {
          httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: SESSION_MS,
        });
        res.redirect(303, safeNext(fields(req).next));
      });

    r.post('/logout', form,
      csrf.verify((req, res) => {
        const actor = actorOf(req);
        const lang = pageLanguage(req, actor);
        const text = chromeText(lang);
        const body = `<h1>${escapeHtml(text.forbidden)}</h1><p class="alert alert-error" role="alert">${escapeHtml(text.formExpired)}</p>`;
        res.status(403).type('html').send(layout({ req, actor, service: null, title: text.forbidden, body, lang }));
      }),
      (req, res) => {
        sessions.end(req);
        res.clearCookie(SESSION_COOKIE, { path: '/' });
        res.redirect(303, '/login');
      });
    return r;
  }

  return { actorOf, router };
}

const fields = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

/** The account a login form names, as the user store spells it. */
function loginName(req: Request): string {
  return String(fields(req).username ?? '').trim().toLowerCase();
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Only same-site paths: never `//evil.example` or `/\evil.example`. */
function safeNext(value: unknown): string {
  const next = typeof value === 'string' ? value : '';
  return /^\/(?![/\\])/.test(next) ? next : '/services';
}

function loginForm(text: ChromeText, error: string | null, next: string, token: string): string {
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const quick = USERS.map((u) => `<form method="post" action="/login" class="quick-login">
  ${hidden('_csrf', token)}
  ${hidden('username', u.id)}
  ${hidden('password', 'demo')}
  ${hidden('next', next)}
  <button type="submit" class="btn btn-secondary" aria-label="${escapeHtml(fill(text.quickLogin, { name: u.name }))}">${escapeHtml(u.id)}</button>
  <span>${escapeHtml(u.name)} · ${escapeHtml(roleLabel(text, u.role))} · ${escapeHtml(languageName(text, u.locale ?? 'en'))}</span>
</form>`).join('\n');
  return `<section class="card login-card">
<h1>${escapeHtml(text.loginTitle)}</h1>
${error ? `<p class="alert alert-error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login" class="login-form">
  ${hidden('_csrf', token)}
  ${hidden('next', next)}
  <label>${escapeHtml(text.username)} <input name="username" autocomplete="username" required autofocus></label>
  <label>${escapeHtml(text.password)} <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit" class="btn btn-primary">${escapeHtml(text.loginButton)}</button>
</form>
<h2>${escapeHtml(text.demoLogins)}</h2>
<p class="muted">${fill(escapeHtml(text.demoPassword), { password: '<code>demo</code>' })}</p>
<div class="quick-logins">
${quick}
</div>
</section>`;
}
