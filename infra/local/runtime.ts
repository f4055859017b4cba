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
import { logger, processSecrets, withAdvanceLog } from '../../shared/adapters/logger.js';
import { createPrometheusMetrics, type PrometheusMetrics } from '../../shared/adapters/metrics.js';
import { telemetryFromEnv } from '../../shared/adapters/otel-settings.js';
import type { WorkflowVersion } from '../../shared/definition/schema.js';
import type { RunState, Signal } from '../../shared/engine/types.js';
import { createNodeHttpClient } from '../../shared/http/node-http-client.js';
import { composeOrchestrator, orchestratorSettings } from '../../shared/orchestration/compose.js';
import type { AwaitSignalInput, ExecutionInput } from '../../shared/orchestration/directive.js';
import {
  deliverSignal,
  executionName,
  type OrchestratorDeps,
  startRun,
} from '../../shared/orchestration/orchestrator.js';
import type { Clock, Executions, TaskTokens, Telemetry } from '../../shared/ports/index.js';
import { createLocalSecrets } from '../../shared/secrets/local.js';
import { Slots } from '../../shared/slots.js';
import type { StepRegistry } from '../../shared/steps/registry.js';
import { type LocalStores, startLocalStores } from '../../shared/storage/local/stores.js';
import { type AslDefinition, States, stateMachineDefinition } from '../state-machine.js';
import { CrashGuard } from './crash-guard.js';

const LOCAL_ARN = {
  advance: 'arn:aws:lambda:us-east-1:000000000000:function:flowrunner-advance',
  awaitSignal: 'arn:aws:lambda:us-east-1:000000000000:function:flowrunner-await-signal',
  stateMachine: 'arn:aws:states:us-east-1:000000000000:stateMachine:flowrunner',
};

/** What a Lambda context tells Advance: the time left of a fresh invocation of the deployed function (ADVANCE_TIMEOUT, 5 minutes). */
const ADVANCE_CONTEXT = { getRemainingTimeInMillis: () => 300_000 };

/** How often undelivered notifications are looked for (each has its own backoff besides). */
const NOTIFY_RETRY_MS = 30_000;

/** Advances at once by default (LocalRuntimeOptions.maxConcurrentAdvances). */
export const MAX_CONCURRENT_ADVANCES = 32;

/** Runs in these statuses have an execution to pick up after a restart. */
const UNFINISHED = ['queued', 'running', 'waiting', 'paused'] as const;

export interface LocalRuntimeOptions {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  registry?: StepRegistry;
  clock?: Clock;
  /** Waits before retries, per state name, in ms (the library's override; tests use 0 to skip jitter). */
  retryIntervalOverrides?: Record<string, number>;
  /** The definition to run (default: the module's); the parity test passes the one from the synthesized template. */
  definition?: AslDefinition;
  /** Receives each execution's event log (StateEntered, …) as it starts: for tests and the benchmark. */
  onExecution?: (name: string, events: AsyncIterable<{ type: string }>) => void;
  /** The local S3's port (default 0: a free one). */
  s3Port?: number;
  /** Told when an execution fails: infrastructure trouble, not a failed run (default: a line on stderr). */
  onExecutionError?: (name: string, error: unknown) => void;
  /** Traces (default: OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set, else none); tests pass an in-memory exporter's. */
  telemetry?: Telemetry;
  /** Advances run at once; the others wait their turn (default MAX_CONCURRENT_ADVANCES). */
  maxConcurrentAdvances?: number;
  /**
   * Whether `start` picks up the runs that have not ended (default true). The server passes false
   * and calls `resumeUnfinished` once it listens, so that the API answers while they are picked up.
   */
  resumeUnfinished?: boolean;
}

