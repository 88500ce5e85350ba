import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Page, Paged } from '../../db/admin-queries.js';
import { NotFoundError, ValidationError, type SnapshotError } from '../../domain/errors.js';
import { SNAPSHOT_STATUSES } from '../../domain/status.js';
import { actionContext, loadService, parseId } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import {
  ADMIN_BASE, adminFormatters, checkbox, currentPath, FIELD, optionalText, pageOf, pageQuery, pager, parseInput, parseOrDefault, redirectBack, renderAdmin, safeBack, serviceNames,
} from './admin-kit.js';
import { itemPath, OPERATION_KINDS, OPERATION_STATUSES, presentItemAction, presentOperationBrowser, presentSnapshotBrowser } from './browser-presenter.js';
import type { AdminPageDeps } from './page-deps.js';

const blankAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const choice = <T extends readonly [string, ...string[]]>(values: T) => z.preprocess(blankAsUndefined, z.enum(values).optional());
const common = { serviceId: optionalText(64), customerId: optionalText(64) };
const snapshotQuery = z.object({ status: choice(SNAPSHOT_STATUSES), problem: choice(['errors', 'unmanaged', 'stuck'] as const), ...common }).extend(pageQuery.shape);
const operationQuery = z.object({
  status: choice(OPERATION_STATUSES), kind: choice(OPERATION_KINDS), problem: choice(['errors', 'stuck'] as const), ...common,
}).extend(pageQuery.shape);
const QUERY_CODES = Object.fromEntries(['status', 'kind', 'problem', 'before', 'after', 'size'].map((f) => [f, { code: FIELD.choice }]));

const adoptForm = z.object({ name: z.string().max(20_000).optional(), allowOverLimit: checkbox, back: z.string().optional() });
const confirmForm = z.object({ confirm: checkbox, back: z.string().optional() });

/** Query of the admin page a form came back from (`back`), so a refused action re-renders that same view. */
function queryOf(req: Request): Record<string, string> {
  const back = safeBack((req.body as { back?: unknown } | undefined)?.back, '');
  return back ? Object.fromEntries(new URL(back, 'http://x').searchParams) : {};
}

