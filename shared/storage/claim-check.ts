/**
 * Claim checks (LargePayloads): parts of a run's state or a step output that would make it too big
 * for a DynamoDB item (400 KB) or a Step Functions payload (256 KB) are stored as content-addressed
 * blobs under `runs/<run_id>/payloads/<sha256>.json` and replaced by `{ $claim: "<key>", size }`.
 *
 * Which parts move: first, bottom-up, every part that is still above the threshold once its own
 * large parts have moved (so a big step output moves on its own and keeps its hash from one state
 * to the next); then, while the whole is still above the threshold, the largest remaining parts;
 * last, the whole value itself. The result is therefore always at most the threshold.
 *
 * Escaping: a user object key of the form `$claim`, `$$claim`, ... gets one more `$` when stored,
 * and loses it when restored, so only Flowrunner's own references have a bare `$claim` key. A value
 * that already is a claim is left alone only when it points at a payload of the same run that
 * exists; any other look-alike (another run's, or made up) is user data and escaped like it.
 */
import { createHash } from 'node:crypto';
import { NotFoundError, StorageError } from '../errors.js';
import type { LargePayloads, OffloadOptions, RestoreOptions, ValuePath } from '../ports/index.js';
import { Slots } from '../slots.js';
import { validateRunId } from './s3/artifact-rules.js';

/** Where claimed payloads live: keys are full S3 keys (`runs/<run_id>/payloads/<sha256>.json`). */
export interface PayloadBlobs {
  has(key: string): Promise<boolean>;
  put(key: string, body: string): Promise<void>;
  /** Throws NotFoundError for a missing blob. */
  get(key: string): Promise<string>;
}

export interface Claim {
  $claim: string;
  /** Bytes of the stored JSON. */
  size: number;
}

export interface ClaimCheckOptions {
  blobs: PayloadBlobs;
  thresholdBytes?: number;
}

export const DEFAULT_CLAIM_THRESHOLD_BYTES = 64 * 1024;

const CLAIM_KEY = /^runs\/([A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127})\/payloads\/([0-9a-f]{64})\.json$/;
/** Any key that needs escaping on the way in (`$claim`, `$$claim`, ...). */
const ESCAPABLE_KEY = /^\$+claim$/;
/** Any key that was escaped on the way in (`$$claim`, `$$$claim`, ...). */
const ESCAPED_KEY = /^\$\$+claim$/;
/** In JSON text every object key that could need work ends like this; a value without it is returned as is. */
const CLAIM_MARK = 'claim":';
/** Blob keys this process has written or seen, so repeated offloads skip the HEAD too. */
const KNOWN_KEYS_LIMIT = 10_000;

export function payloadKey(runId: string, sha256: string): string {
  return `runs/${runId}/payloads/${sha256}.json`;
}

/** A reference written by offload: exactly `{ $claim, size }` with a well-formed payload key. */
export function isClaim(value: unknown): value is Claim {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 2) return false;
  const { $claim, size } = value as Partial<Claim>;
  return (
    typeof $claim === 'string' &&
    CLAIM_KEY.test($claim) &&
    Number.isSafeInteger(size) &&
    (size as number) >= 0
  );
}

/** A part of the value being offloaded: where it sits, and its current JSON size in bytes. */
interface Part {
  parent: Part | undefined;
  holder: Record<string, unknown> | unknown[];
  slot: string | number;
  size: number;
  offloaded: boolean;
}

type Container = Record<string, unknown> | unknown[];

function jsonBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Blob requests one claim check has under way at most. A long run holds a claim per large output it
 * kept (one per visit of a loop): restoring 2,000 at once queued 2,000 requests on the SDK's 50
 * sockets, which timed out while they waited and failed the read.
 */
export const MAX_BLOB_REQUESTS = 16;

