/** The CLI commands that talk to a server (start, status, resume, cancel, logs) and `invoke`. */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { logsCommand } from '../../cli/remote.js';
import { pollUntil } from '../support/poll.js';
import { listenOnLoopback, startServerInProcess, useServer } from '../support/server-process.js';
import { fakeTerminal } from '../support/terminal.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const server = useServer(() => startServerInProcess({ FLOWRUNNER_API_KEYS: '' }));

async function cli(...args: string[]) {
  const t = fakeTerminal();
  const code = await main([...args, '--url', server.url], t.terminal);
  return { code, out: t.out.join('\n'), err: t.err.join('\n') };
}

async function waitingRun(): Promise<string> {
  const started = await cli('start', 'review-loop', '--input', '{"topic":"queues"}', '--json');
  expect(started.code).toBe(0);
  const id = (JSON.parse(started.out) as { id: string }).id;
  await statusBecomes(id, 'waiting');
  return id;
}

/** Asks for the run's status until it is `status` (10 s at most). */
async function statusBecomes(id: string, status: string): Promise<void> {
  await pollUntil(
    async () => (JSON.parse((await cli('status', id, '--json')).out) as { status: string }).status,
    (now) => now === status,
    (now) => `the run is still ${now}, never ${status}`,
    { timeoutMs: 10_000, intervalMs: 100 },
  );
}

