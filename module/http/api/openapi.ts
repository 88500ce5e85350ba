import express, { type Router } from 'express';
import { z } from 'zod';
import { errorSchema, errorSchemaFor } from './schemas.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * One API route as the router registers it and openapi.json documents it. Route files export a list
 * of these (`openapiRoutes`) and register their handlers from the same entries, so the document
 * cannot drift from the code.
 */
export interface ApiRouteDoc {
  method: HttpMethod;
  /** Express-style path from the host's root, e.g. `/api/v1/services/:serviceId/snapshots/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Served without a panel session (documentation). */
  public?: boolean;
  /** Path parameter schemas by name; a parameter without one is documented as a plain string. */
  params?: Record<string, z.ZodType>;
  /** Query parameters (each key of the object is one; optional keys are optional parameters). */
  query?: z.ZodObject;
  /** Request headers the route reads, documented like `query`. */
  headers?: z.ZodObject;
  /** JSON request body (state-changing calls require `Content-Type: application/json`). */
  body?: z.ZodType;
  /**
   * The body is read as raw bytes and parsed by the handler (the signed webhook), so the JSON body
   * errors of the API (`json_required`, `validation_failed`...) do not apply; `errors` lists its own.
   */
  rawBody?: boolean;
  /** Success statuses and their JSON shapes; no schema means an empty answer (204). */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  /** Error statuses and the stable codes this route adds to the common ones (see `errorCodes`). */
  errors?: Record<number, readonly string[]>;
}

export const OPENAPI_PATH = '/api/v1/openapi.json';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request body', 401: 'No panel session', 403: 'Not allowed', 404: 'Unknown, or not yours (never says which)',
  409: 'Refused in the current state', 413: 'Body too large', 415: 'Not a JSON body', 422: 'Invalid input (see `fields`)',
  429: 'Too many requests; retry later', 500: 'Unexpected error (logged)', 503: 'Database or hypervisor out of reach; retry later',
};

/** Every error code a route can answer with, by status: the common ones plus the route's own. */
export function errorCodes(doc: ApiRouteDoc): Record<number, string[]> {
  const out: Record<number, Set<string>> = {};
  const add = (status: number, ...codes: string[]) => codes.forEach((c) => (out[status] ??= new Set()).add(c));
  add(500, 'internal_error');
  add(503, 'service_unavailable', 'database_busy');
  if (!doc.public) add(401, 'not_logged_in');
  if (doc.path.includes(':serviceId')) add(404, 'service_not_found');
  // A path parameter that is not valid percent-encoding (`/snapshots/%C3%28`) names nothing.
  if (doc.path.includes(':')) add(404, 'route_not_found');
  if (doc.body && !doc.rawBody) {
    add(400, 'invalid_json', 'invalid_body');
    add(413, 'payload_too_large');
    add(415, 'json_required', 'invalid_body');
    add(422, 'validation_failed');
  }
  for (const [status, codes] of Object.entries(doc.errors ?? {})) add(Number(status), ...codes);
  return Object.fromEntries(Object.entries(out).map(([s, codes]) => [s, [...codes].sort()]));
}

/** An empty answer as supertest and most clients read it. */
const EMPTY = z.object({}).strict();

/** The schema a response of `status` must match for this route, or null when the status is undocumented. */
export function documentedResponse(doc: ApiRouteDoc, status: number): z.ZodType | null {
  const ok = doc.responses[status];
  if (ok) return ok.schema ?? EMPTY;
  const codes = errorCodes(doc)[status];
  return codes?.length ? errorSchemaFor(codes as [string, ...string[]]) : null;
}

/** `/a/:b/c` → `/a/{b}/c`. */
function openapiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  // OpenAPI's hint for a union told apart by one field (the webhook's `event`).
  if (schema instanceof z.ZodDiscriminatedUnion) rest.discriminator = { propertyName: schema.def.discriminator };
  return rest;
}