export function createClaimCheck(options: ClaimCheckOptions): LargePayloads {
  const blobs = limited(options.blobs, MAX_BLOB_REQUESTS);
  const threshold = options.thresholdBytes ?? DEFAULT_CLAIM_THRESHOLD_BYTES;
  if (!Number.isInteger(threshold) || threshold < 1024) {
    // Below ~1 KB a claim itself (≈ 110 bytes plus the run id) would crowd out the value.
    throw new RangeError('thresholdBytes must be an integer of at least 1024');
  }
  /** Keys known to be stored, oldest first: a key seen again moves to the end. */
  const known = new Set<string>();
  /**
   * The claims this claim check's `restore` left in place, by identity: once restored, user data may
   * be shaped like a claim too (it was stored escaped), and only these may be read back as one
   * (`restoreKept`); a claim another claim check left is not this one's to read.
   */
  const kept = new WeakSet<object>();

  function remember(key: string): void {
    if (known.delete(key)) {
      known.add(key);
      return;
    }
    if (known.size >= KNOWN_KEYS_LIMIT) known.delete(known.values().next().value as string);
    known.add(key);
  }

  async function store(key: string, body: string): Promise<void> {
    if (known.has(key)) {
      remember(key);
      return;
    }
    // Content-addressed: a blob that exists already holds exactly this text.
    if (!(await blobs.has(key))) await blobs.put(key, body);
    remember(key);
  }

  /** The claims of this run in `value` whose payloads exist: only these are taken as claims. */
  async function existingClaims(runId: string, value: unknown): Promise<Set<string>> {
    const found = new Set<string>();
    walkClaims(value, [], (claim) => found.add(claim.$claim));
    const existing = new Set<string>();
    await Promise.all(
      [...found].map(async (key) => {
        if (!key.startsWith(`runs/${runId}/payloads/`)) return;
        if (known.has(key) || (await blobs.has(key))) {
          existing.add(key);
          remember(key);
        }
      }),
    );
    return existing;
  }

  async function offload(runId: string, value: unknown, options: OffloadOptions = {}): Promise<unknown> {
    validateRunId(runId);
    const json = JSON.stringify(value);
    if (json === undefined) return value;
    // With `wholeBytes`, the caller has offloaded single values already: parts move only while the
    // whole is too big.
    const whole = Math.max(threshold, options.wholeBytes ?? threshold);
    const partLimit = options.wholeBytes === undefined ? threshold : Number.POSITIVE_INFINITY;
    if (jsonBytes(json) <= whole && !json.includes(CLAIM_MARK)) return value;
    const existing = await existingClaims(runId, value);
    if (isClaim(value) && existing.has(value.$claim)) return value;

    const writes = new Map<string, string>();
    const parts: Part[] = [];
    // Every hash has 64 hex digits, so a claim's size is known before the part is hashed.
    const claimBytes = (size: number) =>
      jsonBytes(JSON.stringify({ $claim: payloadKey(runId, '0'.repeat(64)), size }));

    /** Each key as stored (escaped) and its JSON size: the same keys come back in every record of a list. */
    const storedKeys = new Map<string, { name: string; bytes: number }>();
    /** No part this size or smaller is worth a claim (its claim is as large): not a candidate. */
    const smallest = claimBytes(0);

    function claimFor(encoded: unknown, size: number): Claim {
      const text = JSON.stringify(encoded);
      const key = payloadKey(runId, sha256(text));
      writes.set(key, text);
      return { $claim: key, size };
    }

    /** Copies `value` into its stored form, offloading parts above the threshold bottom-up; returns its size. */
    function encode(
      input: unknown,
      parent: Part | undefined,
      holder: Container,
      slot: string | number,
    ): number {
      let value = input;
      if (
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ) {
        value = (value as { toJSON: (key: string) => unknown }).toJSON(
          parent === undefined ? '' : String(slot),
        );
      }
      if (typeof value !== 'object' || value === null) {
        // What JSON makes of it: undefined, functions and symbols in arrays, NaN and Infinity become
        // null. Numbers and booleans are counted without JSON.stringify: a response of millions of
        // them held the process for seconds.
        if (typeof value === 'number' && Number.isFinite(value)) {
          setSlot(holder, slot, value);
          return String(value).length;
        }
        if (typeof value === 'boolean') {
          setSlot(holder, slot, value);
          return value ? 4 : 5;
        }
        const text = JSON.stringify(value) ?? 'null';
        const stored = text === 'null' ? null : value;
        setSlot(holder, slot, stored);
        const size = jsonBytes(text);
        if (typeof value === 'string' && size > smallest) {
          parts.push({ parent, holder, slot, size, offloaded: false });
        }
        return size;
      }
      if (isClaim(value) && existing.has(value.$claim)) {
        setSlot(holder, slot, { $claim: value.$claim, size: value.size });
        return jsonBytes(JSON.stringify(value));
      }
      const part: Part = { parent, holder, slot, size: 0, offloaded: false };
      let size = 2;
      let count = 0;
      if (Array.isArray(value)) {
        const copy: unknown[] = [];
        setSlot(holder, slot, copy);
        for (let i = 0; i < value.length; i++) size += encode(value[i], part, copy, i);
        count = value.length;
      } else {
        const copy: Record<string, unknown> = {};
        setSlot(holder, slot, copy);
        const object = value as Record<string, unknown>;
        for (const key of Object.keys(object)) {
          const child = object[key];
          if (child === undefined || typeof child === 'function' || typeof child === 'symbol') continue;
          let stored = storedKeys.get(key);
          if (stored === undefined) {
            const name = ESCAPABLE_KEY.test(key) ? `$${key}` : key;
            stored = { name, bytes: jsonBytes(JSON.stringify(name)) };
            storedKeys.set(key, stored);
          }
          size += stored.bytes + 1 + encode(child, part, copy, stored.name);
          count++;
        }
      }
      size += Math.max(0, count - 1);
      part.size = size;
      if (size > smallest) parts.push(part);
      if (parent !== undefined && size > partLimit) {
        const claim = claimFor(getSlot(holder, slot), size);
        setSlot(holder, slot, claim);
        part.offloaded = true;
        return jsonBytes(JSON.stringify(claim));
      }
      return size;
    }

    const root: Record<string, unknown> = {};
    let rootSize = encode(value, undefined, root, 'value');

    if (rootSize > whole) {
      const insideOffloaded = (part: Part) => {
        for (let p: Part | undefined = part; p !== undefined; p = p.parent) if (p.offloaded) return true;
        return false;
      };
      const candidates = parts.filter((part) => part.parent !== undefined && !insideOffloaded(part));
      candidates.sort((a, b) => b.size - a.size);
      for (const part of candidates) {
        if (rootSize <= whole) break;
        if (insideOffloaded(part)) continue;
        const saving = part.size - claimBytes(part.size);
        if (saving <= 0) continue;
        setSlot(part.holder, part.slot, claimFor(getSlot(part.holder, part.slot), part.size));
        part.offloaded = true;
        rootSize -= saving;
      }
    }
    // Many small parts can add up past the threshold with no single part worth moving: move the whole.
    if (rootSize > whole) root.value = claimFor(root.value, rootSize);

    await Promise.all([...writes].map(([key, body]) => store(key, body)));
    return root.value;
  }

  /** The payload of a claim, and whether it holds neither claims nor escaped keys (nothing to decode). */
  async function load(key: string): Promise<{ value: unknown; plain: boolean }> {
    let text: string;
    try {
      text = await blobs.get(key);
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new StorageError('PayloadMissing', `the stored payload '${key}' is missing`, {
          cause: error,
          details: { key },
        });
      }
      throw error;
    }
    const expected = CLAIM_KEY.exec(key)?.[2];
    if (sha256(text) !== expected) {
      throw new StorageError('PayloadCorrupt', `the stored payload '${key}' does not match its hash`, {
        details: { key },
      });
    }
    // Read and checked: a later offload of the same part needs no HEAD to know it is stored.
    remember(key);
    return { value: JSON.parse(text), plain: !text.includes(CLAIM_MARK) };
  }

  async function restore(value: unknown, options: RestoreOptions = {}): Promise<unknown> {
    const json = JSON.stringify(value);
    if (json === undefined || !json.includes(CLAIM_MARK)) return value;
    const { leave } = options;
    // Fetch every referenced blob (in parallel, level by level: a blob may hold claims itself), then
    // rebuild. Where a claim sits decides whether it is loaded (`leave`); a payload's own claims sit
    // below it, so without `leave` each payload is walked once, with it once per place.
    const loaded = new Map<string, unknown>();
    /** Loaded payloads with nothing to decode: the first place that holds one gets it as parsed. */
    const plain = new Set<string>();
    const walked = new Set<string>();
    let pending: Array<{ key: string; path: Array<string | number> }> = [];
    const found = (claim: Claim, path: ValuePath) => {
      // Named by a stored value, so stored (offload writes a payload before it returns its claim):
      // offloading the value again needs no HEAD for it.
      if (leave?.(path)) remember(claim.$claim);
      else pending.push({ key: claim.$claim, path: [...path] });
    };
    walkClaims(value, [], found);
    while (pending.length > 0) {
      const places = pending;
      pending = [];
      const keys = [...new Set(places.map((place) => place.key))].filter((key) => !loaded.has(key));
      const bodies = await Promise.all(keys.map(load));
      for (const [i, key] of keys.entries()) {
        loaded.set(key, bodies[i]!.value);
        if (bodies[i]!.plain) plain.add(key);
      }
      for (const place of places) {
        if (plain.has(place.key) || (leave === undefined && walked.has(place.key))) continue;
        walked.add(place.key);
        walkClaims(loaded.get(place.key), place.path, found);
      }
    }
    return decode(value, loaded, plain, leave && { leave, kept });
  }

  async function restoreKept(value: unknown): Promise<unknown> {
    return typeof value === 'object' && value !== null && kept.has(value) ? restore(value) : value;
  }

  return { offload, restore, restoreKept };
}

