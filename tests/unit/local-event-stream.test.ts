/** A run's event stream (infra/local/event-stream.ts) writes only as fast as its client reads. */
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { PAGE_EVENTS, streamRunEvents } from '../../infra/local/event-stream.js';
import type { RunEvent, RunState } from '../../shared/engine/types.js';

/** A run with `count` events, ended or not, and the pages read from it. */
function storedRun(count: number, status: RunState['status']) {
  const events = Array.from(
    { length: count },
    (_, i) => ({ seq: i + 1, type: 'step.completed', at: '2026-12-05T00:00:00.000Z', data: {} }) as RunEvent,
  );
  const reads: number[] = [];
  const runs = {
    async events(_runId: string, page?: { after?: number; limit?: number }) {
      const after = page?.after ?? 0;
      reads.push(after);
      return { events: events.filter((e) => e.seq > after).slice(0, page?.limit ?? 100) };
    },
    async get() {
      return { state: { status, seq: count } as RunState, inbox_cursor: 0 };
    },
  };
  return { runs: runs as unknown as Parameters<typeof streamRunEvents>[0], reads };
}

/** A client that reads what it is sent at once, and what it got. */
function readingClient() {
  const received: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk.toString());
      done();
    },
  });
  return { out, received };
}

/** A client that never reads: its connection's buffer (a few events) fills and never drains. */
function stalledClient() {
  return new Writable({ highWaterMark: 1024, write() {} });
}

describe('a run event stream', () => {
  it('sends a reading client every event after its Last-Event-ID and ends with the run', async () => {
    const { runs, reads } = storedRun(1_050, 'completed');
    const { out, received } = readingClient();
    await streamRunEvents(runs, 'run_1', out, { after: 20, signal: new AbortController().signal });
    const ids = received.join('').match(/^id: \d+$/gm)!;
    expect(ids).toHaveLength(1_030);
    expect(ids[0]).toBe('id: 21');
    expect(ids.at(-1)).toBe('id: 1050');
    expect(reads).toHaveLength(Math.ceil(1_030 / PAGE_EVENTS));
  });

  it('reads no further while a client takes nothing, and lets it go after the stall limit', async () => {
    const { runs, reads } = storedRun(10_000, 'running');
    const out = stalledClient();
    const streaming = streamRunEvents(runs, 'run_1', out, {
      after: 0,
      signal: new AbortController().signal,
      stallMs: 300,
    });
    await sleep(100);
    // One page read, written into a buffer that did not drain: not the run's 100 pages.
    expect(reads).toEqual([0]);
    expect(out.writableLength).toBeLessThan(PAGE_EVENTS * 200);
    await streaming;
    expect(reads).toEqual([0]);
    // Disconnected, not ended: an ended connection would hold what was written while the client keeps it.
    expect(out.destroyed).toBe(true);
  });

  it('stops waiting for a stalled client as soon as it leaves or the server closes', async () => {
    const { runs } = storedRun(10_000, 'running');
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const left = new AbortController();
    const streaming = streamRunEvents(runs, 'run_1', stalledClient(), { after: 0, signal: left.signal });
    await sleep(20);
    const since = Date.now();
    left.abort();
    await streaming;
    expect(Date.now() - since).toBeLessThan(1_000);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(timersBefore);
  });
});