export class LocalRuntime {
  readonly local: LocalStores;
  readonly deps: OrchestratorDeps;
  /** The metrics `GET /metrics` shows (Prometheus text), for the life of the process. */
  readonly metrics: PrometheusMetrics = createPrometheusMetrics();
  readonly #telemetry: Telemetry & { shutdown?(): Promise<void> };
  readonly #ownsTelemetry: boolean;
  readonly #machine: StateMachine;
  /** The parked AwaitSignal of each run: its token and how to wake it. */
  readonly #parked = new Map<string, { token: string; wake: () => void }>();
  /**
   * The executions under way, by name, with the generation each carries (#runExecutions says
   * whose run). An execution's entry goes when it ends: the map holds what runs now (a waiting
   * run's parked execution stays), not every execution since the start, which grew by one per run
   * without end.
   */
  readonly #executions = new Map<string, { generation: number; done: Promise<unknown> }>();
  /** The names of the executions under way of each run (so that no start or end looks through all of them). */
  readonly #runExecutions = new Map<string, Set<string>>();
  /** Advances take turns, at most maxConcurrentAdvances at once. */
  readonly advances: Slots;
  readonly #aborts = new Set<() => void>();
  /** Handler calls under way: `close()` lets them finish before the stores stop. */
  readonly #calls = new Set<Promise<unknown>>();
  /** Marks each run in flight while it is advanced, so a run that keeps crashing the process is failed. */
  readonly #guard: CrashGuard;
  readonly #onExecutionError: (name: string, error: unknown) => void;
  readonly #onExecution: LocalRuntimeOptions['onExecution'];
  readonly #retryIntervals: LocalRuntimeOptions['retryIntervalOverrides'];
  #tokens = 0;
  /** Where personal links point unless FLOWRUNNER_PUBLIC_URL says otherwise: the server sets it once it listens. */
  publicUrl = 'http://127.0.0.1:3000';
  /** Delivers notifications that failed or were never delivered (the process stopped in between). */
  readonly #notifyRetries: NodeJS.Timeout;

