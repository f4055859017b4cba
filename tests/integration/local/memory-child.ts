/**
 * The process that memory.test.ts starts: the local server (`npm start`'s) on a data directory,
 * driven over HTTP through blocks of work, with the heap measured after full garbage collections
 * before and after each block. It prints one JSON line, a MemoryReport.
 *
 * The work runs in cycles of four blocks (runs of a one-step workflow, runs whose form times out,
 * list requests, visits of people and attackers): two cycles warm up (bytecode, caches that fill to
 * a bound), two are measured.
 *
 * Usage: node --expose-gc --no-opt --no-sparkplug --no-flush-bytecode --import tsx \
 *          tests/integration/local/memory-child.ts <dataDir>
 *
 * The V8 flags keep compiled code out of the measurement: optimized and baseline code have objects
 * in the heap that come and go with what ran lately, and bytecode that has not run for a few
 * collections is dropped (together half a MB or more between two measurements of the same work).
 * With the interpreter only and bytecode kept, the heap holds the program's objects, and two
 * measurements of the same work agree to a few KB.
 */
import { connect } from 'node:net';
import v8 from 'node:v8';
import { startLocalServer } from '../../../infra/local/server.js';
import { trackLevelIterators } from '../storage/level-iterators.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface MemoryReport {
  /** Heap growth per 1,000 runs of a one-step workflow, per measured block. */
  runsMbPer1000: number[];
  /** Heap growth per 1,000 runs whose form times out (the execution's wait for a signal times out). */
  timedOutRunsMbPer1000: number[];
  /** Heap growth per GET /v1/executions, per measured block. */
  listKbPerRequest: number[];
  /**
   * Heap growth per 1,000 visits of a person and an attacker: an approval run started with an
   * Idempotency-Key, notified (the outbox) and answered; `/metrics` and the console read; a body
   * over the limit and one the client abandons halfway.
   */
  visitsMbPer1000: number[];
  /** RSS growth over the whole measurement (for the record: the allocator keeps pages). */
  rssMb: number;
  /** LevelDB iterators made during the work, and left open at the end. */
  iteratorsOpened: number;
  iteratorsOpen: number;
  runs: number;
  lists: number;
  visits: number;
}

const [dataDir] = process.argv.slice(2) as [string];
const gc = (globalThis as { gc?: () => void }).gc;
for (const flag of ['--expose-gc', '--no-opt', '--no-sparkplug', '--no-flush-bytecode']) {
  if (!process.execArgv.includes(flag)) throw new Error(`memory-child needs node ${flag}`);
}

/**
 * MB of live objects after full collections: the old generation, where every survivor of a full
 * collection is. Left out are the code spaces and the young generation (what the process
 * allocated since the last collection, between two of them).
 */
async function liveHeapMb(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    // Lets finalizers and weak callbacks run between collections; nothing runs after the last one.
    await new Promise((resolve) => setImmediate(resolve));
    gc!();
  }
  return (
    v8
      .getHeapSpaceStatistics()
      .filter((space) => !space.space_name.startsWith('code') && !space.space_name.startsWith('new'))
      .reduce((sum, space) => sum + space.space_used_size, 0) / 1e6
  );
}

