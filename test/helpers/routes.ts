import type { Router } from 'express';
import { expect } from 'vitest';
import { documentedResponse, type ApiRouteDoc } from '../../module/http/api/openapi.js';

export interface RegisteredRoute {
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/**
 * Every route an express router (and the routers nested in it) registers, as `METHOD path`. The
 * module mounts its routers at the root, so nested paths are already full paths.
 */
export function registeredRoutes(router: Router): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) out.push({ method: method.toUpperCase(), path: layer.route.path });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((router as unknown as { stack: Layer[] }).stack);
  return out;
}

export const routeKey = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;

/**
 * Asserts an API answer is one the route documents: its status is listed and the body matches that
 * status's schema exactly (parsing strips undocumented keys, so an extra field fails the equality).
 */
export function expectDocumented(doc: ApiRouteDoc, res: { status: number; body: unknown }): void {
  const schema = documentedResponse(doc, res.status);
  expect(schema, `${doc.operationId} answered ${res.status} ${JSON.stringify(res.body)}, which openapi.json does not document`).not.toBeNull();
  const parsed = schema!.safeParse(res.body);
  expect(parsed.success ? null : parsed.error.issues, `${doc.operationId} ${res.status} body ${JSON.stringify(res.body)}`).toBeNull();
  expect(parsed.data).toEqual(res.body);
}
