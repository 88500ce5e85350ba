import { describe, expect, it } from 'vitest';
import { NAME_MAX } from '../../module/domain/names.js';
import { neutralSafetyName, safetySnapshotName } from '../../module/domain/snapshot-service.js';

const AT = new Date(Date.UTC(2025, 0, 6, 18, 30));

describe('the safety snapshot\'s name', () => {
  it('says what it is and when, not the restored snapshot\'s name with a sign before it', () => {
    expect(safetySnapshotName(neutralSafetyName, 'before-php-8.4', AT)).toBe('Before restoring before-php-8.4, 2025-01-06 18:30 UTC');
  });

  it('shortens the restored name, never the time, to fit 64 characters counted as people count them', () => {
    const name = safetySnapshotName(neutralSafetyName, '배'.repeat(NAME_MAX), AT);
    expect([...name]).toHaveLength(NAME_MAX);
    expect(name).toMatch(/^Before restoring 배+…, 2025-01-06 18:30 UTC$/);
    const ja = safetySnapshotName((n, at) => `${n} の復元前の状態（${at.getUTCHours()}:30）`, `${'😀'.repeat(60)}`, AT);
    expect([...ja].length).toBeLessThanOrEqual(NAME_MAX);
    expect(ja.endsWith('… の復元前の状態（18:30）')).toBe(true);
  });
});
