/**
 * What a listener's `match` may be, per type (CONTRACT §6), and whether a source event concerns it.
 * The API checks with these schemas (422 with the path), the stores refuse what they reject, and the
 * dispatcher matches with the same functions in the cloud and on one machine.
 */
import { z } from 'zod';
import type { ErrorIssue } from '../errors.js';
import type { ListenerDefinition, ListenerType } from '../ports/storage.js';
import {
  type CompiledPattern,
  checkEventPattern,
  compileEventPattern,
  type EventPattern,
} from './event-pattern.js';
import { checkSchedule, nextFireTime } from './schedule.js';

/** S3's bucket naming rules (general purpose buckets): 3–63 lower-case letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** `{{ secrets.NAME }}` and nothing else: a webhook's secret is named, never written in the listener. */
export const SECRET_PLACEHOLDER = /^\{\{\s*secrets\.([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})\s*\}\}$/;

export const SignatureScheme = {
  github: 'github',
  stripe: 'stripe',
  standard: 'standard',
  hmacSha256: 'hmac-sha256',
} as const;
export type SignatureScheme = (typeof SignatureScheme)[keyof typeof SignatureScheme];

export const Overlap = { skip: 'skip', allow: 'allow' } as const;
export type Overlap = (typeof Overlap)[keyof typeof Overlap];

export const s3Match = z.strictObject({
  bucket: z.string().regex(BUCKET, 'must be an S3 bucket name (3–63 lower-case letters, digits, . and -)'),
  prefix: z.string().max(1024).optional(),
  suffix: z.string().max(1024).optional(),
});

export const scheduleMatch = z
  .strictObject({
    expression: z.string().min(1).max(256),
    timezone: z.string().min(1).max(64).optional(),
    overlap: z.enum([Overlap.skip, Overlap.allow]).optional(),
  })
  .superRefine((match, ctx) => {
    for (const problem of checkSchedule(match.expression, match.timezone ?? 'UTC')) {
      ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
    }
  });

export const webhookMatch = z.strictObject({
  signature: z
    .strictObject({
      scheme: z.enum(Object.values(SignatureScheme) as [SignatureScheme, ...SignatureScheme[]]),
      secret: z.string().regex(SECRET_PLACEHOLDER, 'must be a {{ secrets.NAME }} placeholder'),
    })
    .optional(),
});

export type S3Match = z.infer<typeof s3Match>;
export type ScheduleMatch = z.infer<typeof scheduleMatch>;
export type WebhookMatch = z.infer<typeof webhookMatch>;

const MATCH_SCHEMAS: Record<Exclude<ListenerType, 'eventbridge'>, z.ZodType> = {
  s3: s3Match,
  schedule: scheduleMatch,
  webhook: webhookMatch,
};

/** Every problem with a listener's `match` (paths under `match`), empty when it is valid for the type. */
export function checkListenerMatch(type: ListenerType, match: unknown): ErrorIssue[] {
  if (type === 'eventbridge') {
    return checkEventPattern(match).map((problem) => ({
      path: problem.path === '(root)' ? 'match' : `match.${problem.path}`,
      message: problem.message,
    }));
  }
  const parsed = MATCH_SCHEMAS[type].safeParse(match);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    path: ['match', ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/** Whether an object put at `bucket`/`key` concerns an s3 listener's match. */
export function s3ObjectMatches(match: Record<string, unknown>, bucket: string, key: string): boolean {
  const { prefix = '', suffix = '' } = match as Partial<S3Match>;
  return match.bucket === bucket && key.startsWith(prefix) && key.endsWith(suffix);
}

/** Compiled patterns by their JSON text: stores hand out a new object per read, so a WeakMap would miss. */
const compiled = new Map<string, CompiledPattern>();
/** Far more than the listeners one process matches; past it the oldest entry goes. */
const MAX_COMPILED = 2_000;

/** Whether an EventBridge event matches an eventbridge listener's pattern (compiled once per pattern text). */
export function eventMatches(pattern: Record<string, unknown>, event: unknown): boolean {
  const text = JSON.stringify(pattern);
  let found = compiled.get(text);
  if (found === undefined) {
    found = compileEventPattern(pattern as EventPattern);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(text, found);
  }
  return found.matches(event);
}

/**
 * What an eventbridge listener is indexed by: the one `source` and the one `detail-type` its pattern
 * requires, each when the pattern's top-level list holds exactly one exact string (a top-level key is
 * ANDed with everything beside it, `$or` included, so an event without that value cannot match).
 * Anything else — no such key, several values, an operator — is undefined: the listener is a candidate
 * for every value there. Only ever narrower than the pattern, never wrong: the pattern still decides.
 */
export function patternScope(pattern: Record<string, unknown>): { source?: string; detailType?: string } {
  const source = onlyExactString(pattern.source);
  const detailType = onlyExactString(pattern['detail-type']);
  return {
    ...(source === undefined ? {} : { source }),
    ...(detailType === undefined ? {} : { detailType }),
  };
}

function onlyExactString(values: unknown): string | undefined {
  if (!Array.isArray(values) || values.length === 0) return undefined;
  if (!values.every((value) => typeof value === 'string')) return undefined;
  return new Set(values).size === 1 ? (values[0] as string) : undefined;
}

/** The secret name in a webhook listener's `signature.secret`, if it has a signature. */
export function webhookSecretName(match: Record<string, unknown>): string | undefined {
  const signature = (match as WebhookMatch).signature;
  return signature ? SECRET_PLACEHOLDER.exec(signature.secret)?.[1] : undefined;
}

/**
 * When an enabled schedule listener fires next after `after` (ISO-8601), or undefined (disabled, not a
 * schedule, or never again). `rate()` keeps the rhythm of the listener's last change of definition,
 * as a Scheduler schedule keeps the rhythm of its creation or update.
 */
/**
 * A schedule that can no longer fire (an `at()` in the past, a cron whose years are over or whose
 * days never come, such as 31 February) would be kept and never start anything: refused instead,
 * where it is written. Checked on a match that is valid otherwise.
 */
export function checkScheduleFires(match: unknown, now: Date): ErrorIssue[] {
  const { expression, timezone = 'UTC' } = match as ScheduleMatch;
  if (nextFireTime(expression, now, timezone) !== null) return [];
  const why = /^\s*at\(/.test(expression) ? 'this time has passed' : 'no time after now matches it';
  return [{ path: 'match.expression', message: `${expression} never fires: ${why}` }];
}

export function nextFireOf(listener: ListenerDefinition, after: Date): string | undefined {
  if (listener.type !== 'schedule' || !listener.enabled) return undefined;
  const { expression, timezone = 'UTC' } = listener.match as ScheduleMatch;
  const next = nextFireTime(expression, after, timezone, { start: new Date(listener.updated_at) });
  return next === null ? undefined : next.toISOString();
}
