/**
 * Telling people that a form or an approval waits for them (CONTRACT §8): the outbox that records
 * every notification, the mail channel (SES in the cloud, SMTP locally), and the notifier steps call.
 */
import type { Page, PageRequest } from './storage.js';

export const NotifyChannel = { email: 'email', webhook: 'webhook' } as const;
export type NotifyChannel = (typeof NotifyChannel)[keyof typeof NotifyChannel];

/**
 * `pending` until a channel took it; `failed` after an attempt that will be retried at
 * `next_attempt_at`; `given_up` after the last attempt; `dropped` when the wait ended before it went
 * out (nobody needs it any more).
 */
export const NotificationStatus = {
  pending: 'pending',
  sent: 'sent',
  failed: 'failed',
  givenUp: 'given_up',
  dropped: 'dropped',
} as const;
export type NotificationStatus = (typeof NotificationStatus)[keyof typeof NotificationStatus];

/** A wait that asks people for something, as its notifications describe it. */
export interface WaitNotice {
  run_id: string;
  workflow_id: string;
  step_id: string;
  visit: number;
  kind: 'form' | 'approval';
  /** The step's name, or the form's title. */
  title?: string;
  /** `notify.subject` as rendered; a default is made from the step otherwise. */
  subject?: string;
  /** `notify.message`, else the step's own message. */
  message?: string;
  /** The form's fields as people see them. */
  fields?: ReadonlyArray<Record<string, unknown>>;
  /** The approval's approvers. */
  approvers?: readonly string[];
  expires_at?: string;
  /** Who is told (e-mail addresses); each gets their own link. */
  people: readonly string[];
  /**
   * False when the people are the step's defaults (an approval's approvers, CONTRACT §8): they are
   * mailed only where mail is set up, while people listed in `notify.email` are always attempted.
   */
  listed: boolean;
  /** Where a JSON notification is posted for each person, through the same guard as `api_call`. */
  webhook?: string;
}

/**
 * One notification to one person through one channel. Its id is derived from (run, step, visit,
 * person, channel), so recording it again (a step re-run after a crash) finds the first record. The
 * personal link is not stored: it is derived again from the wait and the person when it is sent
 * or shown.
 */
export interface OutboxEntry {
  id: string;
  run_id: string;
  workflow_id: string;
  step_id: string;
  visit: number;
  kind: WaitNotice['kind'];
  person: string;
  channel: NotifyChannel;
  /** The e-mail address or the webhook URL. */
  to: string;
  subject: string;
  /** The message without the link; the link is added where it is delivered. */
  text: string;
  /** What a webhook notification carries besides the link: title, message, fields, approvers. */
  details: Record<string, unknown>;
  expires_at?: string;
  status: NotificationStatus;
  attempts: number;
  last_error?: { code: string; message: string };
  next_attempt_at?: string;
  created_at: string;
  updated_at: string;
  sent_at?: string;
}

export type OutboxChange = Partial<
  Pick<OutboxEntry, 'status' | 'attempts' | 'last_error' | 'next_attempt_at' | 'sent_at' | 'updated_at'>
>;

export interface OutboxStore {
  /** Records the entry unless one with its id exists; answers the record that holds. */
  add(entry: OutboxEntry): Promise<{ created: boolean; entry: OutboxEntry }>;
  /** Changes a recorded entry (NotFoundError for an unknown id); answers it as changed. */
  update(id: string, change: OutboxChange): Promise<OutboxEntry>;
  get(id: string): Promise<OutboxEntry | undefined>;
  /** Newest first, a page at a time. */
  list(page?: PageRequest): Promise<Page<OutboxEntry>>;
  /** Entries `pending` or `failed` whose next attempt is due, the first to fall due first, at most `limit`. */
  due(now: Date, limit: number): Promise<OutboxEntry[]>;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Sent as a header where the channel allows, so a retried send can be recognized. */
  id: string;
}

/** Sends one e-mail; throws a FlowrunnerError whose `retryable` says whether to try again. */
export interface MailSender {
  readonly name: string;
  send(mail: MailMessage): Promise<void>;
}

export interface NotifyFailure {
  person: string;
  channel: NotifyChannel;
  code: string;
  message: string;
  /** When it is tried again; absent when it will not be. */
  retry_at?: string;
}

export interface Notifier {
  /**
   * Records each person's notification of a wait in the outbox (once per run, step, visit, person
   * and channel) and delivers those not delivered yet. Failures are answered, never thrown: a
   * notification never fails the step that asked for it.
   */
  notifyWait(notice: WaitNotice): Promise<NotifyFailure[]>;
}
