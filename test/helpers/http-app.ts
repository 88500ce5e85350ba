import express from 'express';
import supertest from 'supertest';
import type { SnapshotModule } from '../../module/index.js';

/** An express app that mounts the module exactly as README tells a panel author to. */
export function appFor(mod: SnapshotModule) {
  const app = express();
  app.use(mod.routers.client);
  app.use(mod.routers.admin);
  app.use(mod.routers.api);
  app.use(mod.routers.webhook);
  return app;
}

/** A cookie-keeping client logged in as `actor`, with the CSRF token of a page it loaded. */
export async function sessionFor(mod: SnapshotModule, actor: string, page: string) {
  const agent = supertest.agent(appFor(mod)).set('x-test-actor', actor);
  const res = await agent.get(page);
  const token = /name="_csrf" value="([^"]+)"/.exec(res.text)?.[1] ?? '';
  return { agent, token, page: res };
}
