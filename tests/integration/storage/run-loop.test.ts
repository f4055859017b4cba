/**
 * The engine's RunLoop persisting through the DynamoDB RunStore on dynalite: results of pure steps
 * committed together with the next commit, and a run picked up by another process after the first
 * one died with such results not yet committed.
 */
import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition, WorkflowVersion } from '../../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import { apply, createRun } from '../../../shared/engine/transition.js';
import type { RunState, Transition } from '../../../shared/engine/types.js';
import { RunLoop } from '../../../shared/orchestration/run-loop.js';
import type { LargePayloads } from '../../../shared/ports/index.js';
import {
  createClaimCheck,
  createMemoryPayloadBlobs,
  isClaim,
  type PayloadBlobs,
} from '../../../shared/storage/claim-check.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../../shared/storage/dynamodb/runs.js';
import { stateDelta } from '../../../shared/storage/run-delta.js';
import { memoryOrchestrator } from '../../support/memory-orchestrator.js';
import { TEST_CURSOR_KEY, useDynalite } from '../../support/stores.js';
import { linearTransformWorkflow, measureWritesPerStep } from './count-writes.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const dynamo = useDynalite();

/** Pure steps around one with a side effect: t0, t1 → call → t2, t3 (a condition) → t4. */
const mixed: WorkflowDefinition = {
  schema_version: '1.0',
  id: 'mixed',
  steps: [
    { id: 't0', type: 'transform', config: { output: { n: 1 } }, next: 't1' },
    { id: 't1', type: 'transform', config: { output: { n: '{{ steps.t0.output.n + 1 }}' } }, next: 'call' },
    {
      id: 'call',
      type: 'api_call',
      config: {
        method: 'POST',
        url: 'https://api.example.com/effects',
        body: { n: '{{ steps.t1.output.n }}' },
      },
      next: 't2',
    },
    { id: 't2', type: 'transform', config: { output: { n: '{{ steps.t1.output.n + 1 }}' } }, next: 't3' },
    { id: 't3', type: 'conditional', config: { when: 'steps.t2.output.n = 3' }, next: { true: 't4' } },
    { id: 't4', type: 'transform', config: { output: { done: true } } },
  ],
};

/** A step with a compensation entered `visits` times in a loop, then a failure: every visit is undone. */
function compensatedLoop(visits: number, padding = 200): WorkflowDefinition {
  return {
    schema_version: '1.0',
    id: `compensated-loop-${visits}`,
    steps: [
      {
        id: 'a',
        type: 'transform',
        max_visits: visits,
        config: { output: { visit: '{{ steps.a.visit }}', padding: `{{ $pad('', ${padding}, 'x') }}` } },
        // Fails unless it is handed the output of the visit it undoes.
        compensate: {
          type: 'transform',
          config: {
            output: "{{ ($assert(steps.a.output.visit = steps.a.visit, 'not its output'); steps.a.visit) }}",
          },
        },
        next: 'again',
      },
      {
        id: 'again',
        type: 'conditional',
        max_visits: visits,
        config: { when: `steps.a.visit < ${visits}` },
        next: { true: 'a', false: 'stop' },
      },
      { id: 'stop', type: 'fail', config: { error: 'Stopped' } },
    ],
  };
}

async function setUp(
  definition: WorkflowDefinition,
  options: { largePayloads?: () => LargePayloads; snapshotEvery?: number } = {},
) {
  const client = dynamo.client();
  const tables = await dynamo.freshTables(client);
  const { largePayloads, snapshotEvery } = options;
  const store = () =>
    new DynamoDbRunStore({
      client,
      table: tables.runs,
      cursors: new CursorCodec(TEST_CURSOR_KEY),
      ...(largePayloads ? { largePayloads: largePayloads() } : {}),
      ...(snapshotEvery ? { snapshotEvery } : {}),
    });
  const orchestrator = memoryOrchestrator();
  const { deps, clock } = orchestrator;
  const workflow: WorkflowVersion = {
    id: definition.id,
    version: 1,
    definition: assertValidWorkflow(definition, { registry: deps.registry }),
    created_at: clock.now().toISOString(),
  };
  /** The run as startRun stores it: created with its start applied. */
  const started = (runId: string): Transition => {
    const created = createRun({ id: runId, workflow, inputs: {}, now: clock.now() });
    const start = apply(
      workflow,
      created.state,
      { type: 'start' },
      { now: clock.now(), registry: deps.registry },
    );
    return { ...start, events: [...created.events, ...start.events] };
  };
  const loop = (
    state: RunState,
    persist: (t: Transition, steps?: readonly string[]) => Promise<void>,
    readKept?: (output: unknown) => Promise<unknown>,
  ) =>
    new RunLoop(state, {
      workflow,
      executor: deps,
      persist: (t, _signal, steps) => persist(t, steps),
      ...(readKept ? { readKept } : {}),
    });
  return { store, started, loop, http: orchestrator.http };
}

