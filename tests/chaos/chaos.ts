/**
 * The reliability harness (`npm run chaos`; a short version runs in `npm test`): drives a real
 * `npm start` server over loopback the way an operator and an attacker would, and counts what
 * broke. Load at concurrency 1/8/32; a kill -9 of the whole server mid-load with runs waiting on
 * timers, approvals and in the middle of `api_call`s, then a restart; hostile expressions and
 * patterns while `/healthz` is polled; deep and oversize bodies; memory over many runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HttpSink, startHttpSink } from '../support/http-sink.js';

export interface ChaosOptions {
  /** Runs per load level (concurrency 1, 8, 32). */
  loadRuns: number;
  /** Runs of each kind under way when the server is killed. */
  crashRuns: number;
  /** Runs between the two memory readings. */
  memoryRuns: number;
  /** How long runs may take to end after the restart before they count as stuck (ms). */
  settleMs: number;
  log?: (line: string) => void;
}

export interface ChaosFigures {
  chaos_lost: number;
  chaos_stuck: number;
  chaos_double: number;
  chaos_signals_double: number;
  chaos_5xx: number;
  /** Times the server died under attack (and was started again to go on). */
  chaos_crashes: number;
  /** The slowest /healthz answer while hostile input ran; -1 when the server stopped answering. */
  healthz_max_ms_under_attack: number;
  rss_growth_mb_per_1000_runs: number;
  runs_per_s_c1: number;
  runs_per_s_c8: number;
  runs_per_s_c32: number;
}

const FINAL = new Set(['completed', 'failed', 'canceled']);

/** A server process in its own process group, on a data directory that outlives it. */
class Server {
  readonly url: string;
  readonly child: ChildProcess;

  private constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.child = child;
  }

  static async start(dataDir: string): Promise<Server> {
    const child = spawn(process.execPath, ['bin/server.mjs'], {
      env: {
        ...process.env,
        PORT: '0',
        FLOWRUNNER_S3_PORT: '0',
        FLOWRUNNER_DATA_DIR: dataDir,
        FLOWRUNNER_ALLOW_PRIVATE_NETWORK: 'true',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stderr!.resume();
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (text: string) => {
        out += text;
        const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) =>
        reject(new Error(`the server exited (${code}) before it listened: ${out}`)),
      );
    });
    return new Server(url, child);
  }

  /** kill -9 of the whole process group, as a crash or an OOM killer would. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    process.kill(-this.child.pid!, 'SIGKILL');
    await exited;
  }

  async rssMb(): Promise<number> {
    const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  }
}

interface Answer {
  status: number;
  body: unknown;
  ms: number;
}

async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  text?: string,
): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined && text === undefined ? {} : { 'content-type': 'application/json' },
    ...(text !== undefined ? { body: text } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const raw = await response.text();
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {}
  return { status: response.status, body: parsed, ms: performance.now() - started };
}

function workflows(sink: string) {
  const call = (id: string, next?: string) => ({
    id,
    type: 'api_call',
    config: { method: 'POST', url: `${sink}/${id}`, body: { step: id } },
    ...(next ? { next } : {}),
  });
  return [
    {
      schema_version: '1.0',
      id: 'chaos-plain',
      steps: [
        { id: 'a', type: 'transform', config: { output: { n: 1 } }, next: 'b' },
        { id: 'b', type: 'transform', config: { output: { n: '{{ steps.a.output.n + 1 }}' } }, next: 'c' },
        { id: 'c', type: 'transform', config: { output: { n: '{{ steps.b.output.n + 1 }}' } } },
      ],
    },
    { schema_version: '1.0', id: 'chaos-calls', steps: [call('a', 'b'), call('b', 'c'), call('c')] },
    {
      schema_version: '1.0',
      id: 'chaos-timer',
      steps: [{ id: 'nap', type: 'wait', config: { seconds: 2 }, next: 'after' }, call('after')],
    },
    {
      schema_version: '1.0',
      id: 'chaos-approval',
      steps: [
        {
          id: 'ask',
          type: 'approval',
          config: { approvers: ['ops@example.com'] },
          next: { approved: 'done' },
        },
        call('done'),
      ],
    },
    {
      schema_version: '1.0',
      id: 'chaos-hostile',
      steps: [
        {
          id: 'bomb',
          type: 'transform',
          config: { output: '{{ ( $e := function(){ $eval("$e()") }; $e() ) }}' },
        },
      ],
    },
    {
      schema_version: '1.0',
      id: 'chaos-pattern',
      inputs: { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } },
      steps: [
        {
          id: 'ask',
          type: 'form',
          config: { fields: [{ key: 'name', type: 'string', pattern: '^(\\p{L}+)+$' }] },
        },
      ],
    },
  ];
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function runStatus(url: string, id: string): Promise<string | undefined> {
  const answer = await call(url, 'GET', `/v1/executions/${id}`);
  return answer.status === 200 ? (answer.body as { status: string }).status : undefined;
}

/** Starts `count` runs of a workflow with at most `concurrency` requests at once; their ids. */
async function startRuns(
  url: string,
  workflowId: string,
  count: number,
  concurrency: number,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const answer = await call(url, 'POST', '/v1/executions', { workflow_id: workflowId, inputs: {} });
      if (answer.status !== 202)
        throw new Error(`start answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      ids.push((answer.body as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return ids;
}

async function untilEnded(
  url: string,
  ids: string[],
  timeoutMs: number,
): Promise<Map<string, string | undefined>> {
  const deadline = Date.now() + timeoutMs;
  const statuses = new Map<string, string | undefined>();
  for (;;) {
    for (const id of ids) {
      if (FINAL.has(statuses.get(id) ?? '')) continue;
      statuses.set(id, await runStatus(url, id));
    }
    if ([...statuses.values()].every((s) => FINAL.has(s ?? '')) || Date.now() > deadline) return statuses;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs per second of the 3-step plain workflow at one concurrency: start them all, then wait for every one. */
async function throughput(url: string, runs: number, concurrency: number): Promise<number> {
  const started = performance.now();
  const ids = await startRuns(url, 'chaos-plain', runs, concurrency);
  const statuses = await untilEnded(url, ids, 120_000);
  const done = [...statuses.values()].filter((s) => s === 'completed').length;
  if (done !== runs) throw new Error(`only ${done} of ${runs} load runs completed`);
  return Math.round((runs / ((performance.now() - started) / 1000)) * 10) / 10;
}

/** Each completed step visit counted in the run's events: more than one `step.completed` is a step done twice. */
async function doubles(url: string, ids: string[]): Promise<{ steps: number; signals: number }> {
  let steps = 0;
  let signals = 0;
  for (const id of ids) {
    const answer = await call(url, 'GET', `/v1/executions/${id}/events?limit=1000`);
    const events = (
      answer.body as { events?: Array<{ type: string; step_id?: string; data?: { visit?: number } }> }
    ).events;
    const seen = new Map<string, number>();
    for (const event of events ?? []) {
      if (event.type !== 'step.completed' && event.type !== 'run.resumed') continue;
      const key = `${event.type}:${event.step_id}:${event.data?.visit ?? ''}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    for (const [key, n] of seen) {
      if (n <= 1) continue;
      if (key.startsWith('run.resumed')) signals += n - 1;
      else steps += n - 1;
    }
  }
  return { steps, signals };
}

