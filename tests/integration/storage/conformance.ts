/**
 * The storage contract, as one suite that every implementation of the record stores must pass:
 * the in-memory adapters, the DynamoDB adapters on dynalite and on DynamoDB Local. A target knows
 * nothing of the suite but how to make empty stores (and a second set of adapters over the same
 * data, as a second process would have).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import type { RunStatus, StepExecution } from '../../../shared/engine/types.js';
import {
  ConflictError,
  NotFoundError,
  StaleCheckpointError,
  ValidationError,
} from '../../../shared/errors.js';
import type { ListenerDefinition, OutboxEntry, Stores } from '../../../shared/ports/index.js';
import { contentHash } from '../../../shared/storage/content-hash.js';
import { failure, listener, RunScript, StepScript, workflowDefinition } from './fixtures.js';
import { describeTemplateStore } from './template-conformance.js';

export type RecordStores = Omit<Stores, 'artifacts'>;

export interface StoreTarget {
  /** Empty stores for one test. */
  stores: RecordStores;
  /** Other adapter instances over the same data: what a second process would use. */
  peer(): RecordStores;
  close(): Promise<void>;
}

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** Tampers with a cursor's payload while keeping its shape, as a client forging one would. */
function forge(cursor: string): string {
  const [payload, signature] = cursor.split('.');
  const position = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forged = Object.fromEntries(
    Object.entries(position).map(([key, value]) => [
      key,
      typeof value === 'number' ? value + 7 : `${value}0`,
    ]),
  );
  return `${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
}

const row = (step_id: string, visit: number, fields: Partial<StepExecution>): StepExecution => ({
  step_id,
  visit,
  type: 'transform',
  status: 'running',
  attempt: 1,
  ...fields,
});

export function describeStoreConformance(name: string, makeTarget: () => Promise<StoreTarget>): void {
  describe(`storage conformance: ${name}`, () => {
    let target: StoreTarget;
    let stores: RecordStores;

    beforeEach(async () => {
      target = await makeTarget();
      stores = target.stores;
    });

    afterEach(async () => {
      await target?.close();
    });

    describeTemplateStore(
      () => stores,
      () => target.peer(),
    );

    describe('WorkflowStore', () => {
      /** Twenty updates at once, every other one from another process; the i-th sends `definition(i)`. */
      const twentyUpdates = (definition: (i: number) => WorkflowDefinition, now: Date) => {
        const other = target.peer();
        return Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 === 0 ? stores : other).workflows.update(definition(i), now),
          ),
        );
      };

      it('creates version 1 and reads it as the latest and by number', async () => {
        const created = await stores.workflows.create(
          workflowDefinition('orders', { name: 'Orders', description: 'Takes orders' }),
          at(0),
        );
        expect(created).toMatchObject({ id: 'orders', version: 1, created_at: at(0).toISOString() });
        expect(await stores.workflows.get('orders')).toEqual(created);
        expect(await stores.workflows.get('orders', 1)).toEqual(created);
        expect(await stores.workflows.summary('orders')).toEqual({
          id: 'orders',
          latest_version: 1,
          name: 'Orders',
          description: 'Takes orders',
          created_at: at(0).toISOString(),
          updated_at: at(0).toISOString(),
        });
      });

      it('refuses to create an id that exists, retired or not', async () => {
        await stores.workflows.create(workflowDefinition('orders'), at(0));
        await stores.workflows.create(workflowDefinition('old'), at(0));
        await stores.workflows.retire('old', at(1));
        expect(await failure(stores.workflows.create(workflowDefinition('orders'), at(2)))).toBeInstanceOf(
          ConflictError,
        );
        expect(await failure(stores.workflows.create(workflowDefinition('old'), at(2)))).toBeInstanceOf(
          ConflictError,
        );
        expect((await stores.workflows.get('orders')).version).toBe(1);
      });

      it('adds the next version on update and keeps the earlier ones', async () => {
        await stores.workflows.create(workflowDefinition('orders', { name: 'Orders' }), at(0));
        const v2 = await stores.workflows.update(workflowDefinition('orders', { description: 'v2' }), at(5));
        expect(v2).toMatchObject({ id: 'orders', version: 2, created_at: at(5).toISOString() });
        expect(v2.definition.description).toBe('v2');
        expect(await stores.workflows.get('orders')).toEqual(v2);
        expect((await stores.workflows.get('orders', 1)).definition.name).toBe('Orders');
        expect(await stores.workflows.summary('orders')).toEqual({
          id: 'orders',
          latest_version: 2,
          description: 'v2',
          created_at: at(0).toISOString(),
          updated_at: at(5).toISOString(),
        });
      });

      it('gives concurrent updates distinct versions, losing none', async () => {
        await stores.workflows.create(workflowDefinition('orders'), at(0));
        const other = target.peer();
        const [a, b] = await Promise.all([
          stores.workflows.update(workflowDefinition('orders', { description: 'a' }), at(1)),
          other.workflows.update(workflowDefinition('orders', { description: 'b' }), at(1)),
        ]);
        expect([a.version, b.version].sort()).toEqual([2, 3]);
        expect((await stores.workflows.get('orders', a.version)).definition.description).toBe('a');
        expect((await stores.workflows.get('orders', b.version)).definition.description).toBe('b');
        expect((await stores.workflows.summary('orders')).latest_version).toBe(3);
      });

      it('gives 20 different updates at once from two processes 20 versions, refusing none', async () => {
        await stores.workflows.create(workflowDefinition('deploys'), at(0));
        const updates = await twentyUpdates(
          (i) => workflowDefinition('deploys', { description: `deploy ${i}` }),
          at(1),
        );
        expect(updates.map((u) => u.version).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 2),
        );
        for (const [i, update] of updates.entries()) {
          const stored = await stores.workflows.get('deploys', update.version);
          expect(stored.definition.description).toBe(`deploy ${i}`);
        }
        expect((await stores.workflows.summary('deploys')).latest_version).toBe(21);
      });

      it('adds one version for 20 identical updates at once', async () => {
        await stores.workflows.create(workflowDefinition('orders'), at(0));
        const answers = await twentyUpdates(() => workflowDefinition('orders', { name: 'v2' }), at(1));
        expect(new Set(answers.map((v) => v.version))).toEqual(new Set([2]));
        expect((await stores.workflows.versions('orders')).items.map((v) => v.version)).toEqual([2, 1]);
      });

      it('revives a retired workflow once for 20 identical updates at once', async () => {
        await stores.workflows.create(workflowDefinition('orders'), at(0));
        await stores.workflows.retire('orders', at(1));
        const answers = await twentyUpdates(() => workflowDefinition('orders'), at(2));
        expect(new Set(answers.map((v) => v.version))).toEqual(new Set([2]));
        expect((await stores.workflows.summary('orders')).retired).toBeUndefined();
      });

      it('refuses to update an unknown workflow', async () => {
        expect(await failure(stores.workflows.update(workflowDefinition('nope'), at(0)))).toBeInstanceOf(
          NotFoundError,
        );
      });

      it('revives a retired workflow with a version of its own, even with the same content', async () => {
        await stores.workflows.create(workflowDefinition('old'), at(0));
        await stores.workflows.retire('old', at(1));
        const revived = await stores.workflows.update(workflowDefinition('old'), at(2));
        expect(revived).toMatchObject({ version: 2, created_at: at(2).toISOString() });
        const summary = await stores.workflows.summary('old');
        expect(summary).toMatchObject({ latest_version: 2, updated_at: at(2).toISOString() });
        expect(summary.retired).toBeUndefined();
        // Alive again: the same content once more adds nothing.
        expect((await stores.workflows.update(workflowDefinition('old'), at(3))).version).toBe(2);
        const hashes = (await stores.workflows.versions('old')).items.map((v) => v.content_hash);
        expect(hashes[0]).toBe(hashes[1]);
      });

      it('answers NotFound for an unknown id or version', async () => {
        await stores.workflows.create(workflowDefinition('orders'), at(0));
        expect(await failure(stores.workflows.get('nope'))).toBeInstanceOf(NotFoundError);
        expect(await failure(stores.workflows.get('orders', 2))).toBeInstanceOf(NotFoundError);
        expect(await failure(stores.workflows.summary('nope'))).toBeInstanceOf(NotFoundError);
        expect(await failure(stores.workflows.retire('nope', at(1)))).toBeInstanceOf(NotFoundError);
      });

      it('retires a workflow that stays readable, so its runs can finish', async () => {
        const created = await stores.workflows.create(workflowDefinition('orders'), at(0));
        await stores.workflows.retire('orders', at(9));
        expect(await stores.workflows.summary('orders')).toMatchObject({
          retired: true,
          latest_version: 1,
          updated_at: at(9).toISOString(),
        });
        expect(await stores.workflows.get('orders')).toEqual(created);
      });

      it('lists workflows by id, page by page, with retired ones marked', async () => {
        const ids = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];
        for (const id of ids) await stores.workflows.create(workflowDefinition(id), at(0));
        await stores.workflows.retire('charlie', at(1));
        const first = await stores.workflows.list({ limit: 2 });
        expect(first.items.map((w) => w.id)).toEqual(['alpha', 'bravo']);
        const second = await stores.workflows.list({ limit: 2, cursor: first.next_cursor! });
        expect(second.items.map((w) => w.id)).toEqual(['charlie', 'delta']);
        expect(second.items[0]!.retired).toBe(true);
        const last = await stores.workflows.list({ limit: 2, cursor: second.next_cursor! });
        expect(last.items.map((w) => w.id)).toEqual(['echo']);
        expect(last.next_cursor).toBeUndefined();
        expect((await stores.workflows.list()).items).toHaveLength(5);
      });

      it('refuses forged cursors, cursors of other lists and limits out of range', async () => {
        for (const id of ['a1', 'a2', 'a3']) await stores.workflows.create(workflowDefinition(id), at(0));
        const { next_cursor } = await stores.workflows.list({ limit: 1 });
        expect(await failure(stores.workflows.list({ cursor: forge(next_cursor!) }))).toBeInstanceOf(
          ValidationError,
        );
        expect(await failure(stores.listeners.list({ cursor: next_cursor! }))).toBeInstanceOf(
          ValidationError,
        );
        expect(await failure(stores.workflows.list({ cursor: 'not-a-cursor' }))).toBeInstanceOf(
          ValidationError,
        );
        expect(await failure(stores.workflows.list({ limit: 0 }))).toBeInstanceOf(ValidationError);
        expect(await failure(stores.workflows.list({ limit: 101 }))).toBeInstanceOf(ValidationError);
      });

      it('adds no version when the content equals the latest version, whatever the key order', async () => {
        await stores.workflows.create(workflowDefinition('orders', { name: 'Orders' }), at(0));
        const same = workflowDefinition('orders', { name: 'Orders' });
        const reordered = Object.fromEntries(Object.entries(same).reverse()) as typeof same;
        const again = await stores.workflows.update(reordered, at(5));
        expect(again).toEqual(await stores.workflows.get('orders', 1));
        expect((await stores.workflows.summary('orders')).latest_version).toBe(1);
        const v2 = await stores.workflows.update(workflowDefinition('orders', { name: 'Orders 2' }), at(6));
        expect(v2.version).toBe(2);
        // Only the latest counts: going back to version 1's content is a new version.
        const v3 = await stores.workflows.update(workflowDefinition('orders', { name: 'Orders' }), at(7));
        expect(v3.version).toBe(3);
        expect(
          await stores.workflows.update(workflowDefinition('orders', { name: 'Orders' }), at(8)),
        ).toEqual(v3);
      });

      it('lists versions newest first with created_at and a content hash of the canonical definition', async () => {
        await stores.workflows.create(workflowDefinition('orders', { name: 'A' }), at(0));
        await stores.workflows.update(workflowDefinition('orders', { name: 'B' }), at(1));
        await stores.workflows.update(workflowDefinition('orders', { name: 'A' }), at(2));
        const { items, next_cursor } = await stores.workflows.versions('orders');
        expect(next_cursor).toBeUndefined();
        expect(items.map((v) => [v.version, v.created_at])).toEqual([
          [3, at(2).toISOString()],
          [2, at(1).toISOString()],
          [1, at(0).toISOString()],
        ]);
        for (const item of items) expect(item.content_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(items[0]!.content_hash).toBe(items[2]!.content_hash);
        expect(items[1]!.content_hash).not.toBe(items[0]!.content_hash);
        expect(items[0]!.content_hash).toBe(
          contentHash((await stores.workflows.get('orders', 1)).definition),
        );
        expect(await target.peer().workflows.versions('orders')).toEqual({ items });
      });

      it('pages versions with a cursor valid for that workflow only, and knows unknown ids', async () => {
        await stores.workflows.create(workflowDefinition('orders', { name: 'v1' }), at(0));
        await stores.workflows.create(workflowDefinition('other'), at(0));
        for (let n = 2; n <= 5; n++) {
          await stores.workflows.update(workflowDefinition('orders', { name: `v${n}` }), at(n));
        }
        const seen: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await stores.workflows.versions('orders', { limit: 2, cursor });
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...page.items.map((v) => v.version));
          cursor = page.next_cursor;
        } while (cursor);
        expect(seen).toEqual([5, 4, 3, 2, 1]);
        const first = await stores.workflows.versions('orders', { limit: 1 });
        expect(
          await failure(stores.workflows.versions('other', { cursor: first.next_cursor! })),
        ).toBeInstanceOf(ValidationError);
        expect(
          await failure(stores.workflows.versions('orders', { cursor: forge(first.next_cursor!) })),
        ).toBeInstanceOf(ValidationError);
        expect(await failure(stores.workflows.versions('orders', { limit: 101 }))).toBeInstanceOf(
          ValidationError,
        );
        expect(await failure(stores.workflows.versions('nope'))).toBeInstanceOf(NotFoundError);
        await stores.workflows.retire('orders', at(9));
        expect((await stores.workflows.versions('orders')).items).toHaveLength(5);
      });
    });

    describe('RunStore', () => {
      it('stores a new run and reads back its state, event and empty history', async () => {
        const run = new RunScript('run_new');
        const created = run.created();
        await stores.runs.create(created);
        const record = await stores.runs.get('run_new');
        expect(record).toMatchObject({ state: created.state, inbox_cursor: 0 });
        expect(record.task_token).toBeUndefined();
        expect(record.inbox ?? []).toEqual([]);
        expect((await stores.runs.events('run_new')).events).toEqual(created.events);
        expect(await stores.runs.history('run_new')).toEqual([]);
      });

      it('refuses a second run with the same id', async () => {
        const run = new RunScript('run_twice');
        await stores.runs.create(run.created());
        expect(await failure(stores.runs.create(new RunScript('run_twice').created()))).toBeInstanceOf(
          ConflictError,
        );
      });

      it('commits transitions in checkpoint order and reads the latest state', async () => {
        const run = new RunScript('run_steps');
        await stores.runs.create(run.created());
        await stores.runs.commit(run.next({ status: 'running', events: [{ type: 'run.started' }] }));
        const second = run.next({
          status: 'completed',
          events: [{ type: 'run.completed', data: { ok: true } }],
          patch: { output: { total: 42, items: ['x'] } },
        });
        await stores.runs.commit(second);
        expect((await stores.runs.get('run_steps')).state).toEqual(second.state);
        expect((await stores.runs.events('run_steps')).events.map((e) => [e.seq, e.type])).toEqual([
          [1, 'run.created'],
          [2, 'run.started'],
          [3, 'run.completed'],
        ]);
      });

      it('refuses a stale checkpoint and keeps what was stored', async () => {
        const run = new RunScript('run_stale');
        await stores.runs.create(run.created());
        const stale = run.fork();
        const stored = run.next({ status: 'running' });
        await stores.runs.commit(stored);
        const error = await failure(stores.runs.commit(stale.next({ status: 'canceled' })));
        expect(error).toBeInstanceOf(StaleCheckpointError);
        expect(await failure(stores.runs.commit(stored))).toBeInstanceOf(StaleCheckpointError);
        const skipping = run.fork();
        skipping.next();
        expect(await failure(stores.runs.commit(skipping.next()))).toBeInstanceOf(StaleCheckpointError);
        expect((await stores.runs.get('run_stale')).state).toEqual(stored.state);
        expect((await stores.runs.events('run_stale')).events).toHaveLength(2);
      });

      it('lets exactly one of concurrent commits of one checkpoint win, across processes', async () => {
        const run = new RunScript('run_race');
        await stores.runs.create(run.created());
        await stores.runs.commit(run.next({ status: 'running' }));
        const contenders = (['completed', 'failed', 'canceled', 'paused'] as RunStatus[]).map((status) =>
          run.fork().next({ status, events: [{ type: 'run.resumed', data: { by: status } }] }),
        );
        const processes = [stores, target.peer(), target.peer(), target.peer()];
        const results = await Promise.allSettled(contenders.map((t, i) => processes[i]!.runs.commit(t)));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(won).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(StaleCheckpointError);
        }
        const winner = contenders[won[0]!]!;
        expect((await target.peer().runs.get('run_race')).state).toEqual(winner.state);
        const { events } = await stores.runs.events('run_race');
        expect(events.filter((e) => e.type === 'run.resumed').map((e) => e.data)).toEqual([
          { by: winner.state.status },
        ]);
        // The loser's process goes on from what is stored, not from what it believed.
        const loser = processes[(won[0]! + 1) % processes.length]!;
        const next = new RunScript('run_race', {}, (await loser.runs.get('run_race')).state).next();
        await loser.runs.commit(next);
        expect((await stores.runs.get('run_race')).state.checkpoint).toBe(3);
      });

      it('answers NotFound for an unknown run', async () => {
        expect(await failure(stores.runs.get('run_unknown'))).toBeInstanceOf(NotFoundError);
        expect(await failure(stores.runs.events('run_unknown'))).toBeInstanceOf(NotFoundError);
        expect(await failure(stores.runs.history('run_unknown'))).toBeInstanceOf(NotFoundError);
        expect(await failure(stores.runs.commit(new RunScript('run_unknown').next()))).toBeInstanceOf(
          NotFoundError,
        );
        expect(await failure(stores.runs.setTaskToken('run_unknown', 'tok'))).toBeInstanceOf(NotFoundError);
      });

      it('keeps the inbox cursor with the checkpoint it was committed with', async () => {
        const run = new RunScript('run_inbox_cursor');
        await stores.runs.create(run.created());
        await stores.runs.commit(run.next(), { inbox_cursor: 3 });
        expect((await stores.runs.get('run_inbox_cursor')).inbox_cursor).toBe(3);
        await stores.runs.commit(run.next());
        expect((await stores.runs.get('run_inbox_cursor')).inbox_cursor).toBe(3);
        await stores.runs.commit(run.next(), { inbox_cursor: 5 });
        expect((await stores.runs.get('run_inbox_cursor')).inbox_cursor).toBe(5);
      });

      it('sets and clears the task token, only at the expected checkpoint when asked', async () => {
        const run = new RunScript('run_token');
        await stores.runs.create(run.created());
        await stores.runs.commit(run.next());
        await stores.runs.setTaskToken('run_token', 'token-1', { ifCheckpoint: 1 });
        expect((await stores.runs.get('run_token')).task_token).toBe('token-1');
        expect(
          await failure(stores.runs.setTaskToken('run_token', 'token-2', { ifCheckpoint: 0 })),
        ).toBeInstanceOf(StaleCheckpointError);
        expect((await stores.runs.get('run_token')).task_token).toBe('token-1');
        await stores.runs.setTaskToken('run_token', 'token-3');
        expect((await stores.runs.get('run_token')).task_token).toBe('token-3');
        await stores.runs.setTaskToken('run_token', undefined);
        expect((await stores.runs.get('run_token')).task_token).toBeUndefined();
        // A commit does not disturb the token.
        await stores.runs.setTaskToken('run_token', 'token-4');
        await stores.runs.commit(run.next());
        expect((await stores.runs.get('run_token')).task_token).toBe('token-4');
      });

      it('pages through events after a seq or a cursor, with limits', async () => {
        const run = new RunScript('run_events');
        await stores.runs.create(run.created());
        for (let i = 1; i <= 30; i++) {
          await stores.runs.commit(
            run.next({
              events: [
                { type: 'step.started', step_id: `s${i}`, data: { i } },
                { type: 'step.completed', step_id: `s${i}`, data: { i, output: 'x'.repeat(40) } },
              ],
            }),
          );
        }
        const seqs = (events: { seq: number }[]) => events.map((e) => e.seq);
        const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

        const first = await stores.runs.events('run_events', { limit: 25 });
        expect(seqs(first.events)).toEqual(range(1, 25));
        const second = await stores.runs.events('run_events', { cursor: first.next_cursor!, limit: 25 });
        expect(seqs(second.events)).toEqual(range(26, 50));
        const third = await stores.runs.events('run_events', { cursor: second.next_cursor!, limit: 25 });
        expect(seqs(third.events)).toEqual(range(51, 61));
        expect(third.next_cursor).toBeUndefined();

        expect(seqs((await stores.runs.events('run_events', { after: 55 })).events)).toEqual(range(56, 61));
        expect(seqs((await stores.runs.events('run_events', { after: 10, limit: 3 })).events)).toEqual([
          11, 12, 13,
        ]);
        expect((await stores.runs.events('run_events', { after: 61 })).events).toEqual([]);
        expect((await stores.runs.events('run_events', { after: 60, limit: 1 })).next_cursor).toBeUndefined();
        expect(seqs((await stores.runs.events('run_events')).events)).toEqual(range(1, 61));
        const event = (await stores.runs.events('run_events', { after: 4, limit: 1 })).events[0];
        expect(event).toEqual({
          seq: 5,
          type: 'step.completed',
          at: run.state.created_at,
          step_id: 's2',
          data: { i: 2, output: 'x'.repeat(40) },
        });
      });

      it('refuses an events cursor of another run, a forged one, and bad windows', async () => {
        for (const id of ['run_ev_a', 'run_ev_b']) {
          const run = new RunScript(id);
          await stores.runs.create(run.created());
          await stores.runs.commit(run.next({ events: [{ type: 'run.started' }, { type: 'step.started' }] }));
        }
        const { next_cursor } = await stores.runs.events('run_ev_a', { limit: 1 });
        expect(next_cursor).toBeDefined();
        expect(await failure(stores.runs.events('run_ev_b', { cursor: next_cursor! }))).toBeInstanceOf(
          ValidationError,
        );
        expect(await failure(stores.runs.events('run_ev_a', { cursor: forge(next_cursor!) }))).toBeInstanceOf(
          ValidationError,
        );
        expect(
          await failure(stores.runs.events('run_ev_a', { cursor: next_cursor!, after: 1 })),
        ).toBeInstanceOf(ValidationError);
        expect(await failure(stores.runs.events('run_ev_a', { limit: 0 }))).toBeInstanceOf(ValidationError);
        expect(await failure(stores.runs.events('run_ev_a', { after: -1 }))).toBeInstanceOf(ValidationError);
        expect(await failure(stores.runs.list({ cursor: next_cursor! }))).toBeInstanceOf(ValidationError);
      });

      it('merges history patches by step and visit, in the order the rows began', async () => {
        const run = new RunScript('run_history');
        await stores.runs.create(run.created());
        const patches: StepExecution[][] = [
          [row('a', 1, { started_at: 't1' })],
          [
            row('a', 1, { status: 'completed', ended_at: 't2', outcome: 'success', output: { n: 1 } }),
            row('b', 1, { type: 'approval', status: 'waiting', started_at: 't2' }),
          ],
          [row('a', 2, { started_at: 't3', attempt: 1 })],
          [
            row('a', 2, {
              status: 'failed',
              attempt: 2,
              error: { code: 'Boom', message: 'no' },
              ended_at: 't4',
            }),
          ],
          [
            row('b', 1, {
              type: 'approval',
              status: 'completed',
              ended_at: 't5',
              output: { approved: true },
            }),
          ],
        ];
        for (const history of patches) await stores.runs.commit(run.next({ history }));
        expect(await stores.runs.history('run_history')).toEqual([
          {
            step_id: 'a',
            visit: 1,
            type: 'transform',
            status: 'completed',
            attempt: 1,
            started_at: 't1',
            ended_at: 't2',
            outcome: 'success',
            output: { n: 1 },
          },
          {
            step_id: 'b',
            visit: 1,
            type: 'approval',
            status: 'completed',
            attempt: 1,
            started_at: 't2',
            ended_at: 't5',
            output: { approved: true },
          },
          {
            step_id: 'a',
            visit: 2,
            type: 'transform',
            status: 'failed',
            attempt: 2,
            started_at: 't3',
            ended_at: 't4',
            error: { code: 'Boom', message: 'no' },
          },
        ]);
      });

      it('reads a run back as snapshot plus deltas exactly as committed, from another process, after every commit', async () => {
        const script = new StepScript('run_deltas');
        await stores.runs.create(script.created());
        const total = 40;
        for (let i = 1; i <= total; i++) {
          const { transition, steps } = script.next();
          await stores.runs.commit(transition, { steps, ...(i % 6 === 0 ? { inbox_cursor: i } : {}) });
          const record = await target.peer().runs.get('run_deltas');
          expect(record.state).toEqual(transition.state);
          expect(record.inbox_cursor).toBe(6 * Math.floor(i / 6));
        }
        const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
        const last = total + 1;
        expect(
          (await target.peer().runs.events('run_deltas', { limit: 100 })).events.map((e) => e.seq),
        ).toEqual(seqs(1, last));
        // Every window, whether it starts on a commit's boundary or not.
        for (let after = 0; after <= last; after++) {
          const page = await stores.runs.events('run_deltas', { after, limit: 3 });
          expect(page.events.map((e) => e.seq)).toEqual(seqs(after + 1, Math.min(after + 3, last)));
          expect(page.next_cursor !== undefined).toBe(after + 3 < last);
        }
        expect((await target.peer().runs.history('run_deltas')).map((row) => row.visit)).toEqual(
          seqs(1, total),
        );
        // A process that knows nothing of the run commits the next delta on top of what is stored.
        const { transition, steps } = script.next();
        await target.peer().runs.commit(transition, { steps });
        expect((await stores.runs.get('run_deltas')).state).toEqual(transition.state);
      });

      it('lets exactly one of 20 concurrent commits after one checkpoint win, deltas and snapshots alike', async () => {
        const script = new StepScript('run_twenty');
        await stores.runs.create(script.created());
        const first = script.next();
        await stores.runs.commit(first.transition, { steps: first.steps });
        for (const processes of [
          Array.from({ length: 20 }, () => target.peer()),
          Array.from({ length: 20 }, () => stores),
        ]) {
          const base = (await stores.runs.get('run_twenty')).state;
          const contenders = processes.map((_, i) =>
            new RunScript('run_twenty', {}, structuredClone(base)).next({
              events: [{ type: 'run.resumed', data: { by: i } }],
              patch: { output: { by: i } },
            }),
          );
          const results = await Promise.allSettled(
            contenders.map((t, i) => processes[i]!.runs.commit(t, i % 2 === 0 ? { steps: ['s0'] } : {})),
          );
          const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
          expect(won).toHaveLength(1);
          for (const result of results) {
            if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(StaleCheckpointError);
          }
          expect((await target.peer().runs.get('run_twenty')).state).toEqual(contenders[won[0]!]!.state);
        }
        const { events } = await stores.runs.events('run_twenty', { limit: 100 });
        expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
        expect(events.filter((e) => e.type === 'run.resumed')).toHaveLength(2);
      });

      describe('lists', () => {
        const statuses: RunStatus[] = ['queued', 'running', 'completed'];
        /** 60 runs, two per second (ties broken by id), alternating workflows, statuses in turn. */
        async function sixtyRuns() {
          const created: Array<{ id: string; workflow_id: string; status: RunStatus; order: string }> = [];
          for (let i = 0; i < 60; i++) {
            const id = `run_${String(i).padStart(2, '0')}`;
            const workflow_id = i % 2 === 0 ? 'wf-a' : 'wf-b';
            const status = statuses[i % 3]!;
            const created_at = at(Math.floor(i / 2)).toISOString();
            await stores.runs.create(new RunScript(id, { workflow_id, status, created_at }).created());
            created.push({ id, workflow_id, status, order: `${created_at}#${id}` });
          }
          return created.sort((a, b) => (a.order < b.order ? 1 : -1));
        }

        it('pages through 60 runs newest first', async () => {
          const runs = await sixtyRuns();
          const ids: string[] = [];
          let cursor: string | undefined;
          const sizes: number[] = [];
          do {
            const page = await stores.runs.list({ limit: 25, ...(cursor ? { cursor } : {}) });
            sizes.push(page.items.length);
            ids.push(...page.items.map((r) => r.id));
            cursor = page.next_cursor;
          } while (cursor);
          expect(sizes).toEqual([25, 25, 10]);
          expect(ids).toEqual(runs.map((r) => r.id));
          const [newest] = (await stores.runs.list({ limit: 1 })).items;
          expect(newest).toEqual({
            id: 'run_59',
            workflow_id: 'wf-b',
            workflow_version: 1,
            status: 'completed',
            created_at: at(29).toISOString(),
            updated_at: at(29).toISOString(),
          });
        });

        it('filters by workflow, by status and by both, newest first', async () => {
          const runs = await sixtyRuns();
          const expectIds = async (query: Parameters<typeof stores.runs.list>[0], want: typeof runs) => {
            const ids: string[] = [];
            let cursor: string | undefined;
            do {
              const page = await stores.runs.list({ ...query, limit: 7, ...(cursor ? { cursor } : {}) });
              ids.push(...page.items.map((r) => r.id));
              cursor = page.next_cursor;
            } while (cursor);
            expect(ids).toEqual(want.map((r) => r.id));
          };
          await expectIds(
            { workflow_id: 'wf-a' },
            runs.filter((r) => r.workflow_id === 'wf-a'),
          );
          await expectIds(
            { status: 'running' },
            runs.filter((r) => r.status === 'running'),
          );
          await expectIds(
            { workflow_id: 'wf-b', status: 'completed' },
            runs.filter((r) => r.workflow_id === 'wf-b' && r.status === 'completed'),
          );
          expect((await stores.runs.list({ workflow_id: 'wf-none' })).items).toEqual([]);
          expect(await failure(stores.runs.list({ status: 'lost' as RunStatus }))).toBeInstanceOf(
            ValidationError,
          );
        });

        it('filters by creation time, both bounds exclusive, with any filter, paging exactly', async () => {
          const runs = await sixtyRuns();
          const expectIds = async (
            query: Parameters<typeof stores.runs.list>[0],
            want: typeof runs,
            limit = 4,
          ) => {
            const ids: string[] = [];
            let cursor: string | undefined;
            do {
              const page = await stores.runs.list({ ...query, limit, ...(cursor ? { cursor } : {}) });
              // Every page but the last is full: the window is in the key, not a filter after reading.
              if (page.next_cursor) expect(page.items).toHaveLength(limit);
              ids.push(...page.items.map((r) => r.id));
              cursor = page.next_cursor;
            } while (cursor);
            expect(ids).toEqual(want.map((r) => r.id));
          };
          const inside = (from: number, to: number) => (r: (typeof runs)[number]) =>
            r.order > `${at(from).toISOString()}#\uffff` && r.order < at(to).toISOString();
          // Two runs per second: `after` second 5 leaves out both of second 5; `before` 9 both of 9.
          await expectIds(
            { created_after: at(5).toISOString(), created_before: at(9).toISOString() },
            runs.filter(inside(5, 9)),
          );
          expect(runs.filter(inside(5, 9))).toHaveLength(6);
          await expectIds({ created_after: at(25).toISOString() }, runs.filter(inside(25, 1000)));
          await expectIds({ created_before: at(3).toISOString() }, runs.filter(inside(-1000, 3)), 1);
          await expectIds(
            {
              workflow_id: 'wf-a',
              status: 'running',
              created_after: at(2).toISOString(),
              created_before: at(20).toISOString(),
            },
            runs.filter((r) => r.workflow_id === 'wf-a' && r.status === 'running').filter(inside(2, 20)),
            1,
          );
          // An instant with an offset is the same instant.
          const plusOne = new Date(at(9).getTime() + 3_600_000).toISOString().replace('Z', '+01:00');
          await expectIds(
            { created_before: plusOne, created_after: at(5).toISOString() },
            runs.filter(inside(5, 9)),
          );
          expect((await stores.runs.list({ created_after: at(29).toISOString() })).items).toEqual([]);
          expect(
            (
              await stores.runs.list({
                created_after: at(9).toISOString(),
                created_before: at(5).toISOString(),
              })
            ).items,
          ).toEqual([]);
          // A cursor belongs to its window.
          const { next_cursor } = await stores.runs.list({ created_after: at(1).toISOString(), limit: 2 });
          expect(
            await failure(stores.runs.list({ created_after: at(2).toISOString(), cursor: next_cursor! })),
          ).toBeInstanceOf(ValidationError);
          expect(await failure(stores.runs.list({ created_after: 'yesterday' }))).toBeInstanceOf(
            ValidationError,
          );
        });

        it('lists runs in any of several statuses, for picking runs up after a restart', async () => {
          const runs = await sixtyRuns();
          const want = runs.filter((r) => r.status === 'queued' || r.status === 'running').map((r) => r.id);
          const first = await stores.runs.listByStatus(['running', 'queued'], { limit: 30 });
          const rest = await stores.runs.listByStatus(['queued', 'running'], { cursor: first.next_cursor! });
          expect([...first.items, ...rest.items].map((r) => r.id)).toEqual(want);
          expect(rest.next_cursor).toBeUndefined();
          expect(
            await failure(stores.runs.listByStatus(['completed'], { cursor: first.next_cursor! })),
          ).toBeInstanceOf(ValidationError);
          expect(await failure(stores.runs.listByStatus([]))).toBeInstanceOf(ValidationError);
        });

        it('finds the runs in some statuses from the runs themselves, for a restart', async () => {
          const runs = await sixtyRuns();
          const want = runs.filter((r) => r.status === 'queued' || r.status === 'running').map((r) => r.id);
          expect((await stores.runs.idsInStatus(['running', 'queued'])).sort()).toEqual([...want].sort());
          expect(await failure(stores.runs.idsInStatus([]))).toBeInstanceOf(ValidationError);
        });

        it('refuses a cursor of another query or a forged one', async () => {
          await sixtyRuns();
          const { next_cursor } = await stores.runs.list({ workflow_id: 'wf-a', limit: 5 });
          expect(
            await failure(stores.runs.list({ workflow_id: 'wf-b', cursor: next_cursor! })),
          ).toBeInstanceOf(ValidationError);
          expect(await failure(stores.runs.list({ cursor: next_cursor! }))).toBeInstanceOf(ValidationError);
          expect(
            await failure(stores.runs.list({ workflow_id: 'wf-a', cursor: forge(next_cursor!) })),
          ).toBeInstanceOf(ValidationError);
          expect(await failure(stores.runs.list({ limit: 101 }))).toBeInstanceOf(ValidationError);
        });

        it('moves a run between status lists as it commits', async () => {
          const run = new RunScript('run_moving', { status: 'queued' });
          await stores.runs.create(run.created());
          await stores.runs.commit(run.next({ status: 'running', at: at(5).toISOString() }));
          const running = await stores.runs.list({ status: 'running' });
          expect(running.items).toEqual([
            expect.objectContaining({ id: 'run_moving', status: 'running', updated_at: at(5).toISOString() }),
          ]);
          await stores.runs.commit(run.next({ status: 'completed' }));
          expect((await stores.runs.list({ status: 'running' })).items).toEqual([]);
          expect((await stores.runs.listByStatus(['completed'])).items.map((r) => r.id)).toEqual([
            'run_moving',
          ]);
          expect((await stores.runs.list({ workflow_id: 'wf', status: 'completed' })).items).toHaveLength(1);
        });
      });
    });

    describe('SignalInbox', () => {
      const resume = (n: number) => ({ type: 'resume' as const, payload: { n }, by: 'ann' });

      it('accepts a signal once per signal id, numbering accepted ones from 1', async () => {
        expect(await stores.inbox.put('run_a', 'req-1', resume(1), at(0))).toEqual({
          accepted: true,
          seq: 1,
        });
        expect(await stores.inbox.put('run_a', 'req-2', resume(2), at(1))).toEqual({
          accepted: true,
          seq: 2,
        });
        expect(await stores.inbox.put('run_a', 'req-1', resume(3), at(2))).toEqual({ accepted: false });
        expect(await stores.inbox.put('run_b', 'req-1', resume(4), at(2))).toEqual({
          accepted: true,
          seq: 1,
        });
        expect(await stores.inbox.read('run_a', 0)).toEqual([
          { seq: 1, signal: resume(1), signal_id: 'req-1', received_at: at(0).toISOString() },
          { seq: 2, signal: resume(2), signal_id: 'req-2', received_at: at(1).toISOString() },
        ]);
      });

      it('refuses a signal put unless an id was accepted once that id was, trimmed or not, and says so', async () => {
        const cancel = { type: 'cancel' as const };
        // Before the cancel: accepted.
        expect(await stores.inbox.put('run_c', 'answer-1', resume(1), at(0), { unless: ['cancel'] })).toEqual(
          {
            accepted: true,
            seq: 1,
          },
        );
        expect(await stores.inbox.put('run_c', 'cancel', cancel, at(1))).toEqual({ accepted: true, seq: 2 });
        // After it: blocked, and nothing is written.
        expect(await stores.inbox.put('run_c', 'answer-2', resume(2), at(2), { unless: ['cancel'] })).toEqual(
          {
            accepted: false,
            blocked: true,
          },
        );
        // A repeat is a repeat, whatever else was accepted.
        expect(await stores.inbox.put('run_c', 'answer-1', resume(1), at(2), { unless: ['cancel'] })).toEqual(
          {
            accepted: false,
          },
        );
        await stores.inbox.trim('run_c', 2, 1);
        expect(await stores.inbox.put('run_c', 'answer-3', resume(3), at(3), { unless: ['cancel'] })).toEqual(
          {
            accepted: false,
            blocked: true,
          },
        );
        // Any of several ids blocks it.
        expect(
          await stores.inbox.put('run_c', 'answer-4', resume(4), at(3), { unless: ['cancel:1', 'cancel'] }),
        ).toEqual({
          accepted: false,
          blocked: true,
        });
        expect(
          await stores.inbox.put('run_c', 'answer-5', resume(5), at(3), {
            unless: ['cancel:1', 'cancel:parent'],
          }),
        ).toEqual({
          accepted: true,
          seq: 3,
        });
        // Another run's cancel blocks nothing here.
        expect(await stores.inbox.put('run_d', 'answer-1', resume(1), at(3), { unless: ['cancel'] })).toEqual(
          {
            accepted: true,
            seq: 1,
          },
        );
        expect((await stores.inbox.read('run_c', 0)).map((entry) => entry.signal_id)).toEqual(['answer-5']);
      });

      it('reads after a seq with a limit, trims what was applied, and never reuses a seq', async () => {
        for (let i = 1; i <= 5; i++) await stores.inbox.put('run_a', `req-${i}`, resume(i), at(i));
        expect((await stores.inbox.read('run_a', 1, 2)).map((e) => e.seq)).toEqual([2, 3]);
        await stores.inbox.trim('run_a', 3);
        expect((await stores.inbox.read('run_a', 0)).map((e) => e.seq)).toEqual([4, 5]);
        await stores.inbox.trim('run_a', 2);
        expect((await stores.inbox.read('run_a', 0)).map((e) => e.seq)).toEqual([4, 5]);
        await stores.inbox.trim('run_a', 5);
        expect(await stores.inbox.read('run_a', 0)).toEqual([]);
        expect(await stores.inbox.put('run_a', 'req-6', resume(6), at(6))).toEqual({
          accepted: true,
          seq: 6,
        });
        // A repeat of a trimmed signal is still a repeat.
        expect(await stores.inbox.put('run_a', 'req-2', resume(2), at(7))).toEqual({ accepted: false });
        expect((await stores.inbox.read('run_a', 5)).map((e) => e.signal_id)).toEqual(['req-6']);
        await stores.inbox.trim('run_none', 10);
        expect(await stores.inbox.read('run_none', 0)).toEqual([]);
      });

      it('numbers concurrent signals without gaps, and accepts a concurrent repeat once', async () => {
        const processes = [stores, target.peer(), target.peer()];
        const distinct = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            processes[i % 3]!.inbox.put('run_c', `req-${i}`, resume(i), at(0)),
          ),
        );
        expect(distinct.map((r) => r.seq).sort((a, b) => a! - b!)).toEqual(
          Array.from({ length: 12 }, (_, i) => i + 1),
        );
        const entries = await stores.inbox.read('run_c', 0);
        expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
        for (const entry of entries) {
          expect(entry.signal).toEqual(resume(Number(entry.signal_id.slice(4))));
          expect(distinct[Number(entry.signal_id.slice(4))]!.seq).toBe(entry.seq);
        }
        const repeats = await Promise.all(
          processes.map((p) => p.inbox.put('run_c', 'req-same', resume(99), at(1))),
        );
        expect(repeats.filter((r) => r.accepted)).toHaveLength(1);
        expect(await stores.inbox.read('run_c', 12)).toHaveLength(1);
      });

      it('gives a run read with its inbox exactly the entries after its cursor', async () => {
        const run = new RunScript('run_with_inbox');
        await stores.runs.create(run.created());
        for (const id of ['a', 'b', 'c']) {
          await stores.inbox.put('run_with_inbox', id, { type: 'resume', payload: { id } }, at(1));
        }
        await stores.runs.commit(run.next(), { inbox_cursor: 1 });
        const record = await target.peer().runs.get('run_with_inbox');
        // A store that reads the inbox with the run (one Query on DynamoDB) must give what a read would.
        if (record.inbox) expect(record.inbox).toEqual(await stores.inbox.read('run_with_inbox', 1));
        await stores.inbox.trim('run_with_inbox', 3, 1);
        const trimmed = await target.peer().runs.get('run_with_inbox');
        if (trimmed.inbox) expect(trimmed.inbox).toEqual([]);
        expect(await stores.inbox.read('run_with_inbox', 0)).toEqual([]);
      });

      it('refuses an empty signal id', async () => {
        expect(await failure(stores.inbox.put('run_a', '', resume(1), at(0)))).toBeInstanceOf(
          ValidationError,
        );
      });
    });

    describe('CallbackTokens', () => {
      const target1 = { run_id: 'run_t', step_id: 'approve', visit: 1, expires_at: at(3600).toISOString() };

      it('issues an unguessable token whose target can be peeked without using it', async () => {
        const token = await stores.callbacks.issue(target1, at(0));
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
        expect(await stores.callbacks.peek(token, at(1))).toEqual(target1);
        expect(await stores.callbacks.peek(token, at(2))).toEqual(target1);
        const other = await stores.callbacks.issue({ ...target1, visit: 2 }, at(0));
        expect(other).not.toBe(token);
      });

      it('redeems a token once', async () => {
        const token = await stores.callbacks.issue(target1, at(0));
        expect(await stores.callbacks.redeem(token, at(1))).toEqual(target1);
        expect(await stores.callbacks.redeem(token, at(2))).toBeUndefined();
        expect(await stores.callbacks.peek(token, at(2))).toBeUndefined();
      });

      it('gives back a token whose answer was refused, and only the use it names', async () => {
        // Times in the future: DynamoDB Local deletes items whose TTL has passed, whenever it sweeps.
        const later = (seconds: number) => new Date(Date.UTC(2100, 0, 1) + seconds * 1000);
        const waiting = { ...target1, expires_at: later(3600).toISOString() };
        const token = await stores.callbacks.issue(waiting, later(0));
        expect(await stores.callbacks.redeem(token, later(1))).toEqual(waiting);
        // Another use's time leaves it used.
        await target.peer().callbacks.release(token, waiting, later(2));
        expect(await stores.callbacks.lookup(token, later(3))).toMatchObject({ state: 'used' });
        await target.peer().callbacks.release(token, waiting, later(1));
        expect(await stores.callbacks.lookup(token, later(3))).toEqual({ state: 'live', target: waiting });
        expect(await stores.callbacks.forWait('run_t', 'approve', 1, later(3))).toBe(token);
        // Its deadline still holds, and it is used once more.
        expect(await stores.callbacks.redeem(token, later(3600))).toBeUndefined();
        expect(await stores.callbacks.redeem(token, later(4))).toEqual(waiting);
        expect(await stores.callbacks.redeem(token, later(5))).toBeUndefined();
      });

      it('lets exactly one of concurrent redeems win, across processes', async () => {
        const token = await stores.callbacks.issue(target1, at(0));
        const processes = [stores, target.peer(), target.peer(), target.peer()];
        const results = await Promise.all(processes.map((p) => p.callbacks.redeem(token, at(1))));
        expect(results.filter((r) => r !== undefined)).toEqual([target1]);
      });

      it('treats expired, unknown and malformed tokens as unknown', async () => {
        const token = await stores.callbacks.issue(target1, at(0));
        const expiry = new Date(target1.expires_at);
        expect(await stores.callbacks.peek(token, expiry)).toBeUndefined();
        expect(await stores.callbacks.redeem(token, at(7200))).toBeUndefined();
        expect(await stores.callbacks.forWait('run_t', 'approve', 1, at(7200))).toBeUndefined();
        // The failed redeem used nothing: before its expiry, the token still works.
        expect(await stores.callbacks.redeem(token, at(60))).toEqual(target1);
        expect(await stores.callbacks.peek('A'.repeat(43), at(0))).toBeUndefined();
        expect(await stores.callbacks.redeem('not a token', at(0))).toBeUndefined();
      });

      it('keeps tokens without an expiry until used', async () => {
        const { expires_at: _, ...forever } = target1;
        const token = await stores.callbacks.issue(forever, at(0));
        expect(await stores.callbacks.peek(token, at(10 * 365 * 86400))).toEqual(forever);
        expect(await stores.callbacks.forWait('run_t', 'approve', 1, at(10 * 365 * 86400))).toBe(token);
      });

      it('shows the live token of a wait, until it is used', async () => {
        expect(await stores.callbacks.forWait('run_t', 'approve', 1, at(0))).toBeUndefined();
        const token = await stores.callbacks.issue(target1, at(0));
        expect(await target.peer().callbacks.forWait('run_t', 'approve', 1, at(1))).toBe(token);
        expect(await stores.callbacks.forWait('run_t', 'approve', 2, at(1))).toBeUndefined();
        expect(await stores.callbacks.forWait('run_t', 'other', 1, at(1))).toBeUndefined();
        await stores.callbacks.redeem(token, at(2));
        expect(await stores.callbacks.forWait('run_t', 'approve', 1, at(3))).toBeUndefined();
      });

      it('refuses a target that is not a wait', async () => {
        expect(await failure(stores.callbacks.issue({ ...target1, visit: 0 }, at(0)))).toBeInstanceOf(
          ValidationError,
        );
        expect(
          await failure(stores.callbacks.issue({ ...target1, expires_at: 'soon' }, at(0))),
        ).toBeInstanceOf(ValidationError);
      });
    });

    describe('CallbackTokens: personal links', () => {
      const personal = {
        run_id: 'run_p',
        step_id: 'review',
        visit: 1,
        person: 'Lead@Example.com',
        expires_at: at(3600).toISOString(),
      };

      it('derives the same token for the same person (any case) and wait, another for another person', async () => {
        const token = await stores.callbacks.issue(personal, at(0));
        expect(await target.peer().callbacks.issue({ ...personal, person: 'lead@example.com' }, at(1))).toBe(
          token,
        );
        expect(await stores.callbacks.issue({ ...personal, person: 'cfo@example.com' }, at(1))).not.toBe(
          token,
        );
        expect(await stores.callbacks.peek(token, at(2))).toEqual(personal);
        // A personal token is no wait's `callback_token`.
        expect(await stores.callbacks.forWait('run_p', 'review', 1, at(2))).toBeUndefined();
      });

      it('says whether a token is live, used (and when), expired or unknown; issued again, a used one stays used', async () => {
        const token = await stores.callbacks.issue(personal, at(0));
        expect(await stores.callbacks.lookup(token, at(1))).toEqual({ state: 'live', target: personal });
        expect(await stores.callbacks.lookup(token, at(3600))).toEqual({
          state: 'expired',
          target: personal,
        });
        expect(await stores.callbacks.redeem(token, at(5))).toEqual(personal);
        expect(await stores.callbacks.issue(personal, at(6))).toBe(token);
        expect(await target.peer().callbacks.lookup(token, at(7))).toEqual({
          state: 'used',
          target: personal,
          used_at: at(5).toISOString(),
        });
        expect(await stores.callbacks.redeem(token, at(8))).toBeUndefined();
        expect(await stores.callbacks.lookup('B'.repeat(43), at(0))).toEqual({ state: 'unknown' });
        expect(await stores.callbacks.lookup('not a token', at(0))).toEqual({ state: 'unknown' });
      });

      it('lets exactly one of 20 concurrent redeems of a personal token win, across processes', async () => {
        const token = await stores.callbacks.issue(personal, at(0));
        const processes = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? stores : target.peer()));
        const results = await Promise.all(processes.map((p) => p.callbacks.redeem(token, at(1))));
        expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      });
    });

    describe('OutboxStore', () => {
      const entry = (n: number, overrides: Partial<OutboxEntry> = {}): OutboxEntry => ({
        id: n.toString(16).padStart(64, '0'),
        run_id: 'run_o',
        workflow_id: 'onboarding',
        step_id: 'review',
        visit: 1,
        kind: 'approval',
        person: `p${n}@example.com`,
        channel: 'email',
        to: `p${n}@example.com`,
        subject: `Approval ${n}`,
        text: 'Please decide',
        details: { approvers: ['p@example.com'] },
        status: 'pending',
        attempts: 0,
        next_attempt_at: at(60).toISOString(),
        created_at: at(n).toISOString(),
        updated_at: at(n).toISOString(),
        ...overrides,
      });

      it('records an entry once: a second add of its id keeps the first, across processes', async () => {
        expect(await stores.outbox.add(entry(1))).toEqual({ created: true, entry: entry(1) });
        const again = await target
          .peer()
          .outbox.add(entry(1, { subject: 'other', created_at: at(9).toISOString() }));
        expect(again).toEqual({ created: false, entry: entry(1) });
        const raced = await Promise.all(Array.from({ length: 10 }, () => target.peer().outbox.add(entry(2))));
        expect(raced.filter((r) => r.created)).toHaveLength(1);
        expect((await stores.outbox.list()).items).toHaveLength(2);
      });

      it('updates an entry, clearing fields set to undefined, and refuses an unknown id', async () => {
        await stores.outbox.add(entry(1));
        const sent = await stores.outbox.update(entry(1).id, {
          status: 'sent',
          attempts: 1,
          sent_at: at(2).toISOString(),
          next_attempt_at: undefined,
        });
        expect(sent).toMatchObject({ status: 'sent', attempts: 1, sent_at: at(2).toISOString() });
        const read = await target.peer().outbox.get(entry(1).id);
        expect(read).toEqual(sent);
        expect(read).not.toHaveProperty('next_attempt_at');
        expect(await failure(stores.outbox.update(entry(9).id, { status: 'sent' }))).toBeInstanceOf(
          NotFoundError,
        );
        expect(await stores.outbox.get(entry(9).id)).toBeUndefined();
      });

      it('lists newest first, a page at a time, with cursors only valid for the outbox', async () => {
        for (const n of [3, 1, 5, 2, 4]) await stores.outbox.add(entry(n));
        const first = await stores.outbox.list({ limit: 2 });
        expect(first.items.map((e) => e.subject)).toEqual(['Approval 5', 'Approval 4']);
        const second = await target.peer().outbox.list({ limit: 2, cursor: first.next_cursor! });
        expect(second.items.map((e) => e.subject)).toEqual(['Approval 3', 'Approval 2']);
        const third = await stores.outbox.list({ limit: 2, cursor: second.next_cursor! });
        expect(third.items.map((e) => e.subject)).toEqual(['Approval 1']);
        expect(third.next_cursor).toBeUndefined();
        expect(await failure(stores.outbox.list({ cursor: forge(first.next_cursor!) }))).toBeInstanceOf(
          ValidationError,
        );
      });

      it('answers what is due: pending or failed, its next attempt reached, the first to fall due first', async () => {
        await stores.outbox.add(entry(1));
        await stores.outbox.add(entry(2, { status: 'failed', next_attempt_at: at(30).toISOString() }));
        await stores.outbox.add(entry(3, { status: 'sent', next_attempt_at: undefined }));
        await stores.outbox.add(entry(4, { status: 'given_up', next_attempt_at: undefined }));
        expect(await stores.outbox.due(at(10), 10)).toEqual([]);
        expect((await stores.outbox.due(at(30), 10)).map((e) => e.subject)).toEqual(['Approval 2']);
        expect((await target.peer().outbox.due(at(60), 10)).map((e) => e.subject)).toEqual([
          'Approval 2',
          'Approval 1',
        ]);
        expect(await stores.outbox.due(at(60), 1)).toHaveLength(1);
      });

      it('follows an entry’s next attempt as it changes: sent is never due again, failed again is due later', async () => {
        await stores.outbox.add(entry(1));
        await stores.outbox.update(entry(1).id, {
          status: 'failed',
          attempts: 1,
          next_attempt_at: at(120).toISOString(),
        });
        expect(await stores.outbox.due(at(60), 10)).toEqual([]);
        expect((await target.peer().outbox.due(at(120), 10)).map((e) => e.attempts)).toEqual([1]);
        await stores.outbox.update(entry(1).id, { status: 'sent', attempts: 2, next_attempt_at: undefined });
        expect(await stores.outbox.due(at(10_000), 10)).toEqual([]);
        // Many delivered entries cost the retry loop nothing: it reads only what is due.
        for (let n = 2; n < 30; n += 1)
          await stores.outbox.add(entry(n, { status: 'sent', next_attempt_at: undefined }));
        await stores.outbox.add(entry(30));
        expect((await stores.outbox.due(at(60), 5)).map((e) => e.subject)).toEqual(['Approval 30']);
      });

      it('refuses an entry whose id is not an entry hash', async () => {
        expect(await failure(stores.outbox.add(entry(1, { id: 'x' })))).toBeInstanceOf(ValidationError);
      });
    });

    describe('RunTrees', () => {
      it('counts the child runs of a tree up to its limit, across processes, and each tree on its own', async () => {
        const processes = [stores, target.peer(), target.peer(), target.peer()];
        const admitted = await Promise.all(
          Array.from({ length: 12 }, (_, i) => processes[i % processes.length]!.trees.admit('run_root', 5)),
        );
        expect(admitted.filter(Boolean)).toHaveLength(5);
        expect(await target.peer().trees.admit('run_root', 5)).toBe(false);
        // A higher limit (a later release) lets the same tree go on.
        expect(await stores.trees.admit('run_root', 6)).toBe(true);
        expect(await stores.trees.admit('run_other', 1)).toBe(true);
        expect(await stores.trees.admit('run_other', 1)).toBe(false);
      });
    });

    describe('IdempotencyKeys', () => {
      const record = (run_id: string, body_hash = 'h1') => ({
        key: 'key-1',
        body_hash,
        run_id,
        expires_at: at(86400).toISOString(),
      });

      it('creates a record once and answers later claims with it', async () => {
        expect(await stores.idempotency.claim(record('run_1'), at(0))).toEqual({
          created: true,
          record: record('run_1'),
        });
        expect(await stores.idempotency.claim(record('run_2', 'h2'), at(10))).toEqual({
          created: false,
          record: record('run_1'),
        });
      });

      it('finds the live record of a key, and nothing for a free or expired one', async () => {
        expect(await stores.idempotency.find('key-1', at(0))).toBeUndefined();
        await stores.idempotency.claim(record('run_1'), at(0));
        expect(await target.peer().idempotency.find('key-1', at(10))).toEqual(record('run_1'));
        expect(await stores.idempotency.find('key-1', at(86400))).toBeUndefined();
        expect(await stores.idempotency.find('key-2', at(10))).toBeUndefined();
      });

      it('lets a new record take an expired key', async () => {
        await stores.idempotency.claim(record('run_1'), at(0));
        const later = { ...record('run_2'), expires_at: at(3 * 86400).toISOString() };
        expect(await stores.idempotency.claim(later, at(86400))).toEqual({ created: true, record: later });
        expect((await stores.idempotency.claim(record('run_3'), at(86401))).record.run_id).toBe('run_2');
      });

      it('lets exactly one of concurrent claims create, across processes', async () => {
        const processes = [stores, target.peer(), target.peer(), target.peer()];
        const results = await Promise.all(
          processes.map((p, i) => p.idempotency.claim(record(`run_${i}`), at(0))),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const winner = results.find((r) => r.created)!.record;
        for (const result of results) expect(result.record).toEqual(winner);
      });

      it('refuses a record without a well-formed expiry', async () => {
        expect(
          await failure(stores.idempotency.claim({ ...record('run_1'), expires_at: 'later' }, at(0))),
        ).toBeInstanceOf(ValidationError);
      });
    });

    describe('ListenerStore', () => {
      const NO_ACTIVITY = { fired: 0, skipped: 0, failed: 0 };

      it('creates, reads and deletes a listener', async () => {
        const hook = listener('hook-1', 'webhook', {});
        expect(await stores.listeners.create(hook)).toEqual({ ...hook, ...NO_ACTIVITY });
        expect(await stores.listeners.get('hook-1')).toEqual({ ...hook, ...NO_ACTIVITY });
        expect(await failure(stores.listeners.create(hook))).toBeInstanceOf(ConflictError);
        await stores.listeners.delete('hook-1');
        expect(await failure(stores.listeners.get('hook-1'))).toBeInstanceOf(NotFoundError);
        expect(await failure(stores.listeners.delete('hook-1'))).toBeInstanceOf(NotFoundError);
      });

      it('lists listeners by id, page by page', async () => {
        for (const id of ['l3', 'l1', 'l5', 'l2', 'l4']) {
          await stores.listeners.create(listener(id, 'schedule', { expression: 'rate(1 hour)' }));
        }
        const first = await stores.listeners.list({ limit: 3 });
        expect(first.items.map((l) => l.id)).toEqual(['l1', 'l2', 'l3']);
        const rest = await stores.listeners.list({ limit: 3, cursor: first.next_cursor! });
        expect(rest.items.map((l) => l.id)).toEqual(['l4', 'l5']);
        expect(rest.next_cursor).toBeUndefined();
        expect(await failure(stores.workflows.list({ cursor: first.next_cursor! }))).toBeInstanceOf(
          ValidationError,
        );
      });

      it('finds S3 listeners by bucket, key prefix and suffix', async () => {
        await stores.listeners.create(listener('in', 's3', { bucket: 'uploads', prefix: 'incoming/' }));
        await stores.listeners.create(listener('pdf', 's3', { bucket: 'uploads', prefix: 'incoming/pdf/' }));
        await stores.listeners.create(listener('all', 's3', { bucket: 'uploads' }));
        await stores.listeners.create(listener('csv', 's3', { bucket: 'uploads', suffix: '.csv' }));
        await stores.listeners.create(listener('other', 's3', { bucket: 'archive', prefix: 'incoming/' }));
        const found = async (bucket: string, key: string) =>
          (await stores.listeners.find({ type: 's3', bucket, key })).map((l) => l.id).sort();
        expect(await found('uploads', 'incoming/pdf/a.pdf')).toEqual(['all', 'in', 'pdf']);
        expect(await found('uploads', 'incoming/b.csv')).toEqual(['all', 'csv', 'in']);
        expect(await found('uploads', 'outgoing/b.csv')).toEqual(['all', 'csv']);
        expect(await found('archive', 'incoming/x')).toEqual(['other']);
        expect(await found('nothing', 'incoming/x')).toEqual([]);
      });

      it('finds EventBridge listeners whose pattern matches the event', async () => {
        await stores.listeners.create(
          listener('created', 'eventbridge', { source: ['shop'], 'detail-type': ['Order Created'] }),
        );
        await stores.listeners.create(listener('any', 'eventbridge', { source: [{ prefix: 'sho' }] }));
        await stores.listeners.create(
          listener('big', 'eventbridge', { detail: { total: [{ numeric: ['>', 100] }] } }),
        );
        const found = async (source: string, type: string, total: number) =>
          (
            await stores.listeners.find({
              type: 'eventbridge',
              event: { source, 'detail-type': type, detail: { total } },
            })
          )
            .map((l) => l.id)
            .sort();
        expect(await found('shop', 'Order Created', 5)).toEqual(['any', 'created']);
        expect(await found('shop', 'Order Shipped', 500)).toEqual(['any', 'big']);
        expect(await found('crm', 'Order Created', 5)).toEqual([]);
      });

      it('finds exactly the EventBridge listeners whose pattern matches, however the pattern names its source and detail-type', async () => {
        // Patterns the source index keys differently: both exact, one exact, several values, operators,
        // $or beside an exact source, no source at all, and characters a key could be confused by.
        const patterns: Record<string, Record<string, unknown>> = {
          both: { source: ['shop'], 'detail-type': ['Order Placed'] },
          'source-only': { source: ['shop', 'shop'] },
          'type-only': { 'detail-type': ['Order Placed'] },
          'two-sources': { source: ['shop', 'crm'] },
          prefix: { source: [{ prefix: 'sho' }], 'detail-type': [{ 'anything-but': 'Order Placed' }] },
          or: { source: ['crm'], $or: [{ 'detail-type': ['Signed Up'] }, { detail: { vip: [true] } }] },
          anywhere: { detail: { total: [{ numeric: ['>', 100] }] } },
          hashes: { source: ['a#"b'], 'detail-type': ['null'] },
          'empty-type': { source: ['shop'], 'detail-type': [''] },
        };
        for (const [id, match] of Object.entries(patterns)) {
          await stores.listeners.create(listener(id, 'eventbridge', match));
        }
        await stores.listeners.create(listener('uploads', 's3', { bucket: 'shop' }));
        const found = async (event: Record<string, unknown>) =>
          (await stores.listeners.find({ type: 'eventbridge', event })).map((l) => l.id);
        const event = (source: string, type: string, detail: Record<string, unknown> = {}) => ({
          source,
          'detail-type': type,
          detail,
        });
        expect(await found(event('shop', 'Order Placed', { total: 5 }))).toEqual([
          'both',
          'source-only',
          'two-sources',
          'type-only',
        ]);
        expect(await found(event('shop', 'Order Shipped', { total: 500 }))).toEqual([
          'anywhere',
          'prefix',
          'source-only',
          'two-sources',
        ]);
        expect(await found(event('crm', 'Signed Up'))).toEqual(['or', 'two-sources']);
        expect(await found(event('crm', 'Order Placed', { vip: true }))).toEqual([
          'or',
          'two-sources',
          'type-only',
        ]);
        expect(await found(event('a#"b', 'null'))).toEqual(['hashes']);
        expect(await found(event('shop', ''))).toEqual([
          'empty-type',
          'prefix',
          'source-only',
          'two-sources',
        ]);
        expect(await found(event('elsewhere', 'Order Placed'))).toEqual(['type-only']);
        // An event the index cannot place (no bus delivers one) is still matched against every pattern.
        expect(await found({ source: ['shop'], 'detail-type': 'Order Placed', detail: {} })).toEqual([
          'both',
          'source-only',
          'two-sources',
          'type-only',
        ]);
        expect(await found({ detail: { total: 101 } })).toEqual(['anywhere']);
      });

      it('finds an EventBridge listener by its new pattern after a change, and no longer by its old one', async () => {
        await stores.listeners.create(listener('l', 'eventbridge', { source: ['shop'] }));
        const found = async (source: string) =>
          (await stores.listeners.find({ type: 'eventbridge', event: { source, 'detail-type': 'x' } })).map(
            (l) => l.id,
          );
        expect(await found('shop')).toEqual(['l']);
        await stores.listeners.update('l', { match: { source: ['crm'] } }, at(1));
        expect(await found('shop')).toEqual([]);
        expect(await found('crm')).toEqual(['l']);
        await stores.listeners.update('l', { match: { source: [{ prefix: 'c' }] } }, at(2));
        expect(await found('crm')).toEqual(['l']);
        await stores.listeners.delete('l');
        expect(await found('crm')).toEqual([]);
      });

      it('finds every schedule listener', async () => {
        await stores.listeners.create(listener('hourly', 'schedule', { expression: 'rate(1 hour)' }));
        await stores.listeners.create(listener('nightly', 'schedule', { expression: 'cron(0 2 * * ? *)' }));
        await stores.listeners.create(listener('hook', 'webhook', {}));
        await stores.listeners.create(listener('s3', 's3', { bucket: 'bucket' }));
        expect((await stores.listeners.find({ type: 'schedule' })).map((l) => l.id).sort()).toEqual([
          'hourly',
          'nightly',
        ]);
        await stores.listeners.delete('hourly');
        expect((await stores.listeners.find({ type: 'schedule' })).map((l) => l.id)).toEqual(['nightly']);
      });

      it('changes a listener: enabled, match and inputs, and where it is found', async () => {
        await stores.listeners.create({ ...listener('l', 's3', { bucket: 'uploads' }), inputs: { a: 1 } });
        const changed = await stores.listeners.update(
          'l',
          { enabled: false, match: { bucket: 'archive' }, inputs: null },
          at(5),
        );
        expect(changed).toMatchObject({
          enabled: false,
          match: { bucket: 'archive' },
          updated_at: at(5).toISOString(),
        });
        expect(changed.inputs).toBeUndefined();
        expect(await stores.listeners.get('l')).toEqual(changed);
        expect(await stores.listeners.find({ type: 's3', bucket: 'uploads', key: 'k' })).toEqual([]);
        expect(
          (await stores.listeners.find({ type: 's3', bucket: 'archive', key: 'k' })).map((l) => l.id),
        ).toEqual(['l']);
        expect(await failure(stores.listeners.update('nope', { enabled: true }, at(6)))).toBeInstanceOf(
          NotFoundError,
        );
        const bad = await failure(stores.listeners.update('l', { match: { bucket: 'X' } }, at(6)));
        expect((bad as ValidationError).issues.map((i) => i.path)).toEqual(['match.bucket']);
      });

      it('applies concurrent changes one after the other', async () => {
        await stores.listeners.create(listener('l', 's3', { bucket: 'uploads' }));
        await Promise.all([
          stores.listeners.update('l', { enabled: false }, at(1)),
          stores.listeners.update('l', { inputs: { x: '{{ event.key }}' } }, at(1)),
          stores.listeners.update('l', { match: { bucket: 'other' } }, at(1)),
        ]);
        expect(await stores.listeners.get('l')).toMatchObject({
          enabled: false,
          inputs: { x: '{{ event.key }}' },
          match: { bucket: 'other' },
        });
      });

      it('counts fires atomically and keeps the next fire time, and forgets both with the listener', async () => {
        await stores.listeners.create(listener('l', 'schedule', { expression: 'rate(1 hour)' }));
        const t = at(1).toISOString();
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            stores.listeners.recordFire('l', { outcome: 'started', at: t, run_id: `run_${i}` }),
          ),
        );
        await stores.listeners.recordFire('l', { outcome: 'skipped', at: t });
        await stores.listeners.recordFire('l', {
          outcome: 'failed',
          at: t,
          error: { code: 'InvalidInputs', message: 'no' },
        });
        await stores.listeners.setNextFire('l', at(2).toISOString());
        const fired = await stores.listeners.get('l');
        expect(fired).toMatchObject({
          fired: 10,
          skipped: 1,
          failed: 1,
          last_fired_at: t,
          last_error: { code: 'InvalidInputs', message: 'no', at: t },
          next_fire_at: at(2).toISOString(),
        });
        // A change of the definition keeps the activity.
        expect(await stores.listeners.update('l', { enabled: false }, at(3))).toMatchObject({ fired: 10 });
        await stores.listeners.setNextFire('l', undefined);
        expect((await stores.listeners.get('l')).next_fire_at).toBeUndefined();
        await stores.listeners.delete('l');
        await stores.listeners.recordFire('l', { outcome: 'skipped', at: t });
        await stores.listeners.setNextFire('l', t);
        expect(await failure(stores.listeners.get('l'))).toBeInstanceOf(NotFoundError);
      });

      it('refuses a listener whose match, inputs or fields are not valid', async () => {
        const paths = async (definition: ListenerDefinition) =>
          ((await failure(stores.listeners.create(definition))) as ValidationError).issues.map((i) => i.path);
        expect(await paths(listener('bad', 's3', { prefix: 'x/' }))).toEqual(['match.bucket']);
        expect(await paths(listener('bad', 'eventbridge', { source: 'shop' }))).toEqual(['match.source']);
        expect(await paths(listener('bad', 'schedule', {}))).toEqual(['match.expression']);
        expect(
          await paths({ ...listener('bad', 'webhook', {}), inputs: { a: '{{ secrets.key }}' } }),
        ).toEqual(['inputs.a']);
        expect(await paths({ ...listener('bad id', 'webhook', {}), version: 0 })).toEqual(['id', 'version']);
        // More than one item holds beside its counters.
        expect(await paths({ ...listener('big', 'webhook', {}), inputs: { x: 'x'.repeat(70_000) } })).toEqual(
          ['(root)'],
        );
      });
    });
  });
}
