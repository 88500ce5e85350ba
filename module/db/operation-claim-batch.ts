import type { Knex } from 'knex';
import { PreparedQuery, type Params } from './prepared-query.js';
import type { Operation, Snapshot } from '../domain/types.js';
import { snapshotOfPrefixed, selectSnapshotPrefixed } from './snapshots-repo.js';
import { claimed, nodeBusy, nodeKeyOf, notDue, OPERATIONS as T, whereDue, type ClaimRequest, type ClaimResult } from './operation-head.js';

type Read = (row: Record<string, unknown>) => Operation;

/** A request whose head was due when read outside the transaction. */
interface Due {
  i: number;
  r: ClaimRequest;
  head: Operation;
}

const backlogOf = (row: Record<string, unknown>): number => Number(row.backlog);

/**
 * The heads (oldest queued or running operation) of the services `ids`, one row each, with how many
 * unfinished operations the service has (`backlog`, the head included); with `at`, each row also
 * counts the other operations on its node under a lease still live at `at` (`on_node`), and
 * carries the operation's snapshot record (columns prefixed, see selectSnapshotPrefixed): read under
 * the service's lock, which every change of a snapshot takes, it is what the run would read next.
 */
function headsQuery(db: Knex, param: Params<'ids' | 'at'>, withLeases: boolean): Knex.QueryBuilder {
  const first = db(T).whereIn('service_id', [param.list('ids')]).whereIn('status', ['queued', 'running']).groupBy('service_id')
    .select(db.raw('MIN(id) as id'), db.raw('COUNT(*) as backlog'));
  const q = db(`${T} as o`).join(first.as('h'), 'h.id', 'o.id').select('o.*', 'h.backlog');
  if (!withLeases) return q;
  const onNode = db(`${T} as n`).where('n.driver', db.ref('o.driver')).where('n.node', db.ref('o.node')).where('n.status', 'running')
    .where('n.locked_until', '>=', param('at')).whereNot('n.id', db.ref('o.id')).count('*');
  return selectSnapshotPrefixed(q.select(onNode.as('on_node')).leftJoin('snapshot_snapshots as s', 's.id', 'o.snapshot_id'), 's');
}

/** The claim's reads, compiled once (a rush makes thousands of claims; knex built each anew). */
class ClaimReads {
  readonly heads: PreparedQuery<'ids' | 'at'>;
  readonly headsWithLeases: PreparedQuery<'ids' | 'at'>;
  readonly lockNodes: PreparedQuery<'ids'>;
  readonly lockServices: PreparedQuery<'ids'>;

  constructor(db: Knex) {
    this.heads = new PreparedQuery(db, (param) => headsQuery(db, param, false));
    this.headsWithLeases = new PreparedQuery(db, (param) => headsQuery(db, param, true));
    this.lockNodes = new PreparedQuery(db, (param) => db('snapshot_nodes').whereIn('node_key', [param.list('ids')]).orderBy('node_key').forUpdate().select('node_key'));
    this.lockServices = new PreparedQuery(db, (param) => db('snapshot_services').whereIn('service_id', [param.list('ids')]).orderBy('service_id')
      .forUpdate().skipLocked().select('service_id'));
  }
}

/** `CASE id WHEN … THEN … END`: one value per claimed row in one UPDATE (just the value for one row). */
function perRow(db: Knex, values: Array<[number, Knex.Value]>): Knex.Value | Knex.Raw {
  if (values.length === 1) return values[0]![1];
  return db.raw(`CASE id ${values.map(() => 'WHEN ? THEN ?').join(' ')} END`, values.flat());
}

/**
 * Claims on MySQL/MariaDB for several services at once, with the guarantees of a claim alone: only
 * a service's head is ever claimed; at most `perNode` operations run on a node under live leases of
 * every worker process, counted under the node's row lock; a service held by a create, restore or
 * terminate is skipped (SKIP LOCKED) and looks again later. The heads are read first, outside any
 * transaction (their nodes are needed to lock; most of a service's looks end there: idle, backoff,
 * held). Then one transaction: the due heads' nodes locked in key order, their services in key order
 * (every batch of every process locks in that order, so batches cannot deadlock each other), the
 * heads read again with each node's live leases, one UPDATE claiming them all, each row still due in
 * its current read. Seven statements a batch, as for a claim alone.
 */
export class MysqlHeadClaims {
  /** Node rows known to exist: inserting one is needed once per node, not once per claim. */
  private readonly nodes = new Set<string>();
  private readonly q: ClaimReads;

  constructor(private readonly db: Knex, private readonly read: Read) {
    this.q = new ClaimReads(db);
  }

  /** One result per request, in order. Two requests for one service are claimed one after the other. */
  async claimMany(requests: ClaimRequest[]): Promise<ClaimResult[]> {
    const seen = new Set<string>();
    const now: number[] = [];
    const later: number[] = [];
    requests.forEach((r, i) => {
      (seen.has(r.serviceId) ? later : now).push(i);
      seen.add(r.serviceId);
    });
    const results: ClaimResult[] = new Array(requests.length);
    const first = await this.claimDistinct(now.map((i) => requests[i]!));
    now.forEach((i, k) => { results[i] = first[k]!; });
    if (later.length) {
      const rest = await this.claimMany(later.map((i) => requests[i]!));
      later.forEach((i, k) => { results[i] = rest[k]!; });
    }
    return results;
  }

