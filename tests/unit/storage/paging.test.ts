/** The run-list window of created_after/created_before: exclusive bounds, exact below the millisecond. */
import { describe, expect, it } from 'vitest';
import { compareKeys, runOrderKey, runOrderWindow } from '../../../shared/storage/paging.js';

/** Whether a run created at `created_at` is listed in the window of `query`, as the stores compare keys. */
function listed(created_at: string, query: { created_after?: string; created_before?: string }): boolean {
  const { above, below } = runOrderWindow(query);
  const key = runOrderKey({ created_at, id: 'run_01' });
  return (
    (above === undefined || compareKeys(key, above) > 0) &&
    (below === undefined || compareKeys(key, below) < 0)
  );
}

describe('runOrderWindow', () => {
  it('lists a run created before a created_before given below the millisecond', () => {
    // The stores keep milliseconds: .604 < .6045, and the bound is exclusive.
    expect(listed('2026-12-05T10:00:55.604Z', { created_before: '2026-12-05T10:00:55.6045Z' })).toBe(true);
    expect(listed('2026-12-05T10:00:55.604Z', { created_before: '2026-12-05T10:00:55.604000001Z' })).toBe(
      true,
    );
    expect(listed('2026-12-05T10:00:55.605Z', { created_before: '2026-12-05T10:00:55.6045Z' })).toBe(false);
    // The same instant with an offset.
    expect(listed('2026-12-05T10:00:55.604Z', { created_before: '2026-12-05T12:00:55.6045+02:00' })).toBe(
      true,
    );
  });

  it('still leaves out a run created at a created_before with zeros below the millisecond', () => {
    expect(listed('2026-12-05T10:00:55.604Z', { created_before: '2026-12-05T10:00:55.6040Z' })).toBe(false);
    expect(listed('2026-12-05T10:00:55.604Z', { created_before: '2026-12-05T10:00:55.604Z' })).toBe(false);
    expect(listed('2026-12-05T10:00:55.603Z', { created_before: '2026-12-05T10:00:55.604Z' })).toBe(true);
  });

  it('leaves out a run created before a created_after given below the millisecond, and lists the next', () => {
    expect(listed('2026-12-05T10:00:55.604Z', { created_after: '2026-12-05T10:00:55.6045Z' })).toBe(false);
    expect(listed('2026-12-05T10:00:55.604Z', { created_after: '2026-12-05T10:00:55.6049999Z' })).toBe(false);
    expect(listed('2026-12-05T10:00:55.605Z', { created_after: '2026-12-05T10:00:55.6045Z' })).toBe(true);
    expect(listed('2026-12-05T10:00:55.605Z', { created_after: '2026-12-05T10:00:55.6049999Z' })).toBe(true);
    expect(listed('2026-12-05T10:00:55.604Z', { created_after: '2026-12-05T10:00:55.604Z' })).toBe(false);
  });

  it('keeps both bounds exact together, and before 1970 too', () => {
    const query = { created_after: '2026-12-05T10:00:55.6035Z', created_before: '2026-12-05T10:00:55.6045Z' };
    expect(listed('2026-12-05T10:00:55.603Z', query)).toBe(false);
    expect(listed('2026-12-05T10:00:55.604Z', query)).toBe(true);
    expect(listed('2026-12-05T10:00:55.605Z', query)).toBe(false);
    expect(listed('1969-12-31T23:59:59.999Z', { created_before: '1969-12-31T23:59:59.9995Z' })).toBe(true);
    expect(listed('1969-12-31T23:59:59.999Z', { created_after: '1969-12-31T23:59:59.9995Z' })).toBe(false);
  });
});