/** The blobs with at most `limit` requests under way; the others wait their turn, first come first served. */
function limited(blobs: PayloadBlobs, limit: number): PayloadBlobs {
  const slots = new Slots(limit);
  return {
    has: (key) => slots.run(() => blobs.has(key)),
    put: (key, body) => slots.run(() => blobs.put(key, body)),
    get: (key) => slots.run(() => blobs.get(key)),
  };
}

function setSlot(holder: Container, slot: string | number, value: unknown): void {
  // An own `__proto__` key (JSON.parse makes them) must stay data, not become the prototype. Any
  // other is assigned: defining every key as a property (array indices too, which V8 then keeps as
  // a dictionary) made a response of millions of items take seconds.
  if (slot === '__proto__') {
    Object.defineProperty(holder, slot, { value, enumerable: true, writable: true, configurable: true });
  } else {
    (holder as Record<string | number, unknown>)[slot] = value;
  }
}

function getSlot(holder: Container, slot: string | number): unknown {
  return (holder as Record<string | number, unknown>)[slot];
}

/** Calls `found` with each claim in `value` and where it sits (`path`, changed in place and put back). */
function walkClaims(
  value: unknown,
  path: Array<string | number>,
  found: (claim: Claim, path: ValuePath) => void,
) {
  if (typeof value !== 'object' || value === null) return;
  if (isClaim(value)) {
    found(value, path);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walkClaims(value[i], path, found);
      path.pop();
    }
    return;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    path.push(userKey(key));
    walkClaims(object[key], path, found);
    path.pop();
  }
}

