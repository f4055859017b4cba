/**
 * keepVersions: a stored version asked for by number is read from the store once per process; the
 * latest version, a failed read and every write still reach the store.
 */
import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import { NotFoundError, ThrottledError } from '../../../shared/errors.js';
import { createMemoryHttpClient } from '../../../shared/http/memory-http-client.js';
import { composeOrchestrator } from '../../../shared/orchestration/compose.js';
import type { WorkflowStore } from '../../../shared/ports/storage.js';
import { createMemorySecrets } from '../../../shared/secrets/memory.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { keepVersions, VERSIONS_KEPT } from '../../../shared/storage/kept-versions.js';
import { MemoryWorkflowStore } from '../../../shared/storage/memory/workflows.js';
import { TEST_CURSOR_KEY } from '../../support/stores.js';

const NOW = new Date('2026-01-01T00:00:00.000Z');

function definition(id: string, value: string): WorkflowDefinition {
  return {
    schema_version: '1.0',
    id,
    steps: [{ id: 'only', type: 'transform', config: { output: { value } } }],
  };
}

/** The memory store, counting the reads that reach it; `fail` makes the next reads throw. */
function countingStore() {
  const store = new MemoryWorkflowStore(new CursorCodec(TEST_CURSOR_KEY));
  const reads: string[] = [];
  let failures = 0;
  const read = (id: string, version?: number) => {
    reads.push(`${id}@${version ?? 'latest'}`);
    if (failures > 0) {
      failures -= 1;
      return Promise.reject(new ThrottledError('slow down'));
    }
    return store.get(id, version);
  };
  // Every other method is the store's own.
  const counted = new Proxy(store, {
    get: (target, name) =>
      name === 'get' ? read : (target[name as keyof WorkflowStore] as () => unknown).bind(target),
  }) as WorkflowStore;
  return {
    store,
    counted,
    reads,
    fail(times: number) {
      failures = times;
    },
  };
}

describe('keepVersions', () => {
  it('reads a version asked for by number once, and hands out the same object every time', async () => {
    const { store, counted, reads } = countingStore();
    await store.create(definition('flow', 'a'), NOW);
    const kept = keepVersions(counted);
    const [first, second] = await Promise.all([kept.get('flow', 1), kept.get('flow', 1)]);
    const third = await kept.get('flow', 1);
    expect(first.definition.steps[0]).toMatchObject({ config: { output: { value: 'a' } } });
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(reads).toEqual(['flow@1']);
  });

  it('asks the store for the latest version every time: a new version is seen at once', async () => {
    const { store, counted, reads } = countingStore();
    await store.create(definition('flow', 'a'), NOW);
    const kept = keepVersions(counted);
    expect((await kept.get('flow')).version).toBe(1);
    await kept.update(definition('flow', 'b'), NOW);
    expect((await kept.get('flow')).version).toBe(2);
    expect((await kept.get('flow', 2)).definition.steps[0]).toMatchObject({
      config: { output: { value: 'b' } },
    });
    expect(reads).toEqual(['flow@latest', 'flow@latest', 'flow@2']);
  });

  it('keeps no failed read: an unknown version, then a throttle, are asked again', async () => {
    const { store, counted, reads, fail } = countingStore();
    const kept = keepVersions(counted);
    await expect(kept.get('flow', 1)).rejects.toBeInstanceOf(NotFoundError);
    await store.create(definition('flow', 'a'), NOW);
    fail(1);
    await expect(kept.get('flow', 1)).rejects.toBeInstanceOf(ThrottledError);
    expect((await kept.get('flow', 1)).version).toBe(1);
    expect((await kept.get('flow', 1)).version).toBe(1);
    expect(reads).toEqual(['flow@1', 'flow@1', 'flow@1']);
  });

  it(`keeps at most ${VERSIONS_KEPT} versions, dropping the one read first`, async () => {
    const { store, counted, reads } = countingStore();
    for (let i = 0; i <= VERSIONS_KEPT; i++) await store.create(definition(`flow-${i}`, 'a'), NOW);
    const kept = keepVersions(counted);
    for (let i = 0; i <= VERSIONS_KEPT; i++) await kept.get(`flow-${i}`, 1);
    reads.length = 0;
    await kept.get(`flow-${VERSIONS_KEPT}`, 1);
    await kept.get('flow-1', 1);
    expect(reads).toEqual([]);
    await kept.get('flow-0', 1);
    expect(reads).toEqual(['flow-0@1']);
  });

  it('is what the orchestrator composes: the API, Advance and answers share one read per version', async () => {
    const { store, counted, reads } = countingStore();
    await store.create(definition('flow', 'a'), NOW);
    const deps = composeOrchestrator(
      {
        stores: { workflows: counted } as never,
        tokens: { complete: async () => {} },
        executions: { start: async () => {} },
        secrets: createMemorySecrets({}),
        http: createMemoryHttpClient(() => ({ status: 200, headers: {}, body: '{}' })),
      },
      {
        allowPrivateNetwork: false,
        allowLoopback: false,
        ai: { provider: 'mock', mode: 'success', seed: 0 },
      },
    );
    await deps.stores.workflows.get('flow', 1);
    await deps.stores.workflows.get('flow', 1);
    expect(reads).toEqual(['flow@1']);
  });
});
