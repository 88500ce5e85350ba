import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import type { Actor } from '../../module/index.js';
import { chromeText, fill, languageName, pageLanguage, roleLabel, type ChromeText } from './chrome-text.js';
import { findUser, toActor, USERS } from './demo-data.js';
import { escapeHtml, type RenderLayout } from './layout.js';

export const SESSION_COOKIE = 'demo_session';
const SESSION_HOURS = 12;

/**
 * Demo login: the cookie holds `user.expiry.signature`, signed with HMAC-SHA256. Enough to show how a
 * panel hands its logged-in user to the module — a real panel has its own sessions.
 */
export function createAuth(secret: string) {
  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');

  function actorOf(req: Request): Actor | null {
    const raw: unknown = (req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
    if (typeof raw !== 'string') return null;
    const [user, expiry, signature, ...rest] = raw.split('.');
    if (!user || !expiry || !signature || rest.length) return null;
    const expected = Buffer.from(sign(`${user}.${expiry}`));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    if (!(Number(expiry) > Date.now())) return null;
    const found = findUser(user);
    return found ? toActor(found) : null;
  }

  function router(layout: RenderLayout): Router {
    const r = express.Router();
    const loginPage = (req: Request, failed: boolean, next: string) => {
      const lang = pageLanguage(req, null);
      const text = chromeText(lang);
      return layout({ req, actor: null, service: null, title: text.loginTitle, body: loginForm(text, failed, next), lang });
    };

    r.get('/login', (req, res) => {
      res.type('html').send(loginPage(req, false, safeNext(req.query.next)));
    });

    r.post('/login', express.urlencoded({ extended: false, limit: '8kb' }), (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      const user = findUser(String(body.username ?? '').trim().toLowerCase());
      if (!user || !sameText(String(body.password ?? ''), user.password)) {
        res.status(401).type('html').send(loginPage(req, true, next));
        return;
      }
      const expiry = String(Date.now() + SESSION_HOURS * 3_600_000);
      res.cookie(SESSION_COOKIE, `${user.id}.${expiry}.${sign(`${user.id}.${expiry}`)}`, {
        httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: SESSION_HOURS * 3_600_000,
      });
      res.redirect(303, next);
    });

    r.post('/logout', (_req, res) => {
      res.clearCookie(SESSION_COOKIE, { path: '/' });
      res.redirect(303, '/login');
    });
    return r;
  }

  return { actorOf, router };
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

function loginForm(text: ChromeText, failed: boolean, next: string): string {
  const quick = USERS.map((u) => `<form method="post" action="/login" class="quick-login">
  <input type="hidden" name="username" value="${escapeHtml(u.id)}">
  <input type="hidden" name="password" value="demo">
  <input type="hidden" name="next" value="${escapeHtml(next)}">
  <button type="submit" class="btn btn-secondary" aria-label="${escapeHtml(fill(text.quickLogin, { name: u.name }))}">${escapeHtml(u.id)}</button>
  <span>${escapeHtml(u.name)} · ${escapeHtml(roleLabel(text, u.role))} · ${escapeHtml(languageName(text, u.locale ?? 'en'))}</span>
</form>`).join('\n');
  return `<section class="card login-card">
<h1>${escapeHtml(text.loginTitle)}</h1>
${failed ? `<p class="alert alert-error" role="alert">${escapeHtml(text.loginFailed)}</p>` : ''}
<form method="post" action="/login" class="login-form">
  <input type="hidden" name="next" value="${escapeHtml(next)}">
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
