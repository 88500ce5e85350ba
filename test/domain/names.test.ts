import { describe, it, expect } from 'vitest';
import {
  normalizeSnapshotName,
  normalizeDescription,
  generateHypervisorName,
  isValidHypervisorName,
  isValidNamePrefix,
  NAME_MAX,
  DESCRIPTION_MAX,
} from '../../module/domain/names.js';
import { ValidationError } from '../../module/domain/errors.js';

/** Runs fn, expects a ValidationError, and returns it. */
function validationErrorOf(fn: () => unknown): ValidationError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  const err = caught as ValidationError;
  expect(err.code).toBe('validation_failed');
  expect(err.status).toBe(422);
  return err;
}

const EMOJI = '\u{1F600}'; // 😀, two UTF-16 code units

describe('normalizeSnapshotName', () => {
  it('limits are 64 for names and 255 for descriptions', () => {
    expect(NAME_MAX).toBe(64);
    expect(DESCRIPTION_MAX).toBe(255);
  });

  it('accepts Korean and Japanese names unchanged', () => {
    expect(normalizeSnapshotName('주간 백업 스냅샷')).toBe('주간 백업 스냅샷');
    expect(normalizeSnapshotName('毎週のバックアップ')).toBe('毎週のバックアップ');
  });

  it('trims surrounding whitespace (including ideographic space) but keeps inner spaces', () => {
    expect(normalizeSnapshotName('  before upgrade \t')).toBe('before upgrade');
    expect(normalizeSnapshotName('\u3000毎週のバックアップ\u3000')).toBe('毎週のバックアップ');
  });

  it('normalizes to NFC', () => {
    const decomposed = 'caf' + 'e\u0301';
    const result = normalizeSnapshotName(decomposed);
    expect(result).toBe('caf\u00e9');
    expect(result).toHaveLength(4);
    // Hangul typed as conjoining jamo is composed to the precomposed syllable.
    expect(normalizeSnapshotName('\u1112\u1161\u11AB')).toBe('\uD55C'); // 한
  });

  it('accepts exactly 64 code points, ASCII or CJK', () => {
    const ascii = 'a'.repeat(64);
    expect(normalizeSnapshotName(ascii)).toBe(ascii);
    const korean = '백'.repeat(64);
    expect(normalizeSnapshotName(korean)).toBe(korean);
  });

  it('counts an emoji (two UTF-16 units) as one character: 64 emoji are accepted', () => {
    const name = EMOJI.repeat(64);
    expect(name.length).toBe(128);
    expect(normalizeSnapshotName(name)).toBe(name);
  });

  it('counts length after NFC: 64 decomposed é (128 code points) are accepted', () => {
    const name = 'e\u0301'.repeat(64);
    expect(normalizeSnapshotName(name)).toBe('\u00e9'.repeat(64));
  });

  it('refuses 65 characters with name_too_long and the max as a param', () => {
    for (const name of ['a'.repeat(65), EMOJI.repeat(65), '백'.repeat(65)]) {
      const err = validationErrorOf(() => normalizeSnapshotName(name));
      expect(err.fields).toEqual({ name: { code: 'name_too_long', params: { max: 64 } } });
    }
  });

  it('measures length after trimming', () => {
    const name = `  ${'a'.repeat(64)}  `;
    expect(normalizeSnapshotName(name)).toBe('a'.repeat(64));
  });

  it.each([
    ['empty', ''],
    ['spaces', '   '],
    ['tabs and newlines', '\t\n \r\n'],
    ['ideographic space', '\u3000\u3000'],
  ])('refuses a %s name with name_required', (_label, raw) => {
    const err = validationErrorOf(() => normalizeSnapshotName(raw));
    expect(err.fields).toEqual({ name: { code: 'name_required' } });
  });

  it.each([
    ['number', 42],
    ['null', null],
    ['undefined', undefined],
    ['object', { toString: () => 'sneaky' }],
    ['array', ['name']],
  ])('refuses a non-string (%s)', (_label, raw) => {
    const err = validationErrorOf(() => normalizeSnapshotName(raw));
    expect(Object.keys(err.fields)).toEqual(['name']);
  });

  it.each([
    ['NUL', '\u0000'],
    ['newline', '\n'],
    ['tab', '\t'],
    ['carriage return', '\r'],
    ['DEL', '\u007f'],
    ['C1 control', '\u0085'],
    ['bell', '\u0007'],
    ['right-to-left override', '\u202E'],
    ['left-to-right embedding', '\u202A'],
    ['first strong isolate', '\u2068'],
    ['lone high surrogate', '\ud800'],
    ['lone low surrogate', '\udc00'],
  ])('refuses an inner %s with name_invalid_characters', (_label, ch) => {
    const err = validationErrorOf(() => normalizeSnapshotName(`before${ch}upgrade`));
    expect(err.fields).toEqual({ name: { code: 'name_invalid_characters' } });
  });

  it('reports the error under the given field name', () => {
    const err = validationErrorOf(() => normalizeSnapshotName('', 'newName'));
    expect(err.fields).toEqual({ newName: { code: 'name_required' } });
    expect(err.params).toEqual({ count: 1 });
  });
});