describe('flowrunner against a server', () => {
  it('starts a run and prints it', async () => {
    const { code, out } = await cli('start', 'order-checks', '--input', '{"order_id":"o-1","amount":5}');
    expect(code).toBe(0);
    expect(out).toMatch(/^run_\S+ {2}order-checks v1 {2}(queued|running|completed)/);
  });

  it('is idempotent with --idempotency-key, and says so', async () => {
    const args = ['start', 'order-checks', '--input', '{"order_id":"o-2","amount":5}'];
    const first = await cli(...args, '--idempotency-key', 'k-1', '--json');
    const again = await cli(...args, '--idempotency-key', 'k-1');
    expect(again.code).toBe(0);
    expect(again.out).toContain((JSON.parse(first.out) as { id: string }).id);
    expect(again.out).toMatch(/already started with this key/);
  });

  it('prints Problem Details with each error path, exit 1', async () => {
    const { code, err } = await cli('start', 'order-checks', '--input', '{}');
    expect(code).toBe(1);
    expect(err).toMatch(/^422 Unprocessable Content: .+/);
    expect(err).toMatch(/^ {2}inputs\.order_id: .*required/m);
    const missing = await cli('status', 'run_nope');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^404 Not Found/);
  });

  it('shows what a run waits for, with its callback token', async () => {
    const id = await waitingRun();
    const { code, out } = await cli('status', id);
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^${id} {2}review-loop v1 {2}waiting`));
    expect(out).toMatch(/waiting: review \(approval\) for approvers editor@example\.com/);
    expect(out).toMatch(/callback token: [\w-]{20,}/);
  });

  it('answers an approval, refusing a stranger, and follows the events to the end', async () => {
    const id = await waitingRun();
    const stranger = await cli('resume', id, '--approve', '--approver', 'mallory@example.com');
    expect(stranger.code).toBe(1);
    expect(stranger.err).toMatch(/^403 Forbidden: .*mallory@example\.com/);

    const following = cli('logs', id, '--follow');
    const approved = await cli('resume', id, '--approve', '--approver', 'editor@example.com');
    expect(approved).toMatchObject({ code: 0 });
    expect(approved.out).toMatch(/answered 'review'/);
    const logs = await following;
    expect(logs.code).toBe(0);
    const types = logs.out.split('\n').map((line) => line.split(/\s+/)[1]);
    expect(types[0]).toBe('run.created');
    expect(types).toContain('run.resumed');
    expect(types.at(-1)).toBe('run.completed');

    const done = await cli('status', id, '--json');
    expect(JSON.parse(done.out)).toMatchObject({ status: 'completed', output: { drafts: 1 } });
    const history = await cli('logs', id, '--json');
    expect(history.out.split('\n').map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(types);
  });

  it('cancels a waiting run, and refuses to cancel it twice', async () => {
    const id = await waitingRun();
    expect((await cli('cancel', id)).code).toBe(0);
    await statusBecomes(id, 'canceled');
    const again = await cli('cancel', id);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^409 Conflict: .*canceled/);
  });

  it('refuses a resume without a clear answer', async () => {
    expect((await cli('resume', 'run_x')).code).toBe(2);
    expect((await cli('resume', 'run_x', '--approve')).code).toBe(2);
    expect((await cli('resume', 'run_x', '--approve', '--input', '{}', '--approver', 'a')).code).toBe(2);
  });

  it('sends the API key as x-api-key', async () => {
    const seen: Array<string | undefined> = [];
    const fake = createServer((request, response) => {
      seen.push(request.headers['x-api-key'] as string | undefined);
      response.writeHead(401, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ title: 'Unauthorized', status: 401, detail: 'Unknown API key' }));
    });
    const url = await listenOnLoopback(fake);
    const t = fakeTerminal();
    const code = await main(['status', 'run_1', '--url', url, '--api-key', 'sekret'], t.terminal);
    fake.close();
    expect(code).toBe(1);
    expect(seen).toEqual(['sekret']);
    expect(t.err.join('\n')).toBe('401 Unauthorized: Unknown API key');
  });
});

/** One event of run_1 as the server streams it. */
function sse(seq: number, type: string): string {
  return `id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify({ seq, type, at: `2026-01-01T00:00:0${seq}.000Z` })}\n\n`;
}

describe('flowrunner logs --follow when the server goes away', () => {
  it('reconnects and goes on after the last event shown, and ends with the run', async () => {
    const asked: Array<string | undefined> = [];
    const fake = createServer((request, response: ServerResponse) => {
      if (request.url === '/v1/executions/run_1') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: asked.length >= 3 ? 'completed' : 'running' }));
        return;
      }
      asked.push(request.headers['last-event-id'] as string | undefined);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      if (asked.length === 1) {
        // The connection breaks (a kill -9): the client sees an error, not an end.
        response.write(sse(1, 'run.created') + sse(2, 'run.started'));
        setTimeout(() => response.socket?.destroy(), 50);
      } else if (asked.length === 2) {
        // The server stops (npm start ends its streams): an end, while the run goes on.
        response.end(sse(3, 'step.started'));
      } else {
        response.end(sse(4, 'run.completed'));
      }
    });
    const url = await listenOnLoopback(fake);
    const t = fakeTerminal();
    const code = await main(['logs', 'run_1', '--follow', '--url', url], t.terminal);
    fake.close();
    expect(code).toBe(0);
    expect(t.out.map((line) => line.split(/\s+/)[1])).toEqual([
      'run.created',
      'run.started',
      'step.started',
      'run.completed',
    ]);
    // Each stream goes on after the last event shown: none twice, none missed.
    expect(asked).toEqual([undefined, '2', '3']);
    expect(t.err.join('\n')).toMatch(/Lost the stream from http:\/\/127\.0\.0\.1:\d+; trying again/);
    expect(t.err.join('\n')).toMatch(/Reconnected/);
  });

  it('gives up with a clear message when the server does not come back, exit 2', async () => {
    const fake = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(sse(1, 'run.created'));
      setTimeout(() => {
        response.socket?.destroy();
        fake.close();
      }, 50);
    });
    const url = await listenOnLoopback(fake);
    const t = fakeTerminal();
    const code = await logsCommand(t.terminal, { url, json: false }, 'run_1', true, 1_000);
    expect(code).toBe(2);
    expect(t.out).toHaveLength(1);
    expect(t.err.at(-1)).toMatch(
      /No events from http:\/\/127\.0\.0\.1:\d+ for 1 s while it was away: run `flowrunner logs run_1 --follow` again/,
    );
  });

  it('gives up on a server whose streams end at once while the run goes on, rather than loop', async () => {
    let opened = 0;
    const fake = createServer((request, response) => {
      if (request.url === '/v1/executions/run_1') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"waiting"}');
        return;
      }
      opened += 1;
      response.writeHead(200, { 'content-type': 'text/event-stream' }).end();
    });
    const url = await listenOnLoopback(fake);
    const t = fakeTerminal();
    const code = await logsCommand(t.terminal, { url, json: false }, 'run_1', true, 1_000);
    fake.close();
    expect(code).toBe(2);
    expect(opened).toBeGreaterThan(1);
    expect(opened).toBeLessThan(20);
  });

  it('stops with exit 1 on an event that is not JSON, rather than read it again and again', async () => {
    const fake = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' }).end('id: 1\ndata: {not json\n\n');
    });
    const url = await listenOnLoopback(fake);
    const t = fakeTerminal();
    const code = await logsCommand(t.terminal, { url, json: false }, 'run_1', true, 1_000);
    fake.close();
    expect(code).toBe(1);
    expect(t.err.join('\n')).toMatch(/not JSON/);
  });

  it('reads a server that does not stream (the cloud API) page by page, to the end of the run', async () => {
    const events = [sse(1, 'run.created'), sse(2, 'run.started'), sse(3, 'run.completed')].map((block) =>
      JSON.parse(block.split('data: ')[1]!),
    );
    let polls = 0;
    const fake = createServer((request, response) => {
      const url = new URL(request.url!, 'http://x');
      if (url.pathname === '/v1/executions/run_1') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: polls >= 2 ? 'completed' : 'running' }));
        return;
      }
      polls += 1;
      const after = Number(url.searchParams.get('after') ?? 0);
      // One event a page, as they come.
      const page = events.filter((event) => event.seq > after).slice(0, polls >= 2 ? 3 : 1);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ events: page, next_cursor: null }));
    });
    const url = await listenOnLoopback(fake);
    const t = fakeTerminal();
    const code = await logsCommand(t.terminal, { url, json: false }, 'run_1', true, 5_000);
    fake.close();
    expect(code).toBe(0);
    expect(t.out.map((line) => line.split(/\s+/)[1])).toEqual([
      'run.created',
      'run.started',
      'run.completed',
    ]);
    expect(t.err).toEqual([]);
  });
});

describe('flowrunner without a server', () => {
  it('gives a one-line hint to run npm start, exit 2', async () => {
    const closed = createServer();
    const url = await listenOnLoopback(closed);
    await new Promise((resolve) => closed.close(resolve));
    const t = fakeTerminal();
    expect(await main(['status', 'run_1', '--url', url], t.terminal)).toBe(2);
    expect(t.err).toHaveLength(1);
    expect(t.err[0]).toMatch(/No Flowrunner server at http:\/\/127\.0\.0\.1:\d+.*npm start/);
  });

  it('has --help on every command', async () => {
    for (const command of ['start', 'status', 'resume', 'cancel', 'logs', 'invoke']) {
      const t = fakeTerminal();
      expect(await main([command, '--help'], t.terminal)).toBe(0);
      expect(t.out[0]).toMatch(new RegExp(`^Usage: flowrunner ${command} `));
    }
  });
});

describe('flowrunner invoke', () => {
  it('runs the api handler on the start sample and prints a 202 with the run', async () => {
    const t = fakeTerminal();
    expect(await main(['invoke', 'api', 'events/api/start-execution.json'], t.terminal)).toBe(0);
    const response = JSON.parse(t.out.join('\n')) as { statusCode: number; body: Record<string, unknown> };
    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ workflow_id: 'order-checks', id: expect.stringMatching(/^run_/) });
  }, 60_000);

  it('names the handlers there are when asked for another', async () => {
    const t = fakeTerminal();
    expect(await main(['invoke', 's3', 'events/s3/object-created.json'], t.terminal)).toBe(2);
    expect(t.err[0]).toMatch(/the handlers are api and trigger/);
  });

  it('runs the trigger handler on a bus sample: the example listener it matches starts its run', async () => {
    const t = fakeTerminal();
    expect(await main(['invoke', 'trigger', 'events/eventbridge/order-placed.json'], t.terminal)).toBe(0);
    const report = JSON.parse(t.out.join('\n')) as {
      deliveries: { type: string; outcomes: { listener_id: string; outcome: string; run_id?: string }[] }[];
    };
    expect(report.deliveries).toEqual([
      expect.objectContaining({
        type: 'eventbridge',
        outcomes: [
          { listener_id: 'large-orders', outcome: 'started', run_id: expect.stringMatching(/^run_/) },
        ],
      }),
    ]);
    expect(t.err.join('\n')).toMatch(/large-orders: started run_/);
  }, 60_000);

  it('refuses a malformed trigger event with the path of each problem, before starting anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowrunner-invoke-test-'));
    try {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ listener_id: 'heartbeat', scheduled_time: 'yesterday' }));
      const t = fakeTerminal();
      expect(await main(['invoke', 'trigger', file], t.terminal)).toBe(2);
      expect(t.err).toEqual([expect.stringMatching(/bad\.json: scheduled_time: /)]);
      writeFileSync(file, '{"Records": [');
      expect(await main(['invoke', 'trigger', file], t.terminal)).toBe(2);
      expect(t.err.at(-1)).toMatch(/is not a JSON event/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
