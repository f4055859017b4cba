/**
 * The local runtime: the state machine that CDK deploys, executed by aws-local-stepfunctions, with
 * every Task overridden by an in-process call to the same handler code, on the production stores
 * pointed at embedded stand-ins. On start it picks up every run that has not ended.
 */
import './node20-polyfills.js';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { createAdvanceHandler, createAwaitSignalHandler } from '../../functions/handlers.js';
import { systemClock } from '../../shared/adapters/clock.js';
import { randomIds } from '../../shared/adapters/ids.js';
import { createMockAiProvider, mockAiOptionsFromEnv } from '../../shared/ai/mock-provider.js';
import { createMemoryPromptTemplates } from '../../shared/ai/prompt-templates.js';
import type { WorkflowVersion } from '../../shared/definition/schema.js';
import type { RunState, Signal } from '../../shared/engine/types.js';
import { createNodeHttpClient } from '../../shared/http/node-http-client.js';
import { orchestratedChildren } from '../../shared/orchestration/children.js';
import type { AwaitSignalInput, ExecutionInput } from '../../shared/orchestration/directive.js';
import {
  deliverSignal,
  executionName,
  type OrchestratorDeps,
  startRun,
} from '../../shared/orchestration/orchestrator.js';
import type { Clock, Executions, TaskTokens } from '../../shared/ports/index.js';
import { createLocalSecrets } from '../../shared/secrets/local.js';
import type { StepRegistry } from '../../shared/steps/registry.js';
import { createStepRegistry } from '../../shared/steps/registry.js';
import { type LocalStores, startLocalStores } from '../../shared/storage/local/stores.js';
import { type AslDefinition, States, stateMachineDefinition } from '../state-machine.js';

const LOCAL_ARN = {
  advance: 'arn:aws:lambda:us-east-1:000000000000:function:flowrunner-advance',
  awaitSignal: 'arn:aws:lambda:us-east-1:000000000000:function:flowrunner-await-signal',
  stateMachine: 'arn:aws:states:us-east-1:000000000000:stateMachine:flowrunner',
};

/** Runs in these statuses have an execution to pick up after a restart. */
const UNFINISHED = ['queued', 'running', 'waiting', 'paused'] as const;

export interface LocalRuntimeOptions {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  registry?: StepRegistry;
  clock?: Clock;
  /** Advance's time budget per invocation (default 60 s). */
  budgetMs?: number;
  /** Waits before retries, per state name, in ms (the library's override; tests use 0 to skip jitter). */
  retryIntervalOverrides?: Record<string, number>;
  /** The definition to run (default: the module's); the parity test passes the one from the synthesized template. */
  definition?: AslDefinition;
  /** Receives each execution's event log (StateEntered, …) as it starts: for tests and the benchmark. */
  onExecution?: (name: string, events: AsyncIterable<{ type: string }>) => void;
  /** Told when an execution fails: infrastructure trouble, not a failed run (default: a line on stderr). */
  onExecutionError?: (name: string, error: unknown) => void;
}

export class LocalRuntime {
  readonly local: LocalStores;
  readonly deps: OrchestratorDeps;
  readonly #machine: StateMachine;
  /** The parked AwaitSignal of each run: its token and how to wake it. */
  readonly #parked = new Map<string, { token: string; wake: () => void }>();
  readonly #executions = new Map<string, Promise<unknown>>();
  readonly #aborts = new Set<() => void>();
  /** Handler calls under way: `close()` lets them finish before the stores stop. */
  readonly #calls = new Set<Promise<unknown>>();
  readonly #onExecutionError: (name: string, error: unknown) => void;
  readonly #onExecution: LocalRuntimeOptions['onExecution'];
  readonly #retryIntervals: LocalRuntimeOptions['retryIntervalOverrides'];
  #tokens = 0;

  private constructor(local: LocalStores, options: LocalRuntimeOptions) {
    const env = options.env ?? process.env;
    this.local = local;
    this.#onExecution = options.onExecution;
    this.#retryIntervals = options.retryIntervalOverrides;
    this.#onExecutionError =
      options.onExecutionError ??
      ((name, error) => process.stderr.write(`flowrunner: execution ${name} failed: ${String(error)}\n`));
    const clock = options.clock ?? systemClock;
    const tokens: TaskTokens = {
      complete: async (token) => {
        for (const [runId, parked] of this.#parked) {
          if (parked.token === token) {
            this.#parked.delete(runId);
            parked.wake();
          }
        }
      },
    };
    const executions: Executions = { start: async (input, name) => this.#start(input, name) };
    const deps: OrchestratorDeps = {
      stores: local.stores,
      clock,
      ids: randomIds,
      tokens,
      executions,
      budgetMs: options.budgetMs ?? 60_000,
      executor: {
        registry: options.registry ?? createStepRegistry(),
        secrets: createLocalSecrets({ dataDir: options.dataDir, env }),
        steps: {
          http: createNodeHttpClient(),
          ai: createMockAiProvider(mockAiOptionsFromEnv(env)),
          children: orchestratedChildren(() => deps),
          templates: createMemoryPromptTemplates([]),
          clock,
          ids: randomIds,
          allowPrivateNetwork: env.FLOWRUNNER_ALLOW_PRIVATE_NETWORK !== 'false',
        },
      },
    };
    this.deps = deps;
    this.#machine = new StateMachine(
      (options.definition ??
        stateMachineDefinition({
          advanceFunctionArn: LOCAL_ARN.advance,
          awaitSignalFunctionArn: LOCAL_ARN.awaitSignal,
          stateMachineArn: LOCAL_ARN.stateMachine,
        })) as never,
    );
  }

