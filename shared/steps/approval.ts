/** `approval`: waits for approvers' decisions; outcomes `approved`, `rejected`, `timeout`. */
import { z } from 'zod';
import { templated } from '../definition/schema.js';
import { secretReads } from '../engine/inputs.js';
import type { StepResult, WaitSpec } from '../engine/types.js';
import type { ErrorIssue } from '../errors.js';
import { StepError } from '../errors.js';
import { notifyConfig, notifyIssues, notifyPeople, STORED_ADDRESS } from './notify.js';
import { waitDeadline } from './rendered.js';
import { defineStepType, type ResumeRefusal } from './types.js';

export const approvalConfig = z
  .object({
    approvers: z
      .array(z.string().min(3).max(320))
      .min(1)
      .meta({ description: 'Who may decide (e-mail addresses).' }),
    min_approvals: z.int().min(1).default(1),
    message: z.string().max(4000).optional(),
    timeout_s: templated(z.number().positive()).optional(),
    notify: notifyConfig
      .optional()
      .meta({ description: 'Who is told (default: the approvers, when mail is set up) and how.' }),
  })
  .strict();
export type ApprovalConfig = z.infer<typeof approvalConfig>;

/** One decision as it appears in the output: `{approver, decision, comment?, at}`. */
export const approvalRecord = z.object({
  approver: z.string(),
  decision: z.enum(['approved', 'rejected']),
  comment: z.string().optional(),
  at: z.string(),
});
export type ApprovalRecord = z.infer<typeof approvalRecord>;

/** What the wait keeps: the rendered approvers (public) and the decisions so far (progress). */
const approvalWaitData = z.object({ approvers: z.array(z.string()).min(1), min_approvals: z.int().min(1) });
const approvalProgress = z.object({ approvals: z.array(approvalRecord) });

const DECISIONS = new Map<string, ApprovalRecord['decision']>([
  ['approve', 'approved'],
  ['approved', 'approved'],
  ['reject', 'rejected'],
  ['rejected', 'rejected'],
]);
const PAYLOAD_KEYS = new Set(['decision', 'approver', 'comment', 'step_id']);
const MAX_COMMENT = 4000;
const MAX_APPROVER = 320;

/** One person, however the address is cased or padded. */
export const sameApprover = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** The rendered approvers, trimmed; repeats (ignoring case) count once. */
function distinctApprovers(approvers: readonly string[]): string[] {
  const distinct: string[] = [];
  for (const approver of approvers) {
    if (!distinct.some((a) => sameApprover(a, approver))) distinct.push(approver.trim());
  }
  return distinct;
}

function waitingFor(wait: WaitSpec, approvals: ApprovalRecord[]): StepResult {
  return {
    status: 'waiting',
    wait: {
      ...wait,
      timeout_output: { decision: 'timeout', approvals },
      progress: { approvals },
    },
  };
}

/** The decision in a resume payload `{decision, approver, comment?}`, or the issues that stop it. */
function readDecision(
  payload: unknown,
): { decision: ApprovalRecord['decision']; approver: string; comment?: string } | ErrorIssue[] {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return [{ path: '', message: 'the answer must be an object {decision, approver, comment?}' }];
  }
  const body = payload as Record<string, unknown>;
  const issues: ErrorIssue[] = [];
  for (const key of Object.keys(body)) {
    if (!PAYLOAD_KEYS.has(key)) issues.push({ path: key, message: `${key} is not expected in an approval` });
  }
  const decision = typeof body.decision === 'string' ? DECISIONS.get(body.decision.toLowerCase()) : undefined;
  if (decision === undefined) {
    issues.push({ path: 'decision', message: 'decision must be one of approve, reject' });
  }
  const approver = typeof body.approver === 'string' ? body.approver.trim() : '';
  if (approver === '') issues.push({ path: 'approver', message: 'approver is required' });
  else if (approver.length > MAX_APPROVER) {
    issues.push({
      path: 'approver',
      message: `approver must be an e-mail address of at most ${MAX_APPROVER} characters`,
    });
  }
  const comment = body.comment;
  if (
    comment !== undefined &&
    comment !== null &&
    (typeof comment !== 'string' || comment.length > MAX_COMMENT)
  ) {
    issues.push({ path: 'comment', message: `comment must be text of at most ${MAX_COMMENT} characters` });
  }
  if (issues.length > 0 || decision === undefined) return issues;
  return typeof comment === 'string' && comment !== ''
    ? { decision, approver, comment }
    : { decision, approver };
}

