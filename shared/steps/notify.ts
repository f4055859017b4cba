/**
 * `notify` on `form` and `approval` (CONTRACT §8): who is told that the step waits, and how. The
 * step hands the wait to the notifier port when it starts waiting; what the notifier could not
 * deliver becomes a `step.notify_failed` event, never a failure of the step.
 */
import { z } from 'zod';
import { templated } from '../definition/schema.js';
import { secretReads } from '../engine/inputs.js';
import { EventType } from '../engine/types.js';
import type { ErrorIssue } from '../errors.js';
import type { WaitNotice } from '../ports/index.js';
import type { StepExecutionContext } from './types.js';

/** An address people can be mailed at: one `@`, no spaces (the mail service checks the rest). */
export const EMAIL_ADDRESS = /^[^@\s<>"]+@[^@\s<>"]+$/;

const emailAddress = z.string().max(320).regex(EMAIL_ADDRESS, 'must be an e-mail address');
const webhookUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL');

export const notifyConfig = z
  .object({
    email: templated(z.array(templated(emailAddress)).min(1).max(50))
      .optional()
      .meta({
        description:
          'Who is mailed a personal link (e-mail addresses); approvals default to their approvers.',
      }),
    webhook: templated(webhookUrl)
      .optional()
      .meta({ description: 'Where a JSON notification is posted for each person, with their link.' }),
    subject: z.string().max(300).optional(),
    message: z.string().max(4000).optional(),
  })
  .strict()
  .meta({ description: 'Tell people that this step waits for them (CONTRACT §8).' });
export type NotifyConfig = z.infer<typeof notifyConfig>;

export const STORED_ADDRESS =
  'must not read secrets: a notification’s address is stored with it, to send it again and to show it in the outbox';

/** Problems of a `notify` as written: addresses made from secrets would be stored as they are. */
export function notifyIssues(notify: NotifyConfig | undefined): ErrorIssue[] {
  if (notify === undefined) return [];
  return [
    ...secretReads(notify.email, 'notify.email', STORED_ADDRESS),
    ...secretReads(notify.webhook, 'notify.webhook', STORED_ADDRESS),
  ];
}

/** The people of a wait: the listed ones, else the defaults (approvers), each address once. */
export function notifiedPeople(notify: NotifyConfig | undefined, defaults: readonly string[]): string[] {
  const listed = Array.isArray(notify?.email) ? notify.email : defaults;
  const seen = new Set<string>();
  const people: string[] = [];
  for (const person of listed) {
    const key = person.trim().toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    people.push(person.trim());
  }
  return people;
}

/**
 * Tells the wait's people, through the notifier the host gave the step (none: nobody is told), and
 * records what could not be delivered as `step.notify_failed` events of the step.
 */
export async function notifyPeople(
  ctx: StepExecutionContext<{ notify?: NotifyConfig | undefined }>,
  notice: Omit<
    WaitNotice,
    'run_id' | 'workflow_id' | 'step_id' | 'visit' | 'people' | 'listed' | 'webhook' | 'subject'
  >,
  defaults: readonly string[],
): Promise<void> {
  const notifier = ctx.deps.notifier;
  const notify = ctx.config.notify;
  if (!notifier || (notify === undefined && defaults.length === 0)) return;
  const people = notifiedPeople(notify, defaults);
  const webhook = typeof notify?.webhook === 'string' ? notify.webhook : undefined;
  if (people.length === 0 && webhook === undefined) return;
  // What people read is stored in the outbox and shown there: without the secrets the step resolved,
  // as in its wait. Where it goes (addresses, the webhook) may not read secrets (`notifyIssues`).
  const shown = ctx.redact({
    ...notice,
    ...(notify?.subject ? { subject: notify.subject } : {}),
    ...(notify?.message ? { message: notify.message } : {}),
    ...(notice.title === undefined && ctx.step.name ? { title: ctx.step.name } : {}),
  });
  const failures = await notifier.notifyWait({
    ...shown,
    run_id: ctx.run.id,
    workflow_id: ctx.run.workflow_id,
    step_id: ctx.step.id,
    visit: ctx.visit,
    people,
    listed: Array.isArray(notify?.email),
    ...(webhook ? { webhook } : {}),
  });
  for (const failure of failures) ctx.emit({ type: EventType.stepNotifyFailed, data: { ...failure } });
}
