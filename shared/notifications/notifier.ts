/**
 * Tells people that a wait needs them (CONTRACT §8), at least once and once per (run, step, visit,
 * person, channel). The step calls `notifyWait` while it opens its wait, before the wait is
 * committed: if the process dies before the notifications are recorded, the step is run again (it
 * was dispatched and has no result) and records them then; recording is idempotent by the entry's
 * id, and a delivered entry is not delivered again. An entry that is recorded but not delivered (the
 * process died, the channel failed) is retried by `retryDue`, which a host calls on a timer (the
 * local runtime) or a schedule (the cloud's notify function), until it is delivered, runs out of
 * attempts, or its wait ends. The personal link is never stored: it is derived again from the wait
 * and the person each time it is sent or shown.
 */
import { sha256Hex } from '../crypto.js';
import { FlowrunnerError, toErrorInfo } from '../errors.js';
import type {
  CallbackTokens,
  Clock,
  HttpClient,
  MailSender,
  Notifier,
  NotifyChannel,
  NotifyFailure,
  OutboxEntry,
  OutboxStore,
  RunStore,
  WaitNotice,
} from '../ports/index.js';
import { personKey } from '../storage/callback-token.js';
import { detailsOf, mailOf, subjectOf, textOf, webhookBodyOf } from './message.js';

export interface NotifierOptions {
  /** Read when a notification is made, not before: a host may compose before its stores are open. */
  stores: { outbox: OutboxStore; callbacks: CallbackTokens; runs: Pick<RunStore, 'get'> };
  http: HttpClient;
  clock: Clock;
  /** Where people open the console (links are `<publicUrl>/console/tasks/<token>`); asked when a link is made. */
  publicUrl: () => string;
  /** SES in the cloud, SMTP locally when FLOWRUNNER_SMTP_URL is set. */
  mail?: MailSender;
  /** Locally the outbox is a mailbox people read (`GET /v1/outbox`): recording an e-mail there delivers it. */
  outboxIsMailbox: boolean;
  /** The same rules as `api_call` (CONTRACT §5) for webhook targets. */
  allowPrivateNetwork: boolean;
  allowLoopback: boolean;
  /** Attempts per notification before it is given up (default 5). */
  maxAttempts?: number;
  /** One delivery's time limit (default 10 s): a slow channel must not hold the step for long. */
  sendTimeoutMs?: number;
}

export interface PeopleNotifier extends Notifier {
  /** Whether the outbox is where people read their mail (one machine): only then does it show links. */
  readonly outboxIsMailbox: boolean;
  /** Delivers what is due again (failed, or recorded and never delivered); answers how many it tried. */
  retryDue(limit?: number): Promise<number>;
  /** The personal link of an entry (derived, never stored); undefined once its wait is over. */
  linkOf(entry: OutboxEntry): Promise<string | undefined>;
}

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_SEND_TIMEOUT_MS = 10_000;
/** A recorded entry not delivered within this time is the retry loop's: its writer stopped. */
const DELIVERY_LEASE_MS = 60_000;
const FIRST_RETRY_MS = 60_000;
const MAX_RETRY_MS = 6 * 3_600_000;
const WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024;