/** Polls /healthz every 25 ms while `attack` runs; the slowest answer. */
async function healthzUnder(url: string, attack: () => Promise<void>): Promise<number> {
  let worst = 0;
  let attacking = true;
  const poll = (async () => {
    while (attacking) {
      const answer = await call(url, 'GET', '/healthz');
      // A server that stopped answering is as bad as the whole attack's length.
      worst = Math.max(worst, answer.status === 200 ? answer.ms : Number.MAX_SAFE_INTEGER);
      if (answer.status !== 200) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  try {
    await attack();
  } finally {
    attacking = false;
    await poll;
  }
  return worst === Number.MAX_SAFE_INTEGER ? -1 : Math.round(worst);
}

function deep(levels: number): string {
  return `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const log = options.log ?? (() => {});
  const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-chaos-'));
  const sink: HttpSink = await startHttpSink({ delayMs: 150 });
  let server = await Server.start(dataDir);
  let fivexx = 0;
  /** A 5xx, or no answer at all (the server died), is a failure of the server. */
  const count = (answer: Answer) => {
    if (answer.status >= 500 || answer.status === 0) fivexx++;
    return answer;
  };
  let crashes = 0;
  /** Brings the server back if an attack took it down, so the next phase still runs (and the crash is counted). */
  const revive = async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) return;
    crashes++;
    server = await Server.start(dataDir);
  };
  try {
    for (const workflow of workflows(sink.url)) {
      const answer = count(await call(server.url, 'POST', '/v1/workflows', workflow));
      if (answer.status !== 201)
        throw new Error(`creating ${workflow.id}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }

    log('load: concurrency 1, 8, 32');
    const runs_per_s_c1 = await throughput(server.url, Math.max(4, Math.round(options.loadRuns / 4)), 1);
    const runs_per_s_c8 = await throughput(server.url, options.loadRuns, 8);
    const runs_per_s_c32 = await throughput(server.url, options.loadRuns, 32);

    log('crash: kill -9 with runs in api_calls, on timers and on approvals');
    const calls = await startRuns(server.url, 'chaos-calls', options.crashRuns, 8);
    const timers = await startRuns(server.url, 'chaos-timer', options.crashRuns, 8);
    const approvals = await startRuns(server.url, 'chaos-approval', options.crashRuns, 8);
    await waitFor('api_calls in flight', 30_000, async () =>
      sink.requests.length >= Math.max(1, Math.floor(options.crashRuns / 2)) ? true : undefined,
    );
    // Half of the approvals are answered before the crash, the rest after it.
    const answered = approvals.slice(0, Math.floor(approvals.length / 2));
    for (const id of answered) {
      await waitFor(`approval ${id} waiting`, 30_000, async () =>
        (await runStatus(server.url, id)) === 'waiting' ? true : undefined,
      );
      count(
        await call(server.url, 'POST', `/v1/executions/${id}/resume`, {
          decision: 'approve',
          approver: 'ops@example.com',
        }),
      );
    }
    await server.kill();
    server = await Server.start(dataDir);
    for (const id of approvals.slice(answered.length)) {
      await waitFor(`approval ${id} waiting after the restart`, options.settleMs, async () =>
        (await runStatus(server.url, id)) === 'waiting' ? true : undefined,
      );
      count(
        await call(server.url, 'POST', `/v1/executions/${id}/resume`, {
          decision: 'approve',
          approver: 'ops@example.com',
        }),
      );
    }
    const all = [...calls, ...timers, ...approvals];
    const statuses = await untilEnded(server.url, all, options.settleMs);
    const chaos_lost = [...statuses.values()].filter((s) => s === undefined).length;
    const chaos_stuck = [...statuses.values()].filter((s) => s !== undefined && !FINAL.has(s)).length;
    const double = await doubles(server.url, all);

    log('attack: hostile expression and patterns while /healthz is polled');
    const healthz_max_ms_under_attack = await healthzUnder(server.url, async () => {
      const bomb = count(await call(server.url, 'POST', '/v1/executions', { workflow_id: 'chaos-hostile' }));
      const bombId = (bomb.body as { id?: string }).id;
      count(
        await call(server.url, 'POST', '/v1/executions', {
          workflow_id: 'chaos-pattern',
          inputs: { name: `${'a'.repeat(32)}!` },
        }),
      );
      const form = count(await call(server.url, 'POST', '/v1/executions', { workflow_id: 'chaos-pattern' }));
      const formId = (form.body as { id?: string }).id;
      if (formId) {
        await waitFor('the form waiting', 30_000, async () =>
          (await runStatus(server.url, formId)) === 'waiting' ? true : undefined,
        );
        count(
          await call(server.url, 'POST', `/v1/executions/${formId}/resume`, {
            inputs: { name: `${'é'.repeat(32)}1` },
          }),
        );
      }
      if (bombId) await untilEnded(server.url, [bombId], 60_000);
    });

    await revive();

    log('bad input: deep nesting, oversize bodies, long ids');
    const bad = [
      call(
        server.url,
        'POST',
        '/v1/executions',
        undefined,
        `{"workflow_id":"chaos-plain","inputs":${deep(10_000)}}`,
      ),
      call(
        server.url,
        'POST',
        '/v1/executions',
        undefined,
        `{"workflow_id":"chaos-plain","profile":${deep(10_000)}}`,
      ),
      call(
        server.url,
        'POST',
        '/v1/executions',
        undefined,
        `{"workflow_id":"chaos-plain","inputs":{"x":1e309}}`,
      ),
      call(
        server.url,
        'POST',
        '/v1/executions',
        undefined,
        `{"workflow_id":"chaos-plain","inputs":{"x":"${'x'.repeat(2_000_000)}"}}`,
      ),
      call(server.url, 'GET', `/v1/executions/${'r'.repeat(10_000)}`),
      call(
        server.url,
        'POST',
        '/v1/workflows/validate',
        undefined,
        `{"schema_version":"1.0","id":"deep","static":${deep(10_000)},"steps":[]}`,
      ),
    ];
    for (const answer of await Promise.all(bad)) count(answer);
    await revive();

    log('memory: RSS before and after the memory runs');
    await throughput(server.url, Math.min(50, options.memoryRuns), 8); // warm-up
    const before = await server.rssMb();
    await throughput(server.url, options.memoryRuns, 8);
    const after = await server.rssMb();

    return {
      chaos_lost,
      chaos_stuck,
      chaos_double: double.steps,
      chaos_signals_double: double.signals,
      chaos_5xx: fivexx,
      chaos_crashes: crashes,
      healthz_max_ms_under_attack,
      rss_growth_mb_per_1000_runs: Math.round(((after - before) / options.memoryRuns) * 1000 * 10) / 10,
      runs_per_s_c1,
      runs_per_s_c8,
      runs_per_s_c32,
    };
  } finally {
    await server.kill();
    await sink.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
