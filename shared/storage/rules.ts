/**
 * What every store accepts and how it reads what it holds, shared by the in-memory and the DynamoDB
 * adapters so both refuse, match and describe alike: workflow sizes and summaries, signal ids,
 * callback targets, idempotency records, listeners (their definition, activity and the sources that
 * find them).
 */
import type { WorkflowDefinition, WorkflowVersion } from '../definition/schema.js';
import { checkInputsTemplate } from '../engine/inputs.js';
import { type ErrorIssue, ValidationError } from '../errors.js';
import {
  type CallbackTarget,
  type IdempotencyRecord,
  type Listener,
  type ListenerActivity,
  type ListenerChange,
  type ListenerDefinition,
  type ListenerSource,
  ListenerType,
  type WorkflowSummary,
} from '../ports/index.js';
import {
  checkListenerMatch,
  eventMatches,
  patternScope,
  s3ObjectMatches,
} from '../triggers/listener-match.js';

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

/** A listener is one DynamoDB item beside its counters; no match or inputs template needs more. */
export const MAX_LISTENER_BYTES = 64 * 1024;

/** Refuses a listener whose match, inputs template or fields its type does not allow (CONTRACT §6). */
export function checkListener(listener: ListenerDefinition): void {
  const issues: ErrorIssue[] = [];
  if (typeof listener.id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(listener.id)) {
    issues.push({ path: 'id', message: "must be 1 to 128 letters, digits, '_' or '-'" });
  }
  if (!TYPES.has(listener.type))
    issues.push({ path: 'type', message: `must be one of ${[...TYPES].join(', ')}` });
  if (typeof listener.workflow_id !== 'string' || listener.workflow_id.length === 0)
    issues.push({ path: 'workflow_id', message: 'is required' });
  if (listener.version !== undefined && !(Number.isSafeInteger(listener.version) && listener.version >= 1))
    issues.push({ path: 'version', message: 'must be an integer ≥ 1' });
  if (typeof listener.enabled !== 'boolean') issues.push({ path: 'enabled', message: 'must be a boolean' });
  for (const field of ['created_at', 'updated_at'] as const) {
    if (typeof listener[field] !== 'string' || Number.isNaN(Date.parse(listener[field])))
      issues.push({ path: field, message: 'must be an ISO-8601 time' });
  }
  if (TYPES.has(listener.type)) issues.push(...checkListenerMatch(listener.type, listener.match));
  if (listener.inputs !== undefined) issues.push(...checkInputsTemplate(listener.inputs));
  const bytes = Buffer.byteLength(JSON.stringify(listener), 'utf8');
  if (bytes > MAX_LISTENER_BYTES) {
    issues.push({ path: '(root)', message: `is ${bytes} bytes as JSON; the limit is ${MAX_LISTENER_BYTES}` });
  }
  if (issues.length > 0) throw new ValidationError('The listener is not valid', issues);
}

/** The definition with the change applied (`inputs: null` removes the template). */
export function changedListener(
  listener: ListenerDefinition,
  change: ListenerChange,
  now: Date,
): ListenerDefinition {
  const { inputs: _inputs, ...rest } = listener;
  const inputs = change.inputs === undefined ? listener.inputs : change.inputs;
  return {
    ...rest,
    ...(change.enabled === undefined ? {} : { enabled: change.enabled }),
    ...(change.match === undefined ? {} : { match: change.match }),
    ...(inputs === undefined || inputs === null ? {} : { inputs }),
    updated_at: now.toISOString(),
  };
}

/** The definition part of a listener, as it is stored. */
export function definitionOf(listener: ListenerDefinition): ListenerDefinition {
  const { id, type, workflow_id, version, match, inputs, enabled, created_at, updated_at } = listener;
  return {
    id,
    type,
    workflow_id,
    ...(version === undefined ? {} : { version }),
    match,
    ...(inputs === undefined ? {} : { inputs }),
    enabled,
    created_at,
    updated_at,
  };
}

/**
 * A stored definition and its activity as one listener. Listeners stored before CONTRACT §6 had no
 * `enabled` nor `updated_at`: they read as enabled, updated when created.
 */
export function listenerOf(stored: ListenerDefinition, activity: Partial<ListenerActivity>): Listener {
  return {
    ...stored,
    enabled: stored.enabled ?? true,
    updated_at: stored.updated_at ?? stored.created_at,
    fired: activity.fired ?? 0,
    skipped: activity.skipped ?? 0,
    failed: activity.failed ?? 0,
    ...(activity.last_fired_at ? { last_fired_at: activity.last_fired_at } : {}),
    ...(activity.last_run_id ? { last_run_id: activity.last_run_id } : {}),
    ...(activity.last_error ? { last_error: activity.last_error } : {}),
    ...(activity.next_fire_at ? { next_fire_at: activity.next_fire_at } : {}),
  };
}

/**
 * The key a listener is found by: `s3#<bucket>`, `schedule`, and for an eventbridge listener the
 * source and detail-type its pattern requires (`patternScope`): `eventbridge#["app.shop","Order
 * Placed"]`, `eventbridge#["app.shop",null]`, `eventbridge#[null,"Order Placed"]`, or `eventbridge`
 * when it requires neither (the key every eventbridge listener had before the index, so listeners
 * stored then are still found: as candidates for every event, until their next change re-keys them).
 * Webhooks have none: they are found by their id.
 */
export function sourceKey(listener: ListenerDefinition): string | undefined {
  switch (listener.type) {
    case 's3':
      return `s3#${String(listener.match.bucket)}`;
    case 'eventbridge': {
      const { source, detailType } = patternScope(listener.match);
      return eventbridgeKey(source, detailType);
    }
    case 'schedule':
      return 'schedule';
    case 'webhook':
      return undefined;
  }
}

/**
 * The keys under which the listeners a source event concerns are stored (`sourceKey`): for an
 * EventBridge event, those of its source and detail-type, of each alone and of neither — at most four
 * reads, each of candidates only. Undefined for an event whose source or detail-type is no string (no
 * bus delivers one): every listener of the type is then a candidate.
 */
export function sourceKeys(source: ListenerSource): string[] | undefined {
  switch (source.type) {
    case 's3':
      return [`s3#${source.bucket}`];
    case 'schedule':
      return ['schedule'];
    case 'eventbridge': {
      const event = (source.event ?? {}) as Record<string, unknown>;
      const sources = scopeValues(event.source);
      const detailTypes = scopeValues(event['detail-type']);
      if (sources === undefined || detailTypes === undefined) return undefined;
      return sources.flatMap((s) => detailTypes.map((d) => eventbridgeKey(s, d)));
    }
  }
}

/** The scope values an event's field can be found under: its own (when a string) and "any". */
function scopeValues(value: unknown): Array<string | undefined> | undefined {
  if (value === undefined) return [undefined];
  return typeof value === 'string' ? [value, undefined] : undefined;
}

function eventbridgeKey(source: string | undefined, detailType: string | undefined): string {
  if (source === undefined && detailType === undefined) return 'eventbridge';
  // JSON: a source or detail-type may hold any character, `#` and `"` included.
  return `eventbridge#${JSON.stringify([source ?? null, detailType ?? null])}`;
}

/** Whether the source event concerns the listener (enabled or not: the dispatcher decides that). */
export function listenerMatches(listener: ListenerDefinition, source: ListenerSource): boolean {
  if (listener.type !== source.type) return false;
  switch (source.type) {
    case 's3':
      return s3ObjectMatches(listener.match, source.bucket, source.key);
    case 'eventbridge':
      return eventMatches(listener.match, source.event);
    case 'schedule':
      return true;
  }
}