describe('RunLoop on the DynamoDB RunStore', () => {
  it('commits ten transform steps with the run: the start, then one commit for the pure steps and the end', async () => {
    const measured = await measureWritesPerStep({ endpoint: dynamo.endpoint, steps: 10 });
    expect(measured.steps).toBe(10);
    expect(measured.transitions).toBe(2);
    // Two puts to create, one per commit, and the run item when the status changed (twice).
    expect(measured.by_command).toEqual({ PutItemCommand: 2 + 2, UpdateItemCommand: 2 });
  });

  it('commits pure steps at most a batch at a time, so a crash recomputes a bounded amount', async () => {
    const measured = await measureWritesPerStep({ endpoint: dynamo.endpoint, steps: 100 });
    expect(measured.steps).toBe(100);
    expect(measured.transitions).toBeGreaterThanOrEqual(1 + Math.ceil(100 / 32));
    expect(measured.transitions).toBeLessThanOrEqual(2 + Math.ceil(100 / 32));
  });

  it('recomputes pure steps whose commit a crash lost: events and history equal a run without the crash, the side effect ran once', async () => {
    const clean = await setUp(mixed);
    const cleanStore = clean.store();
    const cleanRun = clean.started('run_mixed');
    await cleanStore.create(cleanRun);
    const done = await clean
      .loop(structuredClone(cleanRun.state), (t, steps) => cleanStore.commit(t, steps ? { steps } : {}))
      .run();
    expect(done.state.status).toBe('completed');

    const faulty = await setUp(mixed);
    const first = faulty.store();
    const created = faulty.started('run_mixed');
    await first.create(created);
    const committed: string[][] = [];
    const dying = faulty.loop(structuredClone(created.state), async (t, steps) => {
      // The process dies while committing the run's end: t2, t3 and t4 (pure) were never stored.
      if (t.state.status === 'completed') throw new Error('process killed');
      await first.commit(t, steps ? { steps } : {});
      committed.push(t.events.map((e) => `${e.type}:${e.step_id ?? ''}`));
    });
    await expect(dying.run()).rejects.toThrow('process killed');
    // The pure steps t0 and t1 were committed together with the dispatch of the call.
    expect(committed).toEqual([
      ['step.completed:t0', 'step.started:t1', 'step.completed:t1', 'step.started:call'],
      ['step.completed:call', 'step.started:t2'],
    ]);

    const second = faulty.store();
    const { state } = await second.get('run_mixed');
    expect(state.steps.t2?.status).toBe('running');
    const resumed = await faulty.loop(state, (t, steps) => second.commit(t, steps ? { steps } : {})).run();
    expect(resumed.state.status).toBe('completed');

    expect(await second.events('run_mixed', { limit: 1000 })).toEqual(
      await cleanStore.events('run_mixed', { limit: 1000 }),
    );
    expect(await second.history('run_mixed')).toEqual(await cleanStore.history('run_mixed'));
    expect((await second.get('run_mixed')).state).toEqual({
      ...(await cleanStore.get('run_mixed')).state,
      checkpoint: expect.any(Number),
    });
    expect(faulty.http.requests.map((r) => new URL(r.url).pathname)).toEqual(['/effects']);
  });

  it('writes the same few bytes for each compensation of a long loop, however many completions are left to undo', async () => {
    /** Bytes of each commit item that records a compensation (diffs only: snapshots hold the whole state). */
    const compensationCommits = async (visits: number) => {
      const { store, started, loop } = await setUp(compensatedLoop(visits));
      const writer = store();
      const run = started(`run_loop_${visits}`);
      await writer.create(run);
      const sizes: number[] = [];
      const result = await loop(structuredClone(run.state), async (t, steps) => {
        await writer.commit(t, steps ? { steps } : {});
        // What the store writes for the commit: its events and its delta (no completion is added now).
        if (t.events.some((e) => e.type === 'step.compensated')) {
          const delta = stateDelta(t.state, steps ?? [], t.state.completions.length);
          sizes.push(JSON.stringify({ events: t.events, delta }).length);
        }
      }).run();
      expect(result.state.status).toBe('failed');
      expect(result.state.compensated, JSON.stringify(result.state.error)).toBe(true);
      expect(sizes).toHaveLength(visits);
      // Read back by another process: every visit was undone.
      const history = await store().history(`run_loop_${visits}`);
      const undone = history.filter((row) => row.status === 'compensated').map((row) => row.visit);
      expect(undone.sort((x, y) => x - y)).toEqual(Array.from({ length: visits }, (_, i) => i + 1));
      return sizes;
    };
    const few = await compensationCommits(5);
    const many = await compensationCommits(100);
    // A copy of the completions still to undo, with their outputs, went into every commit: the first
    // compensation of 100 visits wrote 99 outputs of 200 bytes.
    expect(Math.max(...many)).toBeLessThan(Math.max(...few) + 500);
  });

  it('leaves the large outputs completions keep in storage until a compensation reads the one it undoes', async () => {
    const blobs = createMemoryPayloadBlobs();
    let gets = 0;
    const counted: PayloadBlobs = {
      has: (key) => blobs.has(key),
      put: (key, body) => blobs.put(key, body),
      get: (key) => {
        gets++;
        return blobs.get(key);
      },
    };
    // A fresh claim check per store: each is another process, which remembers no payload.
    const payloads = () => createClaimCheck({ blobs: counted, thresholdBytes: 1024 });
    const visits = 30;
    const { store, started, loop } = await setUp(compensatedLoop(visits, 2000), { largePayloads: payloads });
    const writer = store();
    const run = started('run_kept');
    await writer.create(run);
    let compensating: RunState | undefined;
    const first = await loop(structuredClone(run.state), async (t, steps) => {
      await writer.commit(t, steps ? { steps } : {});
      if (t.state.compensation && !compensating) throw new Error('stop when the compensation begins');
    })
      .run()
      .catch(async () => (compensating = (await store().get('run_kept')).state));
    expect(first).toBe(compensating);
    expect(compensating!.completions).toHaveLength(visits);

    // Another process picks the run up: the 30 kept outputs stay references; the step's own output
    // (the same value as the last visit's) is read.
    gets = 0;
    const reader = store();
    const { state } = await reader.get('run_kept');
    expect(gets).toBeLessThanOrEqual(2);
    expect(state.completions.filter((completion) => isClaim(completion.output))).toHaveLength(visits);
    expect(state.steps.a?.output).toMatchObject({ visit: visits });

    // Each compensation reads the output it undoes, and is handed it whole.
    gets = 0;
    const done = await loop(
      state,
      (t, steps) => reader.commit(t, steps ? { steps } : {}),
      (output) => reader.readKept(output),
    ).run();
    expect(done.state).toMatchObject({ status: 'failed', compensated: true });
    expect(gets).toBeLessThanOrEqual(visits + 2);
    expect((await store().get('run_kept')).state).toMatchObject({ status: 'failed', compensated: true });
  });

  it('hands a compensation the output it undoes unchanged, user data shaped like a claim included', async () => {
    const lookAlike = { $claim: `runs/run_other/payloads/${'0'.repeat(64)}.json`, size: 3 };
    const definition: WorkflowDefinition = {
      schema_version: '1.0',
      id: 'look-alikes',
      steps: [
        {
          id: 'a',
          type: 'transform',
          config: { output: { $$claim: 'user', $claim: 'also-user', look: lookAlike, n: 1 } },
          compensate: {
            type: 'transform',
            config: {
              output:
                "{{ ($assert(steps.a.output.`$$claim` = 'user' and steps.a.output.`$claim` = 'also-user' and steps.a.output.look.size = 3, 'altered'); 'undone') }}",
            },
          },
          next: 'b',
        },
        {
          id: 'b',
          type: 'transform',
          config: { output: lookAlike },
          compensate: {
            type: 'transform',
            config: { output: "{{ ($assert(steps.b.output.size = 3, 'altered'); 'undone') }}" },
          },
          next: 'stop',
        },
        { id: 'stop', type: 'fail', config: { error: 'Stopped' } },
      ],
    };
    const blobs = createMemoryPayloadBlobs();
    const { store, started, loop } = await setUp(definition, {
      largePayloads: () => createClaimCheck({ blobs, thresholdBytes: 1024 }),
    });
    // In one process, and picked up by another once the compensation began.
    for (const interrupted of [false, true]) {
      const writer = store();
      const id = `run_look_alike_${interrupted}`;
      const run = started(id);
      await writer.create(run);
      const stop = new Error('stop when the compensation begins');
      let result = await loop(
        structuredClone(run.state),
        async (t, steps) => {
          await writer.commit(t, steps ? { steps } : {});
          if (interrupted && t.state.compensation) throw stop;
        },
        (output) => writer.readKept(output),
      )
        .run()
        .catch((error: unknown) => {
          if (error !== stop) throw error;
          return undefined;
        });
      if (result === undefined) {
        const reader = store();
        const { state } = await reader.get(id);
        result = await loop(
          state,
          (t, steps) => reader.commit(t, steps ? { steps } : {}),
          (output) => reader.readKept(output),
        ).run();
      }
      expect(result.state, JSON.stringify(result.state.error)).toMatchObject({
        status: 'failed',
        compensated: true,
      });
    }
  });

  it('offloads each completion once, however many snapshots hold it', async () => {
    const claims = createClaimCheck({ blobs: createMemoryPayloadBlobs(), thresholdBytes: 1024 });
    const offloaded = new Map<number, number>();
    const counting: LargePayloads = {
      offload: (runId, value, options) => {
        // A completion: {step_id, visit, output} (a history row has a status, a step state no step_id).
        const part = value as { step_id?: string; visit?: number; status?: string } | null;
        if (part?.step_id !== undefined && part.visit !== undefined && part.status === undefined) {
          offloaded.set(part.visit, (offloaded.get(part.visit) ?? 0) + 1);
        }
        return claims.offload(runId, value, options);
      },
      restore: (value, options) => claims.restore(value, options),
      restoreKept: (value) => claims.restoreKept(value),
    };
    const visits = 30;
    const { store, started, loop } = await setUp(compensatedLoop(visits, 2000), {
      largePayloads: () => counting,
      snapshotEvery: 3,
    });
    const writer = store();
    const run = started('run_snapshots');
    await writer.create(run);
    const done = await loop(structuredClone(run.state), (t, steps) =>
      writer.commit(t, steps ? { steps } : {}),
    ).run();
    expect(done.state).toMatchObject({ status: 'failed', compensated: true });
    // Every visit's completion was stored, once: each snapshot (one every 3 commits) serialised and
    // hashed all of them again.
    expect([...offloaded.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: visits }, (_, i) => i + 1),
    );
    expect(Math.max(...offloaded.values())).toBe(1);
  });

  it('reads back exactly the state it committed after every transition of a long run', async () => {
    const { store, started, loop } = await setUp(linearTransformWorkflow(60));
    const writer = store();
    const run = started('run_long');
    await writer.create(run);
    const checked: number[] = [];
    const result = await loop(structuredClone(run.state), async (t, steps) => {
      await writer.commit(t, steps ? { steps } : {});
      // Another process, knowing nothing, reads snapshot + deltas and gets the state as committed.
      expect((await store().get('run_long')).state).toEqual(t.state);
      checked.push(t.state.checkpoint);
    }).run();
    expect(result.state.status).toBe('completed');
    expect(checked.length).toBeGreaterThan(1);
  });
});
