/**
 * What every store accepts and how it reads what it holds, shared by the in-memory and the DynamoDB
 * adapters so both refuse, match and describe alike: workflow sizes and summaries, signal ids,
 * callback targets, idempotency records, listeners and the sources that find them.
 */
import type { WorkflowDefinition, WorkflowVersion } from '../definition/schema.js';
import { type ErrorIssue, ValidationError } from '../errors.js';
import {
  type CallbackTarget,
  type IdempotencyRecord,
  type Listener,
  type ListenerSource,
  ListenerType,
  type WorkflowSummary,
} from '../ports/index.js';

/** A version is one DynamoDB item (400 KB); this leaves room for its keys and attributes. */
export const MAX_DEFINITION_BYTES = 350 * 1024;

/** The definition as stored: JSON text, refused when it could not fit one item. */
export function definitionText(definition: WorkflowDefinition): string {
  const text = JSON.stringify(definition);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_DEFINITION_BYTES) {
    throw new ValidationError(
      `The workflow is ${bytes} bytes as JSON; the limit is ${MAX_DEFINITION_BYTES}`,
      [{ path: '', message: `must be at most ${MAX_DEFINITION_BYTES} bytes as JSON` }],
    );
  }
  return text;
}

/** The summary once `latest` is stored; `createdAt` is the time of version 1, the workflow's creation. */
export function summaryOf(latest: WorkflowVersion, createdAt: string, retired: boolean): WorkflowSummary {
  const { name, description } = latest.definition;
  return {
    id: latest.id,
    latest_version: latest.version,
    ...(name === undefined ? {} : { name }),
    ...(description === undefined ? {} : { description }),
    created_at: createdAt,
    updated_at: latest.created_at,
    ...(retired ? { retired: true } : {}),
  };
}

export const INBOX_READ_DEFAULT = 100;
export const INBOX_READ_MAX = 1000;
/** Long enough for a request id or a token hash; the DynamoDB inbox stores a digest of it anyway. */
export const MAX_SIGNAL_ID_LENGTH = 256;

export function checkSignalId(signalId: string): void {
  if (typeof signalId !== 'string' || signalId.length === 0 || signalId.length > MAX_SIGNAL_ID_LENGTH) {
    throw new ValidationError(`A signal id must be 1 to ${MAX_SIGNAL_ID_LENGTH} characters`, [
      { path: 'signal_id', message: `must be 1 to ${MAX_SIGNAL_ID_LENGTH} characters` },
    ]);
  }
}

export function checkTarget(target: CallbackTarget): void {
  const issues: ErrorIssue[] = [];
  if (typeof target.run_id !== 'string' || target.run_id.length === 0) {
    issues.push({ path: 'run_id', message: 'is required' });
  }
  if (typeof target.step_id !== 'string' || target.step_id.length === 0 || target.step_id.includes('#')) {
    issues.push({ path: 'step_id', message: 'must be a step id' });
  }
  if (!Number.isSafeInteger(target.visit) || target.visit < 1) {
    issues.push({ path: 'visit', message: 'must be an integer ≥ 1' });
  }
  if (target.expires_at !== undefined && Number.isNaN(Date.parse(target.expires_at))) {
    issues.push({ path: 'expires_at', message: 'must be an ISO-8601 time' });
  }
  if (
    target.person !== undefined &&
    (typeof target.person !== 'string' || target.person.trim() === '' || target.person.length > 320)
  ) {
    issues.push({ path: 'person', message: 'must be an address of 1 to 320 characters' });
  }
  if (issues.length > 0) throw new ValidationError('The callback target is not valid', issues);
}

/** API Gateway passes headers up to 10 KB; a key this long is a mistake, not an identifier. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 512;

export function checkIdempotencyRecord(record: IdempotencyRecord): void {
  const issues: ErrorIssue[] = [];
  if (
    typeof record.key !== 'string' ||
    record.key.length === 0 ||
    record.key.length > MAX_IDEMPOTENCY_KEY_LENGTH
  ) {
    issues.push({ path: 'key', message: `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` });
  }
  if (typeof record.body_hash !== 'string' || record.body_hash.length === 0) {
    issues.push({ path: 'body_hash', message: 'is required' });
  }
  if (typeof record.run_id !== 'string' || record.run_id.length === 0) {
    issues.push({ path: 'run_id', message: 'is required' });
  }
  if (typeof record.expires_at !== 'string' || Number.isNaN(Date.parse(record.expires_at))) {
    issues.push({ path: 'expires_at', message: 'must be an ISO-8601 time' });
  }
  if (issues.length > 0) throw new ValidationError('The idempotency record is not valid', issues);
}

const TYPES = new Set<string>(Object.values(ListenerType));

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const optionalString = (value: unknown) => value === undefined || typeof value === 'string';

/** Refuses a listener its store could not index: a missing bucket, source or schedule expression. */
export function checkListener(listener: Listener): void {
  const issues: ErrorIssue[] = [];
  const match = listener.match as Record<string, unknown> | undefined;
  if (!nonEmpty(listener.id) || listener.id.length > 128) {
    issues.push({ path: 'id', message: 'must be 1 to 128 characters' });
  }
  if (!TYPES.has(listener.type))
    issues.push({ path: 'type', message: `must be one of ${[...TYPES].join(', ')}` });
  if (!nonEmpty(listener.workflow_id)) issues.push({ path: 'workflow_id', message: 'is required' });
  if (!nonEmpty(listener.created_at)) issues.push({ path: 'created_at', message: 'is required' });
  if (typeof match !== 'object' || match === null || Array.isArray(match)) {
    issues.push({ path: 'match', message: 'must be an object' });
  } else if (listener.type === 's3') {
    if (!nonEmpty(match.bucket)) issues.push({ path: 'match.bucket', message: 'is required' });
    if (!optionalString(match.prefix)) issues.push({ path: 'match.prefix', message: 'must be a string' });
  } else if (listener.type === 'eventbridge') {
    if (!nonEmpty(match.source)) issues.push({ path: 'match.source', message: 'is required' });
    if (!optionalString(match.detail_type)) {
      issues.push({ path: 'match.detail_type', message: 'must be a string' });
    }
  } else if (listener.type === 'schedule') {
    if (!nonEmpty(match.expression)) issues.push({ path: 'match.expression', message: 'is required' });
  }
  if (issues.length > 0) throw new ValidationError('The listener is not valid', issues);
}

/**
 * The key listeners of one source share: the bucket, the event source, or all schedules. Prefixes
 * and detail-types are checked on the few listeners of that key (a key prefix cannot be a key condition).
 * Webhooks have none: they are found by their id.
 */
export function sourceKey(source: Listener | ListenerSource): string | undefined {
  switch (source.type) {
    case 's3':
      return `s3#${'bucket' in source ? source.bucket : String(source.match.bucket)}`;
    case 'eventbridge':
      return `eventbridge#${'source' in source ? source.source : String(source.match.source)}`;
    case 'schedule':
      return 'schedule';
    case 'webhook':
      return undefined;
  }
}

/** Whether the listener starts its workflow for this source event. */
export function listenerMatches(listener: Listener, source: ListenerSource): boolean {
  if (listener.type !== source.type) return false;
  const match = listener.match;
  switch (source.type) {
    case 's3':
      return (
        match.bucket === source.bucket && source.key.startsWith((match.prefix as string | undefined) ?? '')
      );
    case 'eventbridge':
      return (
        match.source === source.source &&
        (match.detail_type === undefined || match.detail_type === source.detail_type)
      );
    case 'schedule':
      return true;
    case 'webhook':
      return listener.id === source.id;
  }
}