export function createNotifier(options: NotifierOptions): PeopleNotifier {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const timeoutMs = options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const base = () => options.publicUrl().replace(/\/+$/, '');
  const mailWorks = options.mail !== undefined || options.outboxIsMailbox;

  async function tokenOf(entry: OutboxEntry): Promise<string> {
    return options.stores.callbacks.issue(
      {
        run_id: entry.run_id,
        step_id: entry.step_id,
        visit: entry.visit,
        person: entry.person,
        ...(entry.expires_at ? { expires_at: entry.expires_at } : {}),
      },
      options.clock.now(),
    );
  }

  async function deliver(entry: OutboxEntry): Promise<NotifyFailure | undefined> {
    const attempts = entry.attempts + 1;
    try {
      const link = `${base()}/console/tasks/${await tokenOf(entry)}`;
      if (entry.channel === 'email') await sendMail(entry, link);
      else await postWebhook(entry, link);
      const now = options.clock.now().toISOString();
      await options.stores.outbox.update(entry.id, {
        status: 'sent',
        attempts,
        sent_at: now,
        updated_at: now,
        next_attempt_at: undefined,
        last_error: undefined,
      });
      return undefined;
    } catch (error) {
      const info = toErrorInfo(error);
      const retry = info.retryable !== false && attempts < maxAttempts;
      const now = options.clock.now();
      const retryAt = retry ? new Date(now.getTime() + backoffMs(attempts)).toISOString() : undefined;
      await options.stores.outbox.update(entry.id, {
        status: retry ? 'failed' : 'given_up',
        attempts,
        updated_at: now.toISOString(),
        last_error: { code: info.code, message: info.message },
        next_attempt_at: retryAt,
      });
      return {
        person: entry.person,
        channel: entry.channel,
        code: info.code,
        message: info.message,
        ...(retryAt ? { retry_at: retryAt } : {}),
      };
    }
  }

  async function sendMail(entry: OutboxEntry, link: string): Promise<void> {
    if (options.mail) {
      await withTimeout(options.mail.send({ ...mailOf(entry, link), to: entry.to, id: entry.id }), timeoutMs);
      return;
    }
    if (options.outboxIsMailbox) return;
    throw new FlowrunnerError('MailNotConfigured', 'No mail service is set up to send this e-mail', {
      retryable: false,
    });
  }

  async function postWebhook(entry: OutboxEntry, link: string): Promise<void> {
    const response = await options.http.request({
      method: 'POST',
      url: entry.to,
      headers: { 'content-type': 'application/json', 'idempotency-key': entry.id },
      body: JSON.stringify(webhookBodyOf(entry, link)),
      timeoutMs,
      maxResponseBytes: WEBHOOK_MAX_RESPONSE_BYTES,
      allowPrivateNetwork: options.allowPrivateNetwork,
      allowLoopback: options.allowLoopback,
      maxRedirects: 0,
    });
    if (response.status >= 200 && response.status < 300) return;
    const retryable = response.status === 429 || response.status >= 500;
    throw new FlowrunnerError('WebhookRefused', `The webhook answered ${response.status}`, { retryable });
  }

  /** Is the wait still open for this visit? A notification for a wait that ended is not sent. */
  async function waitIsOpen(entry: OutboxEntry): Promise<boolean> {
    const { state } = await options.stores.runs.get(entry.run_id);
    const step = state.steps[entry.step_id];
    return step?.status === 'waiting' && step.visit === entry.visit;
  }

  return {
    outboxIsMailbox: options.outboxIsMailbox,

    async notifyWait(notice: WaitNotice): Promise<NotifyFailure[]> {
      const now = options.clock.now().toISOString();
      const lease = new Date(Date.parse(now) + DELIVERY_LEASE_MS).toISOString();
      const subject = subjectOf(notice);
      const text = textOf(notice);
      const details = detailsOf(notice);
      const targets: Array<{ person: string; channel: NotifyChannel; to: string }> = [];
      // Default people (an approval's approvers) are mailed only where mail is set up.
      if (notice.listed || mailWorks) {
        for (const person of notice.people) targets.push({ person, channel: 'email', to: person });
      }
      if (notice.webhook) {
        const people = notice.people.length > 0 ? notice.people : [webhookPerson(notice.webhook)];
        for (const person of people) targets.push({ person, channel: 'webhook', to: notice.webhook });
      }
      const failures: NotifyFailure[] = [];
      await Promise.all(
        targets.map(async (target) => {
          try {
            const { entry } = await options.stores.outbox.add({
              id: entryId(notice, target.person, target.channel),
              run_id: notice.run_id,
              workflow_id: notice.workflow_id,
              step_id: notice.step_id,
              visit: notice.visit,
              kind: notice.kind,
              ...target,
              subject,
              text,
              details,
              ...(notice.expires_at ? { expires_at: notice.expires_at } : {}),
              status: 'pending',
              attempts: 0,
              next_attempt_at: lease,
              created_at: now,
              updated_at: now,
            });
            // Recorded by an earlier try of this step and delivered (or given up) since: done.
            if (entry.status !== 'pending' && entry.status !== 'failed') return;
            const failure = await deliver(entry);
            if (failure) failures.push(failure);
          } catch (error) {
            // The outbox itself failed: the step still opens its wait; the event says who was not told.
            const info = toErrorInfo(error);
            failures.push({
              person: target.person,
              channel: target.channel,
              code: info.code,
              message: info.message,
            });
          }
        }),
      );
      return failures;
    },

    async retryDue(limit = 50): Promise<number> {
      const due = await options.stores.outbox.due(options.clock.now(), limit);
      for (const entry of due) {
        if (!(await waitIsOpen(entry).catch(() => false))) {
          const now = options.clock.now().toISOString();
          await options.stores.outbox.update(entry.id, {
            status: 'dropped',
            updated_at: now,
            next_attempt_at: undefined,
          });
          continue;
        }
        await deliver(entry);
      }
      return due.length;
    },

    async linkOf(entry: OutboxEntry): Promise<string | undefined> {
      const token = await tokenOf(entry);
      const live = await options.stores.callbacks.peek(token, options.clock.now());
      return live ? `${base()}/console/tasks/${token}` : undefined;
    },
  };
}

/** The entry's id: the same for the same wait, person and channel, whoever records it. */
export function entryId(
  notice: Pick<WaitNotice, 'run_id' | 'step_id' | 'visit'>,
  person: string,
  channel: NotifyChannel,
): string {
  return sha256Hex(JSON.stringify([notice.run_id, notice.step_id, notice.visit, personKey(person), channel]));
}

/** Who a webhook-only notification is for: the receiving system, named by its origin. */
function webhookPerson(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** 1 min, 5 min, 25 min, … at most 6 h. */
function backoffMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 5 ** (attempts - 1), MAX_RETRY_MS);
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new FlowrunnerError('NotifyTimeout', `The mail service did not answer within ${ms} ms`, {
            retryable: true,
          }),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