  /** Starts the stores and picks up every run that has not ended, each in an execution of its own. */
  static async start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const local = await startLocalStores({
      dataDir: join(options.dataDir),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const runtime = new LocalRuntime(local, options);
    let cursor: string | undefined;
    do {
      const page = await local.stores.runs.listByStatus(UNFINISHED, {
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      for (const run of page.items)
        runtime.#start({ run_id: run.id, generation: 0 }, `${run.id}-resumed-${Date.now()}`);
      cursor = page.next_cursor;
    } while (cursor);
    return runtime;
  }

  async startRun(workflow: WorkflowVersion, inputs: unknown, profile?: unknown): Promise<RunState> {
    return startRun({ workflow, inputs, ...(profile === undefined ? {} : { profile }) }, this.deps);
  }

  deliver(runId: string, signalId: string, signal: Signal) {
    return deliverSignal(runId, signalId, signal, this.deps);
  }

  /** Resolves when every execution started so far has ended (runs that wait keep theirs open). */
  async settled(): Promise<void> {
    await Promise.all(this.#executions.values());
  }

  /** Stops every execution (their runs are picked up again on the next start) and the stores. */
  async close(): Promise<void> {
    for (const abort of this.#aborts) abort();
    await Promise.allSettled([...this.#calls]);
    await this.local.close();
  }

  #start(input: ExecutionInput, name: string): void {
    if (this.#executions.has(name)) return; // as StartExecution refuses a repeated name
    const advance = createAdvanceHandler(() => this.deps);
    const awaitSignal = createAwaitSignalHandler(() => this.deps);
    const execution = this.#machine.run(
      input as never,
      {
        overrides: {
          ...(this.#retryIntervals ? { retryIntervalOverrides: this.#retryIntervals } : {}),
          taskResourceLocalHandlers: {
            [States.Advance]: (event: unknown) => this.#track(advance(event)),
            // lambda:invoke.waitForTaskToken: the function's event is the task's `Payload`.
            [States.AwaitSignal]: (event: unknown) => this.#park(payloadOf(event), awaitSignal),
            [States.AwaitSignalWithTimeout]: (event: unknown) => this.#park(payloadOf(event), awaitSignal),
            [States.Handoff]: async (event: unknown) => {
              const next = event as { Input?: ExecutionInput } & ExecutionInput;
              const handoff = next.Input ?? next;
              await this.deps.executions.start(handoff, executionName(handoff.run_id, handoff.generation));
              return {};
            },
          },
        },
        context: {
          Execution: { Id: `${LOCAL_ARN.stateMachine}:${name}`, Name: name },
          Task: { Token: name },
        },
        noThrowOnAbort: true,
      } as never,
    );
    this.#aborts.add(execution.abort);
    this.#onExecution?.(name, execution.eventLogs as AsyncIterable<{ type: string }>);
    const done = execution.result
      .catch((error: unknown) => this.#onExecutionError(name, error))
      .finally(() => this.#aborts.delete(execution.abort));
    this.#executions.set(name, done);
  }

  #track<T>(call: Promise<T>): Promise<T> {
    this.#calls.add(call);
    const forget = () => this.#calls.delete(call);
    call.then(forget, forget);
    return call;
  }

  /**
   * AwaitSignal: parks the execution until a signal for the run completes its token. The library
   * hands every task of one execution the same context token, so each wait gets a fresh one here.
   */
  #park(event: AwaitSignalInput, awaitSignal: (event: unknown) => Promise<void>): Promise<unknown> {
    const token = `${event.run_id}:${++this.#tokens}`;
    return new Promise((resolve, reject) => {
      this.#parked.set(event.run_id, { token, wake: () => resolve({}) });
      this.#track(awaitSignal({ ...event, task_token: token })).catch(reject);
    });
  }
}

function payloadOf(event: unknown): AwaitSignalInput {
  return (event as { Payload: AwaitSignalInput }).Payload;
}