export const approval = defineStepType({
  type: 'approval',
  description: 'Asks approvers to approve or reject; outcomes `approved`, `rejected`, `timeout`.',
  config: approvalConfig,
  action: false,
  outcomes: () => ['approved', 'rejected', 'timeout'],
  execute: async (ctx) => {
    const approvers = distinctApprovers(ctx.config.approvers);
    const minApprovals = ctx.config.min_approvals;
    if (minApprovals > approvers.length) {
      throw new StepError(
        'InvalidConfig',
        `min_approvals is ${minApprovals} but there ${approvers.length === 1 ? 'is 1 approver' : `are ${approvers.length} approvers`}`,
        { retryable: false },
      );
    }
    const until = waitDeadline(ctx.now, ctx.config.timeout_s);
    const { message } = ctx.config;
    await notifyPeople(
      ctx,
      {
        kind: 'approval',
        approvers,
        ...(message !== undefined ? { message } : {}),
        ...(until ? { expires_at: until } : {}),
      },
      approvers,
    );
    return waitingFor(
      {
        kind: 'approval',
        ...(until ? { until } : {}),
        timeout_outcome: 'timeout',
        data: {
          approvers,
          min_approvals: minApprovals,
          ...(message !== undefined ? { message } : {}),
        },
      },
      [],
    );
  },
  resume: ({ wait, payload, now }): StepResult | ResumeRefusal => {
    const read = readDecision(payload);
    if (Array.isArray(read)) {
      return {
        status: 422,
        message: `The decision is not valid: ${read.map((i) => i.message).join('; ')}`,
        issues: read,
      };
    }
    const data = approvalWaitData.parse(wait.data);
    const parsedProgress = approvalProgress.safeParse(wait.progress);
    const approvals = parsedProgress.success ? parsedProgress.data.approvals : [];
    const listed = data.approvers.find((a) => sameApprover(a, read.approver));
    if (listed === undefined) {
      return {
        status: 403,
        message: `${read.approver} is not an approver of this step`,
        issues: [{ path: 'approver', message: `${read.approver} is not an approver of this step` }],
      };
    }
    if (approvals.some((a) => sameApprover(a.approver, listed))) {
      return {
        status: 422,
        message: `${listed} has already decided`,
        issues: [{ path: 'approver', message: `${listed} has already decided` }],
      };
    }
    const record: ApprovalRecord = {
      approver: listed,
      decision: read.decision,
      ...(read.comment !== undefined ? { comment: read.comment } : {}),
      at: now.toISOString(),
    };
    const all = [...approvals, record];
    if (record.decision === 'rejected') {
      return { status: 'completed', outcome: 'rejected', output: { decision: 'rejected', approvals: all } };
    }
    if (all.length >= data.min_approvals) {
      return { status: 'completed', outcome: 'approved', output: { decision: 'approved', approvals: all } };
    }
    return waitingFor(wait, all);
  },
  check: (config) => {
    const issues: ErrorIssue[] = [];
    config.approvers.forEach((approver, i) => {
      const first = config.approvers.findIndex((a) => sameApprover(a, approver));
      if (first < i)
        issues.push({
          path: `approvers[${i}]`,
          message: `${approver} is listed twice (also approvers[${first}])`,
        });
    });
    const distinct = distinctApprovers(config.approvers).length;
    const minApprovals = config.min_approvals;
    if (minApprovals > distinct) {
      issues.push({
        path: 'min_approvals',
        message: `min_approvals is ${minApprovals} but only ${distinct} approver${distinct === 1 ? ' is' : 's are'} listed`,
      });
    }
    issues.push(
      ...secretReads(config.approvers, 'approvers', STORED_ADDRESS),
      ...notifyIssues(config.notify),
    );
    return issues;
  },
});