describe('normalizeDescription', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['empty string', ''],
    ['whitespace only', '  \n\t '],
  ])('turns %s into null', (_label, raw) => {
    expect(normalizeDescription(raw)).toBeNull();
  });

  it('trims and NFC-normalizes', () => {
    expect(normalizeDescription('  Before the cafe\u0301 upgrade  ')).toBe('Before the caf\u00e9 upgrade');
  });

  it('accepts exactly 255 characters, counting emoji as one', () => {
    expect(normalizeDescription('d'.repeat(255))).toBe('d'.repeat(255));
    expect(normalizeDescription(EMOJI.repeat(255))).toBe(EMOJI.repeat(255));
    expect(normalizeDescription('설'.repeat(255))).toBe('설'.repeat(255));
  });

  it('refuses 256 characters with description_too_long', () => {
    for (const raw of ['d'.repeat(256), EMOJI.repeat(256)]) {
      const err = validationErrorOf(() => normalizeDescription(raw));
      expect(err.fields).toEqual({ description: { code: 'description_too_long', params: { max: 255 } } });
    }
  });

  it('refuses a lone surrogate (UTF-8 cannot store it) but keeps emoji, whose surrogates are paired', () => {
    const err = validationErrorOf(() => normalizeDescription('half \ud83d of an emoji'));
    expect(err.fields).toEqual({ description: { code: 'description_invalid_characters' } });
    expect(normalizeDescription(`whole ${EMOJI} emoji`)).toBe(`whole ${EMOJI} emoji`);
    expect(normalizeSnapshotName(`${EMOJI} nightly`)).toBe(`${EMOJI} nightly`);
  });

  it('allows line breaks inside', () => {
    const text = 'Line one\nLine two\r\nLine three';
    expect(normalizeDescription(text)).toBe(text);
    expect(normalizeDescription('주간 백업\n毎週のバックアップ')).toBe('주간 백업\n毎週のバックアップ');
  });

  it.each([
    ['bell', '\u0007'],
    ['NUL', '\u0000'],
    ['escape', '\u001b'],
    ['DEL', '\u007f'],
    ['right-to-left override', '\u202E'],
  ])('refuses an inner %s with description_invalid_characters', (_label, ch) => {
    const err = validationErrorOf(() => normalizeDescription(`hello${ch}world`));
    expect(err.fields).toEqual({ description: { code: 'description_invalid_characters' } });
  });
});

describe('generateHypervisorName', () => {
  const now = new Date('2024-05-01T12:34:56.789Z');

  it('produces a valid hypervisor name starting with the prefix', () => {
    const name = generateHypervisorName('psnap', now);
    expect(name.startsWith('psnap-')).toBe(true);
    expect(name.length).toBeLessThanOrEqual(40);
    expect(isValidHypervisorName(name)).toBe(true);
    expect(name).toMatch(/^[a-z][a-z0-9_-]+$/);
  });

  it('stays valid and within 40 characters with the longest and shortest allowed prefixes', () => {
    for (const prefix of ['a', 'abcdefghijkl']) {
      expect(isValidNamePrefix(prefix)).toBe(true);
      for (const date of [now, new Date('1999-12-31T23:59:59.999Z'), new Date('2099-01-01T00:00:00Z')]) {
        const name = generateHypervisorName(prefix, date);
        expect(name.startsWith(`${prefix}-`)).toBe(true);
        expect(name.length).toBeLessThanOrEqual(40);
        expect(isValidHypervisorName(name)).toBe(true);
      }
    }
  });

  it('generates 200 distinct names for the same instant', () => {
    const names = Array.from({ length: 200 }, () => generateHypervisorName('psnap', now));
    expect(new Set(names).size).toBe(200);
    for (const n of names) expect(isValidHypervisorName(n)).toBe(true);
  });
});

describe('isValidHypervisorName', () => {
  it.each(['psnap-20240501123456-abc123', 'ab', 'snap_1', 'a'.repeat(40), 'x-y_z9'])('accepts %s', (name) => {
    expect(isValidHypervisorName(name)).toBe(true);
  });

  it.each([
    ['reserved current', 'current'],
    ['reserved pending', 'pending'],
    ['uppercase', 'Psnap-1'],
    ['inner uppercase', 'psnapX'],
    ['leading digit', '1snap'],
    ['leading dash', '-snap'],
    ['41 characters', 'a'.repeat(41)],
    ['empty', ''],
    ['single character', 'a'],
    ['space', 'ps nap'],
    ['dot', 'ps.nap'],
    ['non-ASCII', 'snäp'],
  ])('refuses %s', (_label, name) => {
    expect(isValidHypervisorName(name)).toBe(false);
  });
});

describe('isValidNamePrefix', () => {
  it.each(['psnap', 'a', 'snap2', 'abcdefghijkl'])('accepts %s', (prefix) => {
    expect(isValidNamePrefix(prefix)).toBe(true);
  });

  it.each([
    ['uppercase', 'Psnap'],
    ['leading digit', '1abc'],
    ['dash', 'a-b'],
    ['underscore', 'a_b'],
    ['13 characters', 'abcdefghijklm'],
    ['empty', ''],
    ['reserved-looking but too long', 'currentpendingx'],
  ])('refuses %s', (_label, prefix) => {
    expect(isValidNamePrefix(prefix)).toBe(false);
  });
});
