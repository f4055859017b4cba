/**
 * A run's events as Server-Sent Events (`GET /v1/executions/{id}/events` with `Accept:
 * text/event-stream`, local server only): the events after `Last-Event-ID`, then each new one as it
 * is stored, until the run ends, the client leaves or the server closes.
 *
 * It writes only as fast as the client reads: once the connection's buffer is full it waits for it
 * to drain before reading the store again, and a client that takes nothing for STALL_MS is
 * disconnected (it reconnects with `Last-Event-ID` and misses nothing). Written without waiting, a client that
 * never read made the server read every page of the run and hold it all in memory, and again for
 * every event the run went on to make.
 */
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFinal } from '../../shared/engine/transition.js';
import { NotFoundError } from '../../shared/errors.js';
import type { RunStore } from '../../shared/ports/index.js';

/** How often a stream looks for new events while they come; idle, it looks half as often each time, down to once a second. */
const POLL_MS = 200;
const IDLE_POLL_MS = 1_000;
const HEARTBEAT_MS = 15_000;
/** Events read from the store at a time. */
export const PAGE_EVENTS = 100;
/** How long a client may take nothing before it is disconnected. */
export const STALL_MS = 60_000;

export interface EventStreamOptions {
  /** The seq of the last event the client has (its `Last-Event-ID`), 0 for all. */
  after: number;
  /** Aborted when the client leaves or the server closes. */
  signal: AbortSignal;
  stallMs?: number;
}

/** Streams the run's events into `out` (a ServerResponse, its head written); resolves when the stream is over. */
export async function streamRunEvents(
  runs: Pick<RunStore, 'events' | 'get'>,
  runId: string,
  out: Writable,
  options: EventStreamOptions,
): Promise<void> {
  const { signal } = options;
  let after = options.after;
  let heartbeat = Date.now();
  let wait = POLL_MS;
  try {
    while (!signal.aborted) {
      const page = await runs.events(runId, { after, limit: PAGE_EVENTS });
      for (const event of page.events) {
        out.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        after = event.seq;
      }
      if (out.writableNeedDrain && !(await drained(out, signal, options.stallMs ?? STALL_MS))) {
        // Ended, the connection would still hold what did not go out, for as long as the client
        // keeps it open: a client that stalls is disconnected.
        if (!signal.aborted) out.destroy();
        return;
      }
      if (page.events.length === PAGE_EVENTS) continue;
      wait = page.events.length > 0 ? POLL_MS : Math.min(wait * 2, IDLE_POLL_MS);
      const { state } = await runs.get(runId);
      if (isFinal(state.status) && state.seq <= after) return;
      if (Date.now() - heartbeat > HEARTBEAT_MS) {
        out.write(': keep-alive\n\n');
        heartbeat = Date.now();
      }
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}

/** Whether the client took what was written within `stallMs` (false: it left, stalled, or the server closes). */
function drained(out: Writable, signal: AbortSignal, stallMs: number): Promise<boolean> {
  // Listeners and a timer of its own, all removed when it settles: a signal combined per page
  // (AbortSignal.any, AbortSignal.timeout) outlived it, a timer and a dependent signal each.
  return new Promise((resolve) => {
    const settle = (drainedInTime: boolean) => {
      clearTimeout(timer);
      out.off('drain', onDrain);
      out.off('close', onGone);
      signal.removeEventListener('abort', onGone);
      resolve(drainedInTime);
    };
    const onDrain = () => settle(true);
    const onGone = () => settle(false);
    const timer = setTimeout(onGone, stallMs);
    out.once('drain', onDrain);
    out.once('close', onGone);
    signal.addEventListener('abort', onGone, { once: true });
    if (signal.aborted) onGone();
  });
}