/** A stored object key as the user wrote it (escaped `$claim` keys lose their extra `$`). */
function userKey(key: string): string {
  return ESCAPED_KEY.test(key) ? key.slice(1) : key;
}

/**
 * The stored form back to the user's form: claims replaced by their payloads, escaped keys unescaped.
 * With `leaving`, the claims its `leave` names by their place stay claims (added to its `kept`, for
 * `restoreKept`).
 */
function decode(
  value: unknown,
  loaded: ReadonlyMap<string, unknown>,
  /** Payloads that need no decoding: the first place of each gets it as it is (a copy of millions of items took seconds). */
  plain: Set<string>,
  leaving: { leave: (path: ValuePath) => boolean; kept: WeakSet<object> } | undefined,
): unknown {
  // The place of each part, changed in place and put back; only needed to ask `leave`.
  const path: Array<string | number> | undefined = leaving === undefined ? undefined : [];
  const at = (part: unknown): unknown => {
    if (typeof part !== 'object' || part === null) return part;
    if (isClaim(part)) {
      if (path !== undefined && leaving!.leave(path)) {
        const claim = { $claim: part.$claim, size: part.size };
        leaving!.kept.add(claim);
        return claim;
      }
      if (plain.delete(part.$claim)) return loaded.get(part.$claim);
      return at(loaded.get(part.$claim));
    }
    if (Array.isArray(part)) {
      return part.map((child, i) => {
        path?.push(i);
        const decoded = at(child);
        path?.pop();
        return decoded;
      });
    }
    const result: Record<string, unknown> = {};
    const object = part as Record<string, unknown>;
    for (const stored of Object.keys(object)) {
      const key = userKey(stored);
      path?.push(key);
      setSlot(result, key, at(object[stored]));
      path?.pop();
    }
    return result;
  };
  return at(value);
}

/** PayloadBlobs in memory: for unit tests and the harness. */
export function createMemoryPayloadBlobs(): PayloadBlobs & { readonly size: number } {
  const stored = new Map<string, string>();
  return {
    get size() {
      return stored.size;
    },
    async has(key) {
      return stored.has(key);
    },
    async put(key, body) {
      stored.set(key, body);
    },
    async get(key) {
      const body = stored.get(key);
      if (body === undefined) throw new NotFoundError('Payload', key);
      return body;
    },
  };
}
