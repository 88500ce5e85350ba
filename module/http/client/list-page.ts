import type { Request, Response } from 'express';
import type { ListCursor } from '../../db/snapshot-list-page.js';
import type { PanelService } from '../../domain/types.js';
import type { ModuleContext } from '../common/module-context.js';
import { TOKEN_SLOT } from '../common/page-cache.js';
import { csrfTokenOf, renderBody, sendInLayout } from '../common/render.js';
import { listScope, loadListPage } from './list-model.js';

/**
 * The Snapshots page as most requests see it (no flash, no form being corrected): reused from the
 * page cache when the database says nothing the page shows has changed since it was rendered for
 * the same person, language, zone and page. The fingerprint is read before the rows, so a change
 * landing between the two makes the next request render again; it can never leave a stale body.
 */
export async function showListPage(ctx: ModuleContext, req: Request, res: Response, cursor: ListCursor): Promise<void> {
  const scope = await listScope(ctx, req);
  const { panel, actor, caps } = scope;
  const title = req.t('snapshots:title');
  const key = JSON.stringify([panel, actor, req.language, cursor.before ?? null, caps]);
  const fingerprint = ctx.pages.enabled ? await ctx.deps.repos.snapshots.listPageFingerprint(panel.id, panel.planId) : null;
  const token = csrfTokenOf(res);
  const hit = fingerprint ? ctx.pages.get<PanelService>(key, fingerprint) : undefined;
  if (hit) {
    await sendInLayout(ctx, req, res, hit.body(token), { title, service: hit.value });
    return;
  }
  const { service, model } = await loadListPage(ctx, req, cursor, scope);
  const page = { ...model, flash: null, error: null, form: {} };
  const body = fingerprint
    ? ctx.pages.set(key, fingerprint, renderBody(ctx, req, res, 'client/list', page, TOKEN_SLOT), service).body(token)
    : renderBody(ctx, req, res, 'client/list', page);
  await sendInLayout(ctx, req, res, body, { title, service });
}