const iterators = trackLevelIterators();
const server = await startLocalServer({ dataDir, port: 0, env: {} });

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const init: RequestInit = {
    method,
    headers: {
      ...headers,
      ...(body === undefined
        ? {}
        : { 'content-type': typeof body === 'string' ? 'text/yaml' : 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  };
  let response: Response;
  try {
    response = await fetch(`${server.url}${path}`, init);
  } catch {
    // A keep-alive connection the server closed just as it was reused: once more on a new one.
    response = await fetch(`${server.url}${path}`, init);
  }
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
}

await call(
  'POST',
  '/v1/workflows',
  'schema_version: "1.0"\nid: one-step\nsteps:\n  - { id: t, type: transform, config: { output: "hi" } }\n',
);
await call(
  'POST',
  '/v1/workflows',
  'schema_version: "1.0"\nid: times-out\nsteps:\n  - { id: ask, type: form, timeout_s: 1, config: { fields: [{ key: name, required: true }] } }\n',
);

await call(
  'POST',
  '/v1/workflows',
  'schema_version: "1.0"\nid: approved\nsteps:\n  - { id: ask, type: approval, config: { approvers: [ops@example.com], notify: { email: [ops@example.com] } } }\n',
);

/** Starts `count` runs, `parallel` at a time, each group until every execution has ended. */
async function runs(workflow: string, count: number, parallel: number): Promise<void> {
  for (let done = 0; done < count; done += parallel) {
    const group = Math.min(parallel, count - done);
    await Promise.all(
      Array.from({ length: group }, () => call('POST', '/v1/executions', { workflow_id: workflow })),
    );
    await server.runtime.settled();
  }
}

async function lists(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await call('GET', '/v1/executions?limit=20');
}

let visitKeys = 0;
/**
 * `count` visits, at once: each starts an approval run with an Idempotency-Key (a record in the
 * store, a notification in the outbox, a callback token), answers it once it waits, reads
 * `/metrics` and the console, sends a body over the limit (413) and abandons one halfway.
 */
async function visits(count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const run = (await call(
        'POST',
        '/v1/executions',
        { workflow_id: 'approved' },
        { 'idempotency-key': `visit-${++visitKeys}` },
      )) as { id: string };
      for (;;) {
        const { status } = (await call('GET', `/v1/executions/${run.id}`)) as { status: string };
        if (status === 'waiting') break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await call('POST', `/v1/executions/${run.id}/resume`, {
        decision: 'approve',
        approver: 'ops@example.com',
      });
      await call('GET', '/metrics');
      await fetch(`${server.url}/console/`).then((response) => response.text());
      const oversize = await fetch(`${server.url}/v1/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"workflow_id":"approved","inputs":{"x":"${'x'.repeat(1_100_000)}"}}`,
      });
      await oversize.text();
      if (oversize.status !== 413) throw new Error(`an oversize body answered ${oversize.status}`);
      await abandonedBody();
    }),
  );
  await server.runtime.settled();
}

/** A client that announces a body, sends part of it and goes away; resolves once the server closed its side. */
function abandonedBody(): Promise<void> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `POST /v1/executions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"workflow_id":`,
        () => socket.destroy(),
      );
    });
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

const growth = {
  runs: [] as number[],
  timedOut: [] as number[],
  lists: [] as number[],
  visits: [] as number[],
};

/**
 * Runs `groups` groups of `work`, and adds to `into` (when given) the heap growth per 1,000 units of
 * work. The heap is measured right after a group of the same work at both ends, so both
 * measurements see the same recent past: what the heap holds for a while after some work (the
 * sockets a burst of requests left in the connection pools, until they have been idle for seconds)
 * is as much at the end as at the start.
 */
async function block(
  work: () => Promise<void>,
  groups: number,
  unitsPerGroup: number,
  into: number[] | undefined,
): Promise<void> {
  await work();
  const before = into ? await liveHeapMb() : 0;
  for (let group = 0; group < groups; group++) await work();
  if (into) into.push((((await liveHeapMb()) - before) * 1000) / (groups * unitsPerGroup));
}

/**
 * One cycle of each kind of work: 150 runs of a one-step workflow, 10 at a time; 100 runs whose
 * form times out, 25 at a time; 160 list requests, one at a time; 250 visits, 25 at a time. The run
 * store keeps the journals of the last 500 runs it wrote, so that a commit needs no read
 * (MAX_KNOWN_JOURNALS in shared/storage/dynamodb/runs.ts): a bounded cache, whose size moves with
 * the kind of runs that fill it. A cycle writes 500 runs, so once a cycle filled the cache, each
 * block of runs replaces the journals of runs of the same kind, from the cycle before: the cache is
 * as large after a block as before it.
 */
async function cycle(measured: boolean): Promise<void> {
  await block(() => runs('one-step', 10, 10), 14, 10, measured ? growth.runs : undefined);
  await block(() => runs('times-out', 25, 25), 3, 25, measured ? growth.timedOut : undefined);
  await block(() => lists(10), 15, 10, measured ? growth.lists : undefined);
  await block(() => visits(25), 9, 25, measured ? growth.visits : undefined);
}

// Two cycles warm up (bytecode, the cache above), two are measured.
await cycle(false);
await cycle(false);
const rssBefore = process.memoryUsage().rss;
await cycle(true);
await cycle(true);
const rssMb = (process.memoryUsage().rss - rssBefore) / 1e6;

// An iterator closes a moment after its answer was sent: a leaked one never does.
const deadline = Date.now() + 10_000;
while (iterators.open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));

const report: MemoryReport = {
  runsMbPer1000: growth.runs,
  timedOutRunsMbPer1000: growth.timedOut,
  listKbPerRequest: growth.lists,
  visitsMbPer1000: growth.visits,
  rssMb,
  iteratorsOpened: iterators.opened(),
  iteratorsOpen: iterators.open(),
  runs: 2 * (140 + 75),
  lists: 2 * 150,
  visits: 2 * 225,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
await server.close();
process.exit(0);
