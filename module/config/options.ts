import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isValidNamePrefix } from '../domain/names.js';
import { isTimezone } from '../domain/timezones.js';
import type { SnapshotDriver } from '../drivers/contract.js';
import { SIGNATURE_TOLERANCE_SECONDS } from '../http/webhook/signature.js';
import type { PanelAdapter } from './panel-adapter.js';

/**
 * A captured delivery is accepted while its signed timestamp is within the tolerance of the clock,
 * either way: up to twice the tolerance after it first arrived. Its row must outlive that, with a
 * margin for clock drift between panel processes and for a claim still running.
 */
export const MIN_WEBHOOK_EVENT_RETENTION_MS = 2 * SIGNATURE_TOLERANCE_SECONDS * 1000 + 10 * 60_000;

export const SUPPORTED_LOCALES = ['en', 'ko', 'ja'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

const limitsSchema = z.object({
  maxSnapshots: z.number().int().min(0).max(1000),
  maxSchedules: z.number().int().min(0).max(100),
  maxKeep: z.number().int().min(1).max(1000),
  memoryAllowed: z.boolean(),
  schedulesAllowed: z.boolean(),
  /** New servers from a snapshot (when the panel offers them: `orderServerFromSnapshot`). */
  cloneAllowed: z.boolean().default(true),
});

/** Module configuration; every field has a safe default except the secrets. */
export const configSchema = z.object({
  /** Signs CSRF tokens; at least 32 characters. */
  csrfSecret: z.string().min(32),
  /** Shared secret of the billing webhook (HMAC-SHA256); the webhook answers 503 without it. */
  webhookSecret: z.string().min(32).optional(),
  /**
   * How long a webhook delivery's row (its event id and first answer) is kept. Never below the replay
   * window; the default also covers the billing system's own retries, which it signs again.
   */
  webhookEventRetentionMs: z.number().int().min(MIN_WEBHOOK_EVENT_RETENTION_MS).default(30 * 24 * 3600_000),
  /** Limits for plans an admin has not configured. */
  defaultLimits: limitsSchema.default({ maxSnapshots: 3, maxSchedules: 1, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true }),
  /** Prefix of hypervisor-side snapshot names; reconcile recognises ours by it. */
  namePrefix: z.string().refine(isValidNamePrefix, 'lowercase letter then up to 11 lowercase letters or digits').default('psnap'),
  defaultLocale: z.enum(SUPPORTED_LOCALES).default('en'),
  defaultTimezone: z.string().refine(isTimezone, 'an IANA timezone such as Asia/Seoul').default('UTC'),
  /** Set when the panel is served over HTTPS, so cookies are marked Secure. */
  secureCookies: z.boolean().default(false),
  /** Helmet's headers and CSP on the module's routes; turn off only if the panel sets its own. */
  securityHeaders: z.boolean().default(true),
  /**
   * Bytes of rendered Snapshots pages kept for reuse while the database says their data is unchanged
   * (MySQL/MariaDB; SQLite keeps none). 0 turns it off.
   */
  pageCacheBytes: z.number().int().min(0).max(1024 ** 3).default(8 * 1024 ** 2),
  scheduler: z.object({
    /**
     * Run weekly schedules in this process (turn off in web-only processes of a multi-process panel;
     * their schedule changes still reach the shared job store once start() has run).
     */
    enabled: z.boolean().default(true),
    processEveryMs: z.number().int().min(20).default(5_000),
    concurrency: z.number().int().min(1).max(200).default(10),
    /**
     * How long a schedule run's job stays locked to the worker that claimed it: a worker that dies
     * holding jobs leaves them to the others after this long (Agenda's default, under graceMs, so
     * they still run). A run takes milliseconds; lower it to make a crash cost less lateness.
     */
    lockLifetimeMs: z.number().int().min(1_000).default(10 * 60_000),
    /** An occurrence missed while the panel was down still runs if at most this late; else it is recorded as missed. */
    graceMs: z.number().int().min(0).default(15 * 60_000),
    /** How often hypervisor snapshots are compared with the records (0 turns reconcile off). */
    reconcileEveryMs: z.number().int().min(0).default(15 * 60_000),
  }).prefault({}),
  operations: z.object({
    pollMs: z.number().int().min(10).default(1000),
    taskPollMs: z.number().int().min(5).default(1000),
    /**
     * Lease of a running operation (its row and its Agenda job), renewed every third of it by a
     * heartbeat: a worker that dies leaves its operations to the others within one lease. Short for a
     * quick recovery, but every renewal in a third of it must get through (several slow database
     * round trips fit into the two thirds of margin), and the workers' clocks must agree to well
     * under that margin.
     */
    leaseMs: z.number().int().min(100).default(10_000),
    /** Operations one process runs at once; up to every node's cap in a rush (nodes × perNodeConcurrency). */
    concurrency: z.number().int().min(1).max(1000).default(4),
    /** At most this many operations run on one hypervisor node at once, across all worker processes. */
    perNodeConcurrency: z.number().int().min(1).max(64).default(2),
    maxAttempts: z.number().int().min(1).max(50).default(5),
    backoffMs: z.number().int().min(0).default(5_000),
    operationTimeoutMs: z.number().int().min(100).default(30 * 60_000),
    /** A clone copies whole disks: how long its task may run before it is given up (default 6 hours). */
    cloneTimeoutMs: z.number().int().min(100).default(6 * 3600_000),
  }).prefault({}),
  /** New servers from snapshots (offered when the panel implements `orderServerFromSnapshot`). */
  clone: z.object({
    /** How long a customer has from "New server from this snapshot" until the panel provisions the order. */
    handoverTtlMs: z.number().int().min(60_000).max(30 * 24 * 3600_000).default(24 * 3600_000),
  }).prefault({}),
});

export type SnapshotModuleConfig = z.output<typeof configSchema>;
export type SnapshotModuleConfigInput = z.input<typeof configSchema>;

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'a function');

const optionsSchema = z.object({
  db: z.custom<Knex>((v) => typeof v === 'function' && !!(v as { client?: unknown }).client, 'a knex instance'),
  panel: z.object({ getActor: fn, getService: fn, listServices: fn.optional() }).loose(),
  drivers: z.record(z.string(), z.custom<SnapshotDriver>((v) => !!v && typeof (v as SnapshotDriver).create === 'function', 'a snapshot driver')),
  config: configSchema,
  logger: z.custom<Logger>((v) => !!v && typeof (v as Logger).info === 'function').optional(),
});

export interface SnapshotModuleOptions {
  /** The host's knex instance (mysql2 or better-sqlite3). The module never closes it. */
  db: Knex;
  panel: PanelAdapter;
  /** Drivers by name; a service's `target.driver` picks one. */
  drivers: Record<string, SnapshotDriver>;
  config: SnapshotModuleConfigInput;
  logger?: Logger;
}

export interface ValidatedOptions extends Omit<SnapshotModuleOptions, 'config'> {
  config: SnapshotModuleConfig;
}

/** Fails fast, naming every wrong option, instead of failing at the first request. */
export function validateOptions(options: SnapshotModuleOptions): ValidatedOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(options)'}: ${i.message}`);
    throw new TypeError(`createSnapshotModule: invalid options\n${lines.join('\n')}`);
  }
  return { ...options, config: parsed.data.config };
}
