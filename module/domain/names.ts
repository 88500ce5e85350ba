import { randomBytes } from 'node:crypto';
import { ValidationError } from './errors.js';

export const NAME_MAX = 64;
export const DESCRIPTION_MAX = 255;

// Control characters and the bidirectional overrides that can make a name read differently than it
// sorts; and lone surrogates (\p{Cs} matches only unpaired halves in a `u` pattern), which a JSON body
// can carry but UTF-8 cannot: the database would store U+FFFD instead of what was sent.
const NAME_FORBIDDEN = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u;
// Descriptions may span lines; other control characters are still refused.
const DESCRIPTION_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\p{Cs}\u202A-\u202E\u2066-\u2069]/u;

/** Length in user-perceived code points, so Korean, Japanese and emoji count as one each. */
function codePoints(s: string): number {
  return [...s].length;
}

/** Validates and normalizes a display name: trimmed, NFC, 1–64 characters, no control characters. */
export function normalizeSnapshotName(raw: unknown, field = 'name'): string {
  const value = typeof raw === 'string' ? raw.normalize('NFC').trim() : '';
  if (value.length === 0) throw new ValidationError({ [field]: { code: 'name_required' } });
  if (codePoints(value) > NAME_MAX) {
    throw new ValidationError({ [field]: { code: 'name_too_long', params: { max: NAME_MAX } } });
  }
  if (NAME_FORBIDDEN.test(value)) throw new ValidationError({ [field]: { code: 'name_invalid_characters' } });
  return value;
}

/** Validates an optional description (≤255 characters, line breaks allowed). Empty becomes null. */
export function normalizeDescription(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  const value = String(raw).normalize('NFC').trim();
  if (value.length === 0) return null;
  if (codePoints(value) > DESCRIPTION_MAX) {
    throw new ValidationError({ description: { code: 'description_too_long', params: { max: DESCRIPTION_MAX } } });
  }
  if (DESCRIPTION_FORBIDDEN.test(value)) {
    throw new ValidationError({ description: { code: 'description_invalid_characters' } });
  }
  return value;
}

/**
 * Generates the hypervisor-side name: Proxmox allows `[a-z][a-z0-9_-]+`, at most 40 characters, and
 * reserves `current`/`pending`. The prefix lets reconcile recognise snapshots we created.
 */
export function generateHypervisorName(prefix: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(6);
  const suffix = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  return `${prefix}-${stamp}-${suffix}`;
}

const HV_NAME = /^[a-z][a-z0-9_-]{1,39}$/;
/** Whether a name is acceptable to every driver (the strictest rules, Proxmox's). */
export function isValidHypervisorName(name: string): boolean {
  return HV_NAME.test(name) && name !== 'current' && name !== 'pending';
}

/** Validates the configurable prefix at start-up so generated names always pass. */
export function isValidNamePrefix(prefix: string): boolean {
  return /^[a-z][a-z0-9]{0,11}$/.test(prefix);
}
