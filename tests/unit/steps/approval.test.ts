import { describe, expect, it } from 'vitest';
import type { WaitSpec } from '../../../shared/engine/types.js';
import { approval } from '../../../shared/steps/approval.js';
import { execute, NOW, resume, waitOf } from './context.js';

const two = {
  approvers: ['lead@example.com', 'CFO@example.com', 'ops@example.com'],
  min_approvals: 2,
  message: 'Ship it?',
};
const later = new Date(NOW.getTime() + 60_000);

function decide(config: unknown, wait: WaitSpec, payload: unknown, at = later) {
  return resume(approval, config, wait, payload, at);
}

describe('approval.execute', () => {
  it('waits for the approvers, with a timeout that reports the approvals so far', async () => {
    const wait = await waitOf(approval, { ...two, timeout_s: 60 });
    expect(wait).toEqual({
      kind: 'approval',
      until: later.toISOString(),
      timeout_outcome: 'timeout',
      timeout_output: { decision: 'timeout', approvals: [] },
      data: {
        approvers: ['lead@example.com', 'CFO@example.com', 'ops@example.com'],
        min_approvals: 2,
        message: 'Ship it?',
      },
      progress: { approvals: [] },
    });
  });

  it('counts rendered approvers that differ only in case once, and fails when too few remain', async () => {
    const config = { approvers: ['a@example.com', 'A@Example.com'], min_approvals: 2 };
    await expect(execute(approval, config)).rejects.toMatchObject({
      code: 'InvalidConfig',
      retryable: false,
    });
  });
});

describe('approval.resume', () => {
  it('approves once min_approvals approvers have approved', async () => {
    const wait = await waitOf(approval, two);
    const first = decide(two, wait, { decision: 'approve', approver: 'cfo@example.com', comment: 'fine' });
    expect(first).toMatchObject({
      status: 'waiting',
      wait: {
        kind: 'approval',
        progress: { approvals: [{ approver: 'CFO@example.com', decision: 'approved', comment: 'fine' }] },
        timeout_output: { decision: 'timeout', approvals: [{ approver: 'CFO@example.com' }] },
      },
    });
    if (first.status !== 'waiting') throw new Error('expected waiting');
    const second = decide(two, first.wait, { decision: 'approved', approver: 'lead@example.com' });
    expect(second).toEqual({
      status: 'completed',
      outcome: 'approved',
      output: {
        decision: 'approved',
        approvals: [
          { approver: 'CFO@example.com', decision: 'approved', comment: 'fine', at: later.toISOString() },
          { approver: 'lead@example.com', decision: 'approved', at: later.toISOString() },
        ],
      },
    });
  });

  it('rejects at once on the first rejection', async () => {
    const wait = await waitOf(approval, two);
    expect(
      decide(two, wait, { decision: 'reject', approver: 'ops@example.com', comment: 'not yet' }),
    ).toMatchObject({
      status: 'completed',
      outcome: 'rejected',
      output: { decision: 'rejected', approvals: [{ approver: 'ops@example.com', decision: 'rejected' }] },
    });
  });

  it('refuses someone who is not an approver with 403', async () => {
    const wait = await waitOf(approval, two);
    expect(decide(two, wait, { decision: 'approve', approver: 'mallory@example.com' })).toMatchObject({
      status: 403,
      issues: [{ path: 'approver' }],
    });
  });

  it('refuses a second decision by the same approver with 422', async () => {
    const wait = await waitOf(approval, two);
    const first = decide(two, wait, { decision: 'approve', approver: 'lead@example.com' });
    if (first.status !== 'waiting') throw new Error('expected waiting');
    expect(decide(two, first.wait, { decision: 'reject', approver: 'LEAD@example.com' })).toMatchObject({
      status: 422,
      message: 'lead@example.com has already decided',
    });
  });

  it.each([
    [{ approver: 'lead@example.com' }, 'decision'],
    [{ decision: 'maybe', approver: 'lead@example.com' }, 'decision'],
    [{ decision: 'constructor', approver: 'lead@example.com' }, 'decision'],
    [{ decision: 'approve' }, 'approver'],
    [{ decision: 'approve', approver: 'lead@example.com', comment: 7 }, 'comment'],
    [{ decision: 'approve', approver: 'lead@example.com', note: 'x' }, 'note'],
  ])('refuses the invalid decision %o with 422 at %s', async (payload, path) => {
    const wait = await waitOf(approval, two);
    expect(decide(two, wait, payload)).toMatchObject({ status: 422, issues: [{ path }] });
  });

  it('checks approvers against the list rendered when the wait began', async () => {
    const written = { approvers: ['{{ inputs.manager }}'] };
    const wait: WaitSpec = {
      kind: 'approval',
      timeout_outcome: 'timeout',
      data: { approvers: ['boss@example.com'], min_approvals: 1 },
      progress: { approvals: [] },
    };
    expect(
      decide(written, wait, { decision: 'approve', approver: 'boss@example.com', step_id: 'review' }),
    ).toMatchObject({
      outcome: 'approved',
    });
  });
});

describe('approval.check', () => {
  const check = (config: unknown) => approval.check!(approval.config.parse(config));

  it('accepts a consistent list', () => {
    expect(check(two)).toEqual([]);
  });

  it('reports approvers listed twice, ignoring case', () => {
    expect(check({ approvers: ['a@example.com', 'b@example.com', 'A@example.com'] })).toEqual([
      { path: 'approvers[2]', message: 'A@example.com is listed twice (also approvers[0])' },
    ]);
  });

  it('reports min_approvals above the number of approvers', () => {
    expect(check({ approvers: ['a@example.com'], min_approvals: 2 })).toEqual([
      { path: 'min_approvals', message: 'min_approvals is 2 but only 1 approver is listed' },
    ]);
  });
});
