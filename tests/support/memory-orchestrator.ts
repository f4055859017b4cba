/** The orchestrator on in-memory stores and ports, recording what it asks of Step Functions: for unit tests. */
import { ManualClock } from '../../shared/adapters/clock.js';
import { sequentialIds } from '../../shared/adapters/ids.js';
import { createMockAiProvider } from '../../shared/ai/mock-provider.js';
import { createMemoryPromptTemplates } from '../../shared/ai/prompt-templates.js';
import { createMemoryHttpClient, type MemoryHttpHandler } from '../../shared/http/memory-http-client.js';
import { orchestratedChildren } from '../../shared/orchestration/children.js';
import type { OrchestratorDeps } from '../../shared/orchestration/orchestrator.js';
import type { Stores } from '../../shared/ports/index.js';
import { createMemorySecrets } from '../../shared/secrets/memory.js';
import { createStepRegistry } from '../../shared/steps/registry.js';
import { createMemoryArtifacts } from '../../shared/storage/memory/artifacts.js';
import { createMemoryStores } from '../../shared/storage/memory/stores.js';

export const NOW = new Date('2026-01-01T00:00:00.000Z');

export function memoryOrchestrator(
  http: MemoryHttpHandler = () => ({ status: 200, headers: {}, body: '{}' }),
) {
  const clock = new ManualClock(NOW);
  const stores: Stores = { ...createMemoryStores(), artifacts: createMemoryArtifacts() };
  const client = createMemoryHttpClient(http);
  /** Tokens completed (SendTaskSuccess) and executions started (StartExecution), in order. */
  const completed: string[] = [];
  const started: Array<{ run_id: string; name: string; generation: number }> = [];
  const deps: OrchestratorDeps & { stores: Stores } = {
    stores,
    clock,
    ids: sequentialIds(),
    budgetMs: 60_000,
    tokens: { complete: async (token) => void completed.push(token) },
    executions: {
      start: async (input, name) =>
        void started.push({ run_id: input.run_id, name, generation: input.generation }),
    },
    executor: {
      registry: createStepRegistry(),
      secrets: createMemorySecrets({}),
      steps: {
        http: client,
        ai: createMockAiProvider(),
        children: orchestratedChildren(() => deps),
        templates: createMemoryPromptTemplates([]),
        clock,
        ids: sequentialIds(),
        allowPrivateNetwork: true,
      },
    },
  };
  return { deps, stores, http: client, clock, completed, started };
}
