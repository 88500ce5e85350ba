import express from 'express';
import supertest from 'supertest';
import { expect } from 'vitest';
import { createDemoPanel } from '../../../examples/demo-panel/demo-panel.js';
import { SESSION_COOKIE } from '../../../examples/demo-panel/session-store.js';

/** The demo panel's own app as server.ts mounts it, without the snapshot module. */
export function demoApp() {
  const app = express();
  app.use(createDemoPanel({ csrfSecret: 'test-secret-test-secret-test-secret', getModule: () => null }).router());
  return app;
}

/** The CSRF token of the first form on a page. */
export function csrfTokenIn(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  expect(token, 'a CSRF token on the page').toBeTruthy();
  return token!;
}

/** An agent holding the login page's CSRF cookie, and the token that goes with it. */
export async function atLoginPage(app = demoApp()) {
  const agent = supertest.agent(app);
  const token = csrfTokenIn((await agent.get('/login')).text);
  return { agent, token };
}

/** An agent logged in through the login form, and the session cookie it got. */
export async function loggedIn(user: string, app = demoApp()) {
  const { agent, token } = await atLoginPage(app);
  const res = await agent.post('/login').type('form').send({ _csrf: token, username: user, password: 'demo', next: '/services' });
  expect(res.status).toBe(303);
  const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  expect(cookie).toBeTruthy();
  return { agent, sessionCookie: cookie!.split(';')[0]! };
}