/** The snapshots and operations browser, and the admin's actions on their rows. */
export function browserRoutes(router: Router, ctx: ModuleContext, deps: AdminPageDeps): void {
  const stuckBefore = () => new Date(Date.now() - ctx.config.operations.operationTimeoutMs);

  /**
   * One browser page (snapshots or operations): its filters parsed from `query` (invalid ones show
   * the defaults and say why), one page of rows, rendered with `refusal` when an action was refused.
   */
  const browser = <S extends z.ZodType<{ before?: number; after?: number; size: number }>, R>(page: {
    schema: S; view: 'items' | 'operations'; nav: 'items' | 'operations'; load(f: z.output<S>, stuckBefore: Date, p: Page): Promise<Paged<R>>;
    present(req: Request, rows: R[], f: z.output<S>): Promise<Record<string, unknown>>; back(req: Request): string;
  }) => async (req: Request, res: Response, query: unknown, refusal?: SnapshotError) => {
    const parsed = parseOrDefault(() => parseInput(page.schema, query, QUERY_CODES), () => parseInput(page.schema, {}));
    const f = parsed.value;
    const paged: Paged<R> = parsed.error ? { rows: [], older: null, newer: null } : await page.load(f, stuckBefore(), pageOf(f));
    await renderAdmin(ctx, req, res, page.view, page.view, {
      ...(await page.present(req, paged.rows, f)), pager: pager(req, paged), back: page.back(req),
    }, { title: req.t(`admin:nav.${page.nav}`), error: refusal ?? parsed.error });
  };
  const showSnapshots = browser({
    schema: snapshotQuery, view: 'items', nav: 'items', back: currentPath,
    load: (f, stuck, p) => deps.queries.snapshots({ ...f, stuckBefore: stuck }, p),
    present: async (req, rows, f) => presentSnapshotBrowser(req.t, adminFormatters(ctx, req), { rows, filter: f, names: await serviceNames(ctx, rows.map((r) => r.serviceId)) }),
  });
  const showOperations = browser({
    schema: operationQuery, view: 'operations', nav: 'operations',
    back: (req) => (req.method === 'GET' ? currentPath(req) : `${ADMIN_BASE}/operations`),
    load: (f, stuck, p) => deps.queries.operations({ ...f, stuckBefore: stuck }, p),
    present: async (req, rows, f) => {
      const [names, snapshots] = await Promise.all([
        serviceNames(ctx, rows.map((r) => r.serviceId)), deps.queries.snapshotNames(rows.flatMap((r) => (r.snapshotId === null ? [] : [r.snapshotId]))),
      ]);
      return presentOperationBrowser(req.t, adminFormatters(ctx, req), { rows, filter: f, names, snapshots });
    },
  });

  router.get(`${ADMIN_BASE}/items`, deps.csrf.issue, async (req, res) => showSnapshots(req, res, req.query));
  router.get(`${ADMIN_BASE}/operations`, deps.csrf.issue, async (req, res) => showOperations(req, res, req.query));

  router.post(`${ADMIN_BASE}/operations/:id/retry`, ...deps.post, deps.formAction(async (req, res) => {
    const op = await ctx.deps.repos.operations.get(parseId(req.params.id as string));
    if (!op) throw new NotFoundError('operation');
    const service = await loadService(ctx, op.serviceId);
    await deps.actions.retryOperation(service, op.id, actionContext(req));
    redirectBack(req, res, `${ADMIN_BASE}/operations`, 'retried');
  }, (req, res, error) => showOperations(req, res, queryOf(req), error)));

  /** The snapshot of an item route and its service as the panel knows it. */
  async function item(req: Request) {
    const s = await ctx.deps.repos.snapshots.get(parseId(req.params.id as string));
    if (!s) throw new NotFoundError('snapshot');
    return { s, service: await loadService(ctx, s.serviceId) };
  }

  for (const action of ['adopt', 'delete', 'remove'] as const) {
    const show = async (req: Request, res: Response, extra: { form?: Record<string, unknown>; error?: SnapshotError } = {}) => {
      const { s, service } = await item(req);
      const quota = action === 'adopt' ? await deps.actions.adoptQuota(service) : undefined;
      await renderAdmin(ctx, req, res, 'item-action', 'items', {
        ...presentItemAction(req.t, adminFormatters(ctx, req), s, action, { quota, form: extra.form }),
        back: safeBack(req.query.back ?? (req.body as { back?: unknown } | undefined)?.back, `${ADMIN_BASE}/items`),
      }, { title: req.t(`admin:actions.${action}`), error: extra.error });
    };
    router.get(itemPath(0, action).replace('/0/', '/:id/'), deps.csrf.issue, async (req, res) => show(req, res));
    router.post(itemPath(0, action).replace('/0/', '/:id/'), ...deps.post, deps.formAction(async (req, res) => {
      const { s, service } = await item(req);
      const ctxA = actionContext(req);
      if (action === 'adopt') {
        const form = parseInput(adoptForm, req.body);
        await deps.actions.adopt(service, s.id, { name: form.name, allowOverLimit: form.allowOverLimit }, ctxA);
      } else {
        const form = parseInput(confirmForm, req.body);
        if (!form.confirm) throw new ValidationError({ confirm: { code: 'confirm_required' } });
        if (action === 'delete') await deps.actions.deleteUnmanaged(service, s.id, ctxA);
        else await deps.actions.forceRemove(service, s.id, ctxA);
      }
      redirectBack(req, res, `${ADMIN_BASE}/items`, { adopt: 'adopted', delete: 'delete_scheduled', remove: 'removed' }[action]);
    }, (req, res, error) => show(req, res, { form: req.body ?? {}, error })));
  }
}
