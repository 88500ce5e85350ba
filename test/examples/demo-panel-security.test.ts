import supertest, { type Response } from 'supertest';
import { describe, expect, it } from 'vitest';
import { LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_ADDRESS } from '../../examples/demo-panel/login-limits.js';
import { atLoginPage, csrfTokenIn, demoApp, loggedIn } from './helpers/demo-app.js';

/** Headers that keep a page out of frames and its responses from being sniffed into something else. */
function expectSecurityHeaders(res: Response) {
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res.headers['content-security-policy']).toContain("script-src 'self'");
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
}

describe('the demo panel\'s own pages model good security practice', () => {
  it('sends security headers on the login page, the services list and the outbox', async () => {
    const app = demoApp();
    const login = await supertest(app).get('/login');
    expect(login.status).toBe(200);
    expectSecurityHeaders(login);
    expect(login.headers['cache-control']).toBe('no-store');

    const { agent } = await loggedIn('admin', app);
    const services = await agent.get('/services');
    expect(services.status).toBe(200);
    expectSecurityHeaders(services);
    const outbox = await agent.get('/outbox');
    expect(outbox.status).toBe(200);
    expectSecurityHeaders(outbox);
    // The mail previews keep their inline styles; nothing else on the page may use them.
    expect(outbox.headers['content-security-policy']).toContain("style-src-attr 'unsafe-inline'");
    expect(services.headers['content-security-policy']).not.toContain('unsafe-inline');
  });

  it('ends the session on logout: the old cookie no longer opens the services page', async () => {
    const app = demoApp();
    const { agent, sessionCookie } = await loggedIn('alice', app);
    const before = await supertest(app).get('/services').set('Cookie', sessionCookie);
    expect(before.status).toBe(200);

    const token = csrfTokenIn((await agent.get('/services')).text);
    const out = await agent.post('/logout').type('form').send({ _csrf: token });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/login');

    const after = await supertest(app).get('/services').set('Cookie', sessionCookie);
    expect(after.status).toBe(303);
    expect(after.headers.location).toMatch(/^\/login\?next=/);
  });

  it('refuses a login without the CSRF token (403) and accepts it with the token', async () => {
    const { agent, token } = await atLoginPage();
    const form = { username: 'minji', password: 'demo', next: '/services' };
    const bare = await agent.post('/login').set('Accept-Language', 'ko').type('form').send(form);
    expect(bare.status).toBe(403);
    expect(bare.text).toContain('이 양식은 만료되었거나');
    expect(bare.headers['set-cookie']?.toString() ?? '').not.toContain('demo_session=');
    const forged = await agent.post('/login').type('form').send({ ...form, _csrf: `${token.slice(0, -2)}00` });
    expect(forged.status).toBe(403);
    // A token from the page but no cookie (a cross-site form post) is refused too.
    const noCookie = await supertest(demoApp()).post('/login').type('form').send({ ...form, _csrf: token });
    expect(noCookie.status).toBe(403);

    const ok = await agent.post('/login').type('form').send({ ...form, _csrf: token });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe('/services');
  });

  it('refuses a logout without the CSRF token (403): the session stays; with the token it ends', async () => {
    const app = demoApp();
    const { agent, sessionCookie } = await loggedIn('yuki', app);
    // The refusal is in yuki's language, whatever the browser asks for.
    const bare = await agent.post('/logout').set('Accept-Language', 'en').type('form').send({});
    expect(bare.status).toBe(403);
    expect(bare.text).toContain('このフォームは有効期限が切れているか');
    expect((await supertest(app).get('/services').set('Cookie', sessionCookie)).status).toBe(200);

    // The login page's token is bound to "no session": it does not log a session out.
    const { token: anonymous } = await atLoginPage(app);
    expect((await agent.post('/logout').type('form').send({ _csrf: anonymous })).status).toBe(403);

    const token = csrfTokenIn(bare.text);
    const ok = await agent.post('/logout').type('form').send({ _csrf: token });
    expect(ok.status).toBe(303);
    expect((await supertest(app).get('/services').set('Cookie', sessionCookie)).status).toBe(303);
  });

  it('stops repeated wrong passwords with a localized 429, even for the right one', async () => {
    const { agent, token } = await atLoginPage();
    const attempt = (username: string, password: string) => agent.post('/login').set('Accept-Language', 'ko')
      .type('form').send({ _csrf: token, username, password });
    for (let i = 0; i < LOGIN_FAILURES_PER_ACCOUNT; i++) expect((await attempt('minji', `wrong-${i}`)).status).toBe(401);

    const limited = await attempt('minji', 'wrong-again');
    expect(limited.status).toBe(429);
    expect(limited.text).toContain('<html lang="ko">');
    expect(limited.text).toMatch(/로그인에 너무 많이 실패했습니다\. 1?\d분 후에 다시 시도해 주세요\./);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await attempt(' MINJI ', 'demo')).status).toBe(429);
    // Another account from the same address is not locked by minji's failures.
    expect((await attempt('alice', 'demo')).status).toBe(303);
  });

  it('stops one address trying many accounts, and does not count successful logins', async () => {
    const { agent } = await atLoginPage();
    // Each from the login page as it stands: a login changes the session, and with it the token.
    const attempt = async (username: string, password: string) => {
      const token = csrfTokenIn((await agent.get('/login')).text);
      return agent.post('/login').set('Accept-Language', 'ja').type('form').send({ _csrf: token, username, password });
    };
    for (let i = 0; i < 30; i++) expect((await attempt('alice', 'demo')).status).toBe(303);
    for (let i = 0; i < LOGIN_FAILURES_PER_ADDRESS; i++) expect((await attempt(`nobody-${i}`, 'demo')).status).toBe(401);
    const limited = await attempt('nobody-else', 'demo');
    expect(limited.status).toBe(429);
    expect(limited.text).toContain('ログインの失敗が多すぎます。');
  });
});
