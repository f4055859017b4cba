/**
 * The reliability harness (`npm run chaos`; a short version runs in `npm test`): drives a real
 * `npm start` server over loopback the way an operator and an attacker would, and counts what
 * broke. Load at concurrency 1/8/32; a kill -9 of the whole server mid-load with runs waiting on
 * timers, approvals and in the middle of `api_call`s, then a restart; hostile expressions and
 * patterns while `/healthz` is polled; deep and oversize bodies; memory and disk over many runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type HttpSink, startHttpSink } from '../support/http-sink.js';

/** Answers the harness's memory questions from inside the server (see the file). */
const MEMORY_PROBE = join(dirname(fileURLToPath(import.meta.url)), 'memory-probe.mjs');

export interface ChaosOptions {
  /** Runs per load level (concurrency 1, 8, 32). */
  loadRuns: number;
  /** Runs of each kind under way when the server is killed. */
  crashRuns: number;
  /**
   * Runs before memory is first read: the heap grows to its working size (V8 lets garbage pile up
   * to a limit it raises as the program allocates) and so do the stores' caches. Growth measured
   * before that is warm-up, not a leak.
   */
  memoryWarmupRuns: number;
  /** Runs over which memory and disk are read, after the warm-up (at the start and after each tenth). */
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
  /**
   * RSS as `top` shows it (garbage not yet collected included) after the warm-up, and the most it
   * reached in the warm-up and the memory runs, sampled every 250 ms (the collections forced to
   * read memory keep it lower in the memory runs: the most is mostly the warm-up's).
   */
  rss_mb_after_warmup: number;
  rss_max_mb: number;
  /** Growth of the RSS after full collections, per 1,000 runs after the warm-up: what the process keeps (least-squares slope of eleven readings). */
  rss_growth_mb_per_1000_runs: number;
  /**
   * The same for anonymous memory only (the heaps), without the store's files that LevelDB maps into
   * memory: those pages count in RSS but are the kernel's to drop, and grow with the data kept.
   */
  rss_anon_growth_mb_per_1000_runs: number;
  /** Growth of the live JS heap (after full collections) per 1,000 runs after the warm-up. */
  heap_growth_mb_per_1000_runs: number;
  /** Growth of the data directory per finished run: finished runs are kept (docs/local.md). */
  disk_kb_per_run: number;
  runs_per_s_c1: number;
  runs_per_s_c8: number;
  runs_per_s_c32: number;
}

const FINAL = new Set(['completed', 'failed', 'canceled']);

/** What the memory probe answers (bytes). */
interface MemoryReading {
  rss: number;
  /** RSS without file pages: the heaps, V8's and malloc's. */
  rssAnon: number;
  heapUsed: number;
}

/**
 * A server process in its own process group, on a data directory that outlives it. It is started as
 * `npm start` starts it, plus `--expose-gc` and the memory probe, which do nothing until asked.
 */
class Server {
  readonly url: string;
  readonly child: ChildProcess;
  #questions = 0;

  private constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.child = child;
  }

  static async start(dataDir: string): Promise<Server> {
    const child = spawn(process.execPath, ['--expose-gc', '--import', MEMORY_PROBE, 'bin/server.mjs'], {
      env: {
        ...process.env,
        PORT: '0',
        FLOWRUNNER_S3_PORT: '0',
        FLOWRUNNER_DATA_DIR: dataDir,
        FLOWRUNNER_ALLOW_PRIVATE_NETWORK: 'true',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    child.stderr!.resume();
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const banner = (text: string) => {
        out += text;
        const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (!match) return;
        // The log lines after the banner are read and dropped: kept, they would grow this process for ever.
        child.stdout!.off('data', banner).resume();
        resolve(match[1]!);
      };
      child.stdout!.setEncoding('utf8').on('data', banner);
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

  /** The server's memory, read inside it; after full garbage collections when `collect`. */
  memory(collect: boolean): Promise<MemoryReading> {
    const id = ++this.#questions;
    return new Promise((resolve, reject) => {
      const onMessage = (message: MemoryReading & { id: number }) => {
        if (message.id !== id) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        resolve(message);
      };
      const onExit = () => {
        this.child.off('message', onMessage);
        reject(new Error('the server exited before it told its memory'));
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ type: 'memory', id, collect });
    });
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

const MB = 1024 * 1024;

/** The least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

/** Bytes of the files under `dir`. */
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    // LevelDB deletes files it compacted away while this walks: a file gone is no bytes.
    total += await stat(join(entry.parentPath, entry.name)).then(
      (info) => info.size,
      () => 0,
    );
  }
  return total;
}

/**
 * Memory and disk over many runs of the 3-step workflow, after a warm-up. RSS as `top` shows it
 * rises and falls by tens of MB with the collector's cycles, so two readings of it say more about
 * when the collector last ran than about a leak (that is what the old figure, RSS after 1,000 runs
 * minus RSS after 50, measured: 82–126 MB of heap growing to its working size). Growth is therefore
 * read after full collections, eleven times, and fitted with a line; RSS as it is, sampled every
 * 250 ms from the start of the warm-up, gives the most a user sees.
 */
async function memoryOver(server: Server, dataDir: string, warmupRuns: number, runs: number) {
  let rssMax = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      rssMax = Math.max(rssMax, await server.rssMb());
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  await throughputInSlices(server.url, warmupRuns);
  const rssAfterWarmup = await server.rssMb();
  const rss: Array<[number, number]> = [];
  const anon: Array<[number, number]> = [];
  const heap: Array<[number, number]> = [];
  const disk: Array<[number, number]> = [];
  const slice = Math.max(1, Math.round(runs / 10));
  try {
    for (let done = 0; ; done += slice) {
      const live = await server.memory(true);
      rss.push([done, live.rss / MB]);
      anon.push([done, live.rssAnon / MB]);
      heap.push([done, live.heapUsed / MB]);
      disk.push([done, (await bytesUnder(dataDir)) / 1024]);
      if (done + slice > runs) break;
      await throughputInSlices(server.url, slice);
    }
  } finally {
    sampling = false;
    await sampler;
  }
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    rss_mb_after_warmup: Math.round(rssAfterWarmup),
    rss_max_mb: Math.round(rssMax),
    rss_growth_mb_per_1000_runs: round(slope(rss) * 1000),
    rss_anon_growth_mb_per_1000_runs: round(slope(anon) * 1000),
    heap_growth_mb_per_1000_runs: round(slope(heap) * 1000),
    disk_kb_per_run: round(slope(disk)),
  };
}

/** Runs of the 3-step workflow, at most 500 under way at a time: a backlog of started runs is memory too. */
async function throughputInSlices(url: string, runs: number): Promise<void> {
  for (let done = 0; done < runs; done += 500) await throughput(url, Math.min(500, runs - done), 8);
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

    log(
      `memory: ${options.memoryWarmupRuns} runs to warm up, then ${options.memoryRuns} runs, memory read eleven times`,
    );
    const memory = await memoryOver(server, dataDir, options.memoryWarmupRuns, options.memoryRuns);

    return {
      chaos_lost,
      chaos_stuck,
      chaos_double: double.steps,
      chaos_signals_double: double.signals,
      chaos_5xx: fivexx,
      chaos_crashes: crashes,
      healthz_max_ms_under_attack,
      ...memory,
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