  private constructor(
    local: LocalStores,
    guard: CrashGuard,
    options: LocalRuntimeOptions,
    telemetry: Telemetry & { shutdown?(): Promise<void> },
  ) {
    this.#guard = guard;
    this.advances = new Slots(options.maxConcurrentAdvances ?? MAX_CONCURRENT_ADVANCES);
    this.#telemetry = telemetry;
    this.#ownsTelemetry = options.telemetry === undefined;
    const env = options.env ?? process.env;
    this.local = local;
    this.#onExecution = options.onExecution;
    this.#retryIntervals = options.retryIntervalOverrides;
    this.#onExecutionError =
      options.onExecutionError ??
      ((name, error) => process.stderr.write(`flowrunner: execution ${name} failed: ${String(error)}\n`));
    const tokens: TaskTokens = {
      complete: async (token) => {
        // A token names its run (`<run id>:<n>`, see #park).
        const runId = token.slice(0, token.lastIndexOf(':'));
        const parked = this.#parked.get(runId);
        if (parked?.token === token) {
          this.#parked.delete(runId);
          parked.wake();
        }
      },
    };
    const executions: Executions = { start: async (input, name) => this.#start(input, name) };
    this.deps = composeOrchestrator(
      {
        stores: local.stores,
        tokens,
        executions,
        secrets: createLocalSecrets({ dataDir: options.dataDir, env }),
        http: createNodeHttpClient(),
        // Every secret the engine resolves is kept out of the log lines too.
        redactor: processSecrets,
        telemetry,
        metrics: this.metrics,
        // The outbox is the local mailbox (GET /v1/outbox); links point at this server once it listens.
        outboxIsMailbox: true,
        publicUrl: () => this.publicUrl,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.registry ? { registry: options.registry } : {}),
      },
      {
        ...orchestratorSettings(env, { allowLoopback: true }),
        // One process per data directory (server.lock): what was claimed before this runtime began
        // was claimed by one that is gone.
        claimsOrphanedBefore: (options.clock ?? systemClock).now(),
      },
    );
    const notifier = this.deps.notifier;
    this.#notifyRetries = setInterval(() => {
      notifier?.retryDue().catch((error: unknown) => {
        process.stderr.write(`flowrunner: notification retries failed: ${String(error)}\n`);
      });
    }, NOTIFY_RETRY_MS);
    this.#notifyRetries.unref();
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
    // Settings first: a bad OTEL_* value stops the start before any store opens.
    const telemetry = options.telemetry ?? (await telemetryFromEnv(options.env ?? process.env));
    const local = await startLocalStores({
      dataDir: join(options.dataDir),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.s3Port === undefined ? {} : { s3Port: options.s3Port }),
    });
    if (local.upgradedRuns > 0) {
      logger.info(
        `Moved ${local.upgradedRuns} runs stored by an earlier version to the delta checkpoint layout (docs/storage.md)`,
        { upgraded_runs: local.upgradedRuns },
      );
    }
    const guard = CrashGuard.open(options.dataDir);
    const runtime = new LocalRuntime(local, guard, options, telemetry);
    // A run that took the process down MAX_CRASHES times in a row is failed before it is picked up:
    // its abort waits first in its inbox, so the pick-up applies it before any step runs again.
    for (const { runId, error } of guard.toAbort()) {
      await runtime.deliver(runId, 'abort:crashed-host', { type: 'abort', error });
    }
    if (options.resumeUnfinished ?? true) await runtime.resumeUnfinished();
    return runtime;
  }

  /**
   * Picks up every run that has not ended, each in an execution of its own (their Advances take
   * turns, maxConcurrentAdvances at a time). Read from the runs themselves, not the status index:
   * dynalite updates an index apart from its item, so a kill -9 in between can leave a run that
   * the index no longer lists.
   */
  async resumeUnfinished(): Promise<void> {
    // First the runs the last process left in flight, ended ones too: a child whose last Advance
    // died after its final commit tells its parent now, which otherwise waited for ever.
    for (const runId of this.#guard.interrupted()) {
      this.#start({ run_id: runId, generation: 0 }, `${runId}-interrupted-${Date.now()}`);
    }
    for (const runId of await this.local.stores.runs.idsInStatus(UNFINISHED)) {
      this.#start({ run_id: runId, generation: 0 }, `${runId}-resumed-${Date.now()}`);
    }
  }

  async startRun(workflow: WorkflowVersion, inputs: unknown, profile?: unknown): Promise<RunState> {
    return startRun({ workflow, inputs, ...(profile === undefined ? {} : { profile }) }, this.deps);
  }

  deliver(runId: string, signalId: string, signal: Signal) {
    return deliverSignal(runId, signalId, signal, this.deps);
  }

  /** Resolves when every execution started so far has ended (runs that wait keep theirs open). */
  async settled(): Promise<void> {
    // Ended executions are gone from the map: what is left is what has not ended yet.
    await Promise.all([...this.#executions.values()].map((execution) => execution.done));
  }

  /** Stops every execution (their runs are picked up again on the next start) and the stores. */
  async close(): Promise<void> {
    clearInterval(this.#notifyRetries);
    // Written first: should the stop end in a forced exit, what was in flight was not a crash.
    this.#guard.stopping();
    for (const abort of this.#aborts) abort();
    await Promise.allSettled([...this.#calls]);
    this.#guard.close();
    await this.local.close();
    // The spans of the last calls are exported before the process goes (a given telemetry is the caller's to stop).
    await (this.#ownsTelemetry && this.#telemetry.shutdown
      ? this.#telemetry.shutdown()
      : this.#telemetry.flush());
  }

  #start(input: ExecutionInput, name: string): void {
    // As StartExecution refuses a name in use. The name of an execution that ended is forgotten (or
    // the map would keep one entry per run for ever), so a repeated start of it starts a new
    // execution where AWS would refuse it. That is harmless: its run has ended (Advance on a
    // finished run ends the execution at once), or its execution failed and a new one picks the run
    // up, or the run went on in a later generation, which the next check refuses.
    if (this.#executions.has(name)) return;
    // An execution of this run's generation or a later one under way carries the run: a second one
    // (a repeated start of generation 0 after a handoff) would advance it twice and park it twice.
    const names = this.#runExecutions.get(input.run_id) ?? new Set<string>();
    for (const other of names) {
      if (this.#executions.get(other)!.generation >= input.generation) return;
    }
    // One JSON line per Advance, as the Lambda writes.
    const advance = withAdvanceLog(
      createAdvanceHandler(() => this.deps),
      logger,
    );
    const awaitSignal = createAwaitSignalHandler(() => this.deps);
    // Advance, and Abort: the same function, invoked with the error Advance kept failing with.
    const advanceTask = (event: unknown) =>
      this.#track(
        this.advances.run(() =>
          this.#guard.around((event as ExecutionInput).run_id, () => advance(event, ADVANCE_CONTEXT)),
        ),
      );
    const execution = this.#machine.run(
      input as never,
      {
        overrides: {
          ...(this.#retryIntervals ? { retryIntervalOverrides: this.#retryIntervals } : {}),
          taskResourceLocalHandlers: {
            [States.Advance]: advanceTask,
            [States.Abort]: advanceTask,
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
      .finally(() => {
        this.#aborts.delete(execution.abort);
        this.#executions.delete(name);
        names.delete(name);
        // A wait that ended without its token being completed (a timed wait that timed out, an
        // abort) leaves the run's parked entry behind, and with it the ended execution it would
        // wake. With no execution of the run left, nothing is parked for it any more.
        if (names.size === 0) {
          this.#runExecutions.delete(input.run_id);
          this.#parked.delete(input.run_id);
        }
      });
    this.#executions.set(name, { generation: input.generation, done });
    names.add(name);
    this.#runExecutions.set(input.run_id, names);
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