/**
 * Builds the OpenAPI 3.1 document from route lists (one per route file) and named component schemas.
 * Response shapes become `#/components/schemas/*` (named ones keep their name, the rest are named
 * after the operation); request bodies and parameters are inlined.
 */
export function buildOpenApiDocument(routeLists: readonly (readonly ApiRouteDoc[])[], components: Record<string, z.ZodType> = {}) {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries({ Error: errorSchema, ...components })) registry.add(schema, { id });
  const routes = routeLists.flat();
  for (const doc of routes) {
    for (const [status, r] of Object.entries(doc.responses)) {
      if (r.schema && !registry.has(r.schema)) registry.add(r.schema, { id: `${doc.operationId}_${status}` });
    }
  }
  const converted = z.toJSONSchema(registry, { io: 'output', uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' });
  const schemas = Object.fromEntries(Object.entries(converted.schemas).map(([id, s]) => {
    const { $schema: _s, $id: _i, ...rest } = s as Record<string, unknown>;
    return [id, rest];
  }));
  const ref = (schema: z.ZodType) => ({ $ref: `#/components/schemas/${registry.get(schema)!.id}` });

  const paths: Record<string, Record<string, unknown>> = {};
  for (const doc of routes) {
    const parameters = [...doc.path.matchAll(/:(\w+)/g)].map(([, name]) => {
      const { description, ...schema } = jsonSchema(doc.params?.[name!] ?? z.string(), 'input');
      return { name, in: 'path', required: true, ...(description ? { description } : {}), schema };
    });
    for (const [where, object] of [['query', doc.query], ['header', doc.headers]] as const) {
      for (const [name, schema] of Object.entries(object?.shape ?? {})) {
        const { description, ...rest } = jsonSchema(schema as z.ZodType, 'input');
        parameters.push({ name, in: where, required: !(schema as z.ZodType).safeParse(undefined).success, ...(description ? { description } : {}), schema: rest });
      }
    }
    parameters.push({ name: 'lng', in: 'query', required: false, description: "Message language when the panel user has none (then cookie, Accept-Language)", schema: { type: 'string', enum: ['en', 'ko', 'ja'] } });
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(doc.responses)) {
      responses[status] = { description: r.description, ...(r.schema ? { content: { 'application/json': { schema: ref(r.schema) } } } : {}) };
    }
    for (const [status, codes] of Object.entries(errorCodes(doc))) {
      responses[status] = {
        description: `${ERROR_DESCRIPTIONS[Number(status)] ?? 'Error'}. Codes: ${codes.map((c) => `\`${c}\``).join(', ')}`,
        content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { properties: { error: { properties: { code: { enum: codes } } } } }] } } },
      };
    }
    (paths[openapiPath(doc.path)] ??= {})[doc.method] = {
      operationId: doc.operationId, summary: doc.summary, ...(doc.description ? { description: doc.description } : {}),
      tags: [doc.tag], security: doc.public ? [] : [{ panelSession: [] }], parameters,
      ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Panel Snapshots API', version: '1.0.0',
      description: 'Snapshots of VPS services: the same operations, rules and error codes as the Snapshots pages. '
        + 'Every call acts as the logged-in panel user (customers: their own services; resellers: their customers\'; admins: all), '
        + 'except the billing webhook, which is signed by the billing system instead. '
        + 'Errors are `{ "error": { "code", "message", "fields"? } }` with a stable `code` and a message in the user\'s language.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        panelSession: {
          type: 'apiKey', in: 'cookie', name: 'session',
          description: "The host panel's own login session; the panel adapter's getActor decides who is logged in (the cookie name is the panel's).",
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

/** Serves the document at GET /api/v1/openapi.json, without a session (it is documentation). */
export function openapiRouter(document: OpenApiDocument): Router {
  const router = express.Router();
  const body = JSON.stringify(document);
  router.get(OPENAPI_PATH, (_req, res) => {
    res.type('application/json').set('cache-control', 'public, max-age=300').send(body);
  });
  return router;
}