  private async claimDistinct(requests: ClaimRequest[]): Promise<ClaimResult[]> {
    const rows = await this.q.heads.rows({ ids: requests.map((r) => r.serviceId), at: null });
    const heads = new Map(rows.map((row) => { const op = this.read(row); return [op.serviceId, { op, backlog: backlogOf(row) }]; }));
    const readAt = new Date();
    const results: ClaimResult[] = [];
    const due: Due[] = [];
    requests.forEach((r, i) => {
      const read = heads.get(r.serviceId);
      const waiting = read ? notDue(read.op, readAt) : { kind: 'idle' as const };
      results.push(waiting ?? nodeBusy(read!.op, read!.backlog));
      if (!waiting) due.push({ i, r, head: read!.op });
    });
    if (!due.length) return results;
    const nodeKeys = [...new Set(due.map((d) => nodeKeyOf(d.head)))].sort();
    const unseen = nodeKeys.filter((k) => !this.nodes.has(k));
    if (unseen.length) {
      await this.db('snapshot_nodes').insert(unseen.map((node_key) => ({ node_key }))).onConflict('node_key').ignore();
      for (const k of unseen) this.nodes.add(k);
    }
    for (const [i, result] of await this.db.transaction((trx) => this.claimLocked(trx, due, nodeKeys))) results[i] = result;
    return results;
  }

  /** The claims of `due` under their nodes' and services' locks; each entry: request index, result. */
  private async claimLocked(trx: Knex.Transaction, due: Due[], nodeKeys: string[]): Promise<Array<[number, ClaimResult]>> {
    // Locks before the first plain read, so that read (the transaction's snapshot) already sees every
    // claim committed on these nodes. SKIP LOCKED on the services: one a create holds looks again later.
    await this.q.lockNodes.rows({ ids: nodeKeys }, trx);
    const serviceIds = due.map((d) => d.r.serviceId).sort();
    const locked = await this.q.lockServices.rows({ ids: serviceIds }, trx);
    const held = new Set(locked.map((row) => String(row.service_id)));
    const mine = due.filter((d) => held.has(d.r.serviceId));
    if (!mine.length) return [];
    const at = new Date();
    // Still the head, still due, still on that node (the read outside the locks may be stale), and the
    // nodes' live leases, in one read.
    const rows = await this.q.headsWithLeases.rows({ ids: mine.map((d) => d.r.serviceId), at }, trx);
    // The start recorded: after this read, so after every finish it counted out (stamped before its
    // commit), never before; the lease, from `at`, is the shorter.
    const startedAt = new Date();
    const now = new Map(rows.map((row) => [String(row.service_id), row]));
    const live = new Map<string, number>();
    for (const row of rows) {
      const key = `${String(row.driver)}/${String(row.node)}`;
      // A head running under a live lease does not count itself; the others on its node count it.
      live.set(key, Math.max(live.get(key) ?? 0, Number(row.on_node ?? 0)));
    }
    const claims: Array<{ d: Due; head: Operation; snapshot: Snapshot | null; backlog: number }> = [];
    // The places left on a node go to the services with the most work left first (in request order
    // among equals): per-service order runs each queue one operation at a time, so the longest must not start last.
    const byBacklog = [...mine].sort((x, y) => Number(now.get(y.r.serviceId)?.backlog ?? 0) - Number(now.get(x.r.serviceId)?.backlog ?? 0));
    for (const d of byBacklog) {
      const row = now.get(d.r.serviceId);
      const current = row && this.read(row);
      if (!current || current.id !== d.head.id || notDue(current, at) || nodeKeyOf(current) !== nodeKeyOf(d.head)) continue;
      const key = nodeKeyOf(current);
      // The node's cap across the batch.
      if ((live.get(key) ?? 0) >= d.r.perNode) continue;
      live.set(key, (live.get(key) ?? 0) + 1);
      claims.push({ d, head: current, snapshot: snapshotOfPrefixed(row), backlog: backlogOf(row) });
    }
    if (!claims.length) return [];
    const ids = claims.map((c) => c.head.id);
    // Due again in the UPDATE itself (InnoDB's current read): a holder whose lease just ran out may
    // have committed its outcome after this transaction's snapshot was taken.
    const n = Number(await trx(T).whereIn('id', ids).where(whereDue(at)).update({
      status: 'running',
      locked_by: perRow(trx, claims.map((c) => [c.head.id, c.d.r.worker])),
      locked_until: perRow(trx, claims.map((c) => [c.head.id, new Date(at.getTime() + c.d.r.leaseMs)])),
      attempts: trx.raw('attempts + 1'), started_at: trx.raw('COALESCE(started_at, ?)', [startedAt]), updated_at: at,
    }));
    let won = claims;
    if (n !== claims.length) {
      // Some were no longer due: the rows holding this batch's tokens (each unique) are the ones won.
      const holders: Array<{ id: number; locked_by: string | null }> = await trx(T).whereIn('id', ids).select('id', 'locked_by');
      const tokens = new Set(holders.map((h) => `${Number(h.id)} ${String(h.locked_by)}`));
      won = claims.filter((c) => tokens.has(`${c.head.id} ${c.d.r.worker}`));
    }
    return won.map((c) => [c.d.i, claimed(c.head, c.d.r, at, { snapshot: c.snapshot, backlog: c.backlog, startedAt })]);
  }
}
