/** `flowrunner listeners` and `flowrunner events put` against a local server, with the example listener files. */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import type { Terminal } from '../../cli/terminal.js';
import type { Listener } from '../../shared/ports/index.js';
import { pollUntil } from '../support/poll.js';
import { startServerInProcess, useServer } from '../support/server-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const server = useServer(() => startServerInProcess({ FLOWRUNNER_API_KEYS: '' }));

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const terminal: Terminal = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    interactive: false,
    color: false,
    ask: async () => {
      throw new Error('no questions expected');
    },
    close: () => {},
  };
  const code = await main([...args, '--url', server.url], terminal);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('flowrunner listeners and events', () => {
  it('creates a listener from a file, fires it with events put, and manages it', async () => {
    expect(await cli('listeners')).toMatchObject({ code: 0, out: 'No listeners.' });
    const created = await cli('listeners', 'create', 'examples/listeners/order-events.yaml');
    expect(created.code, created.err).toBe(0);
    expect(created.out).toMatch(
      /^large-orders {2}eventbridge → order-events {2}enabled {2}fired 0, skipped 0, failed 0/,
    );
    expect((await cli('listeners', 'list')).out).toContain('large-orders');

    const put = await cli(
      'events',
      'put',
      '--source',
      'app.shop',
      '--detail-type',
      'Order Placed',
      '--detail',
      '{"order_id":"o-7","total":150,"currency":"EUR"}',
      '--id',
      'evt-7',
    );
    expect(put).toMatchObject({ code: 0, out: '✔ put event evt-7' });
    const fired = await pollUntil(
      async () => JSON.parse((await cli('listeners', 'show', 'large-orders', '--json')).out) as Listener,
      (listener) => listener.fired === 1,
      (listener) => JSON.stringify(listener),
    );
    const run = await pollUntil(
      async () =>
        JSON.parse((await cli('status', fired.last_run_id!, '--json')).out) as {
          status: string;
          output?: unknown;
        },
      (r) => r.status === 'completed',
      (r) => JSON.stringify(r),
    );
    expect(run.output).toBe('Order o-7 (150 EUR) is on its way');

    expect((await cli('listeners', 'disable', 'large-orders')).out).toMatch(/disabled/);
    expect((await cli('listeners', 'enable', 'large-orders')).out).toMatch(/ enabled /);
    expect(await cli('listeners', 'delete', 'large-orders')).toMatchObject({
      code: 0,
      out: '✔ deleted listener large-orders',
    });
    const gone = await cli('listeners', 'show', 'large-orders');
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^404 Not Found/);
  });

  it('prints the path of what is wrong in a listener file, and refuses bad arguments', async () => {
    const file = join(tmpdir(), `listener-${process.pid}.yaml`);
    await writeFile(
      file,
      'type: schedule\nworkflow_id: heartbeat\nmatch: { expression: "cron(0 9 * * * *)", timezone: Europe/Nowhere }\n',
    );
    const bad = await cli('listeners', 'create', file);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^422 /);
    expect(bad.err).toMatch(/^ {2}match\.expression: /m);
    expect(bad.err).toMatch(/^ {2}match\.timezone: unknown time zone/m);
    expect((await cli('listeners', 'show')).code).toBe(2);
    expect((await cli('listeners', 'explode', 'x')).code).toBe(2);
    expect((await cli('events', 'put', '--detail-type', 'x')).code).toBe(2);
    expect(
      (await cli('events', 'put', '--source', 's', '--detail-type', 'x', '--detail', '{nope')).code,
    ).toBe(2);
  });
});
