/**
 * The PromptTemplateStore's contract (CONTRACT §7), part of the storage conformance suite: every
 * target (memory, DynamoDB on dynalite and on DynamoDB Local) must answer alike.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../../shared/errors.js';
import type { PromptTemplateStore, WorkflowStore } from '../../../shared/ports/index.js';
import { workflowDefinition } from './fixtures.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

/** Called inside the suite's describe: `stores()` and `peer()` are the current test's. */
export function describeTemplateStore(
  stores: () => {
    templates: PromptTemplateStore;
    workflows: WorkflowStore;
  },
  peer: () => { templates: PromptTemplateStore },
): void {
  describe('PromptTemplateStore', () => {
    it('creates version 1, refuses the id again, and reads it as the latest and by number', async () => {
      const { templates } = stores();
      const created = await templates.create(
        { id: 'welcome', text: 'Hi {{ name }}', system: 'Be brief', model: 'gpt-4o', description: 'Greets' },
        at(0),
      );
      expect(created).toEqual({
        id: 'welcome',
        version: 1,
        text: 'Hi {{ name }}',
        system: 'Be brief',
        model: 'gpt-4o',
        description: 'Greets',
        created_at: iso(0),
      });
      expect(await templates.get('welcome')).toEqual(created);
      expect(await templates.get('welcome', 1)).toEqual(created);
      expect(await peer().templates.get('welcome')).toEqual(created);
      expect(await failure(templates.create({ id: 'welcome', text: 'x' }, at(1)))).toBeInstanceOf(
        ConflictError,
      );
      expect(await templates.get('welcome')).toEqual(created);
    });

    it('adds a version per update; the same content again adds none; fields left out are gone', async () => {
      const { templates } = stores();
      await templates.create({ id: 'welcome', text: 'one', description: 'd' }, at(0));
      const two = await templates.update({ id: 'welcome', text: 'two' }, at(5));
      expect(two).toEqual({ id: 'welcome', version: 2, text: 'two', created_at: iso(5) });
      expect(await templates.update({ id: 'welcome', text: 'two' }, at(9))).toEqual(two);
      expect((await templates.get('welcome', 1)).text).toBe('one');
      expect(await templates.get('welcome')).toEqual(two);
      expect(await templates.list()).toEqual({
        items: [{ id: 'welcome', latest_version: 2, created_at: iso(0), updated_at: iso(5) }],
      });
    });

    it('answers NotFound for an unknown id or version, on every read and on update', async () => {
      const { templates } = stores();
      await templates.create({ id: 'welcome', text: 'one' }, at(0));
      for (const read of [
        () => templates.get('nope'),
        () => templates.get('welcome', 2),
        () => templates.get('welcome', 0),
        () => templates.pinned('nope', iso(0)),
        () => templates.update({ id: 'nope', text: 'x' }, at(0)),
      ]) {
        expect(await failure(read())).toBeInstanceOf(NotFoundError);
      }
    });

    it('pins: the version in force at a time, version 1 before the first, the same answer after more are added', async () => {
      const { templates } = stores();
      await templates.create({ id: 'welcome', text: 'one' }, at(10));
      await templates.update({ id: 'welcome', text: 'two' }, at(20));
      const pinned = async (seconds: number) => (await templates.pinned('welcome', iso(seconds))).version;
      expect([
        await pinned(0),
        await pinned(10),
        await pinned(19),
        await pinned(20),
        await pinned(99),
      ]).toEqual([1, 1, 1, 2, 2]);
      await templates.update({ id: 'welcome', text: 'three' }, at(30));
      expect([await pinned(25), await pinned(30)]).toEqual([2, 3]);
      expect((await peer().templates.pinned('welcome', iso(25))).text).toBe('two');
    });

    it('never dates a version before the one it follows (a host whose clock is behind), so pins hold', async () => {
      const { templates } = stores();
      await templates.create({ id: 'welcome', text: 'one' }, at(100));
      const behind = await templates.update({ id: 'welcome', text: 'two' }, at(50));
      expect(behind.created_at).toBe(iso(100));
      // A run that started at 99 s saw version 1 before the update and still does.
      expect((await templates.pinned('welcome', iso(99))).version).toBe(1);
    });

    it('numbers 20 concurrent updates from two processes without a gap, a repeat or a refusal', async () => {
      const { templates } = stores();
      const other = peer().templates;
      await templates.create({ id: 'busy', text: 'v' }, at(0));
      const settled = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? other : templates).update({ id: 'busy', text: `t${i}` }, at(1)),
        ),
      );
      // Each got a version of its own: none was told to try again.
      expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
      const stored = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.version] : []));
      expect(stored).toHaveLength(20);
      const latest = await templates.get('busy');
      expect(latest.version).toBe(stored.length + 1);
      expect([...stored].sort((a, b) => a - b)).toEqual(
        Array.from({ length: stored.length }, (_, i) => i + 2),
      );
      expect((await templates.list()).items[0]!.latest_version).toBe(latest.version);
    });

    it('lists by id a page at a time, apart from workflows of the same id', async () => {
      const { templates, workflows } = stores();
      for (const id of ['c', 'a', 'b']) await templates.create({ id, text: id }, at(0));
      await workflows.create(workflowDefinition('a'), at(0));
      const first = await templates.list({ limit: 2 });
      expect(first.items.map((t) => t.id)).toEqual(['a', 'b']);
      const second = await templates.list({ limit: 2, cursor: first.next_cursor! });
      expect(second).toEqual({ items: [expect.objectContaining({ id: 'c' })] });
      expect((await workflows.list()).items.map((w) => w.id)).toEqual(['a']);
      expect((await templates.get('a')).text).toBe('a');
      expect(await failure(templates.list({ cursor: 'forged.cursor' }))).toBeInstanceOf(ValidationError);
    });

    it('refuses an id that is not one and a template too large for one item', async () => {
      const { templates } = stores();
      expect(await failure(templates.create({ id: 'Bad Id', text: 'x' }, at(0)))).toBeInstanceOf(
        ValidationError,
      );
      expect(
        await failure(templates.create({ id: 'huge', text: 'é'.repeat(200_000) }, at(0))),
      ).toBeInstanceOf(ValidationError);
      expect(await failure(templates.get('huge'))).toBeInstanceOf(NotFoundError);
    });
  });
}
