/**
 * W3C trace ids (32 lower-case hex digits) and span ids (16), for runs and spans, whether tracing is
 * on or off. They come from a pool of random bytes: one call to the system's CSPRNG and one hex
 * encoding per 512 span ids, then a slice of the pool per id. A crypto call per id costs ~2 µs, a
 * span id made of Math.random() words ~0.3 µs; a slice costs tens of nanoseconds, and the ids are
 * still unpredictable (the W3C spec asks for random ids; ours need not be secret, but need not be
 * guessable either).
 */
import { randomBytes } from 'node:crypto';
import type { TraceContext } from '../ports/telemetry.js';

/** Bytes drawn at a time: 8 KiB of hex, 512 span ids. */
const POOL_BYTES = 4096;
const ZERO_SPAN_ID = '0'.repeat(16);
const ZERO_TRACE_ID = '0'.repeat(32);

let pool = '';
let at = 0;

function hex(digits: number): string {
  if (at + digits > pool.length) {
    pool = randomBytes(POOL_BYTES).toString('hex');
    at = 0;
  }
  const id = pool.slice(at, at + digits);
  at += digits;
  return id;
}

/** A random span id; never all zeros (the W3C spec makes that id invalid). */
export function randomSpanId(): string {
  const id = hex(16);
  return id === ZERO_SPAN_ID ? randomSpanId() : id;
}

/** A random trace id; never all zeros. */
export function randomTraceId(): string {
  const id = hex(32);
  return id === ZERO_TRACE_ID ? randomTraceId() : id;
}

/** A new trace and its root span's id. */
export function randomTraceContext(): TraceContext {
  return { trace_id: randomTraceId(), span_id: randomSpanId() };
}
