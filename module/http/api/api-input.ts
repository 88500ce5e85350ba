import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { SnapshotError } from '../../domain/errors.js';
import { parseInput } from '../../domain/parse-input.js';
import { bodyParsers } from '../common/security.js';

/**
 * Parses a JSON body; each field of the wrong shape is reported with `codes[field]` (a code the
 * clients already know for that field) or `field_invalid`.
 */
export function apiBody<T extends z.ZodType>(schema: T, req: Request, codes: Record<string, string> = {}): z.output<T> {
  return parseInput(schema, req.body, { whole: 'body', codes: Object.fromEntries(Object.entries(codes).map(([f, code]) => [f, { code }])) });
}

/**
 * State-changing calls need a JSON body: a cross-site form cannot send one without a CORS preflight,
 * which the module never grants.
 */
export function jsonBody(): ((req: Request, res: Response, next: NextFunction) => void)[] {
  const jsonOnly = (req: Request, _res: Response, next: NextFunction) =>
    next(req.is('application/json') ? undefined : new SnapshotError('json_required', 415));
  return [jsonOnly, ...bodyParsers()];
}
