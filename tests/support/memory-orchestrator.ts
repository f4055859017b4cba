/** The orchestrator on in-memory stores and ports, recording what it asks of Step Functions: for unit tests. */
import { ManualClock } from '../../shared/adapters/clock.js';
import { sequentialIds } from '../../shared/adapters/ids.js';
import type { Signal } from '../../shared/engine/types.js';
import { createMemoryHttpClient, type MemoryHttpHandler } from '../../shared/http/memory-http-client.js';
import { composeOrchestrator, type OrchestratorPorts } from '../../shared/orchestration/compose.js';
import type { AdvanceOutput } from '../../shared/orchestration/directive.js';
import { advance, type OrchestratorDeps } from '../../shared/orchestration/orchestrator.js';
import { createMemorySecrets } from '../../shared/secrets/memory.js';
import { createMemoryArtifacts, type MemoryArtifactsOptions } from '../../shared/storage/memory/artifacts.js';
import { createMemoryStores } from '../../shared/storage/memory/stores.js';

export const NOW = new Date('2026-01-01T00:00:00.000Z');

export function memoryOrchestrator(
  http: MemoryHttpHandler = () => ({ status: 200, headers: {}, body: '{}' }),
  /** The buckets of the memory S3 (triggers), and ports beside the memory ones (a mail channel, the outbox as mailbox, the public URL, secrets). */
  options: { buckets?: MemoryArtifactsOptions['buckets'] } & Partial<
    Pick<OrchestratorPorts, 'mail' | 'outboxIsMailbox' | 'publicUrl' | 'secrets'>
  > = {},
) {
  const { buckets, ...extra } = options;
  const clock = new ManualClock(NOW);
  const stores = {
    ...createMemoryStores(),
    artifacts: createMemoryArtifacts(buckets ? { buckets } : {}),
  };
  const client = createMemoryHttpClient(http);
  /** Tokens completed (SendTaskSuccess) and executions started (StartExecution), in order. */
  const completed: string[] = [];
  const started: Array<{ run_id: string; name: string; generation: number }> = [];
  const deps = composeOrchestrator(
    {
      stores,
      clock,
      ids: sequentialIds(),
      tokens: { complete: async (token) => void completed.push(token) },
      executions: {
        start: async (input, name) =>
          void started.push({ run_id: input.run_id, name, generation: input.generation }),
      },
      secrets: createMemorySecrets({}),
      http: client,
      ...extra,
    },
    { allowPrivateNetwork: true, allowLoopback: true, ai: { provider: 'mock', mode: 'success', seed: 0 } },
  );
  return { deps, stores, http: client, clock, completed, started };
}

/** Advances like the state machine does: again on `continue`, until it would wait or the run ended. */
export async function drive(
  deps: OrchestratorDeps,
  runId: string,
  signal?: Extract<Signal, { type: 'timeout' }>,
): Promise<AdvanceOutput> {
  let output: AdvanceOutput;
  let transitions = 0;
  do {
    output = await advance(
      { run_id: runId, generation: 0, transitions, ...(signal ? { signal } : {}) },
      deps,
    );
    transitions += 2;
  } while (output.directive === 'continue');
  return output;
}
