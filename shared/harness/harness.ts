/**
 * Runs workflows end to end in this process: a thin driver of the orchestrator (the same one the
 * Lambda functions and the local runtime run) over the in-memory stores, with the state machine's
 * loop in process. Start, deliver a signal, fire due timers, read a run. The unit tests, the
 * examples' tests, `flowrunner run` and the benchmark use it. Time is a manual clock unless
 * `realTime` is set.
 */
import { ManualClock, systemClock } from '../adapters/clock.js';
import { sequentialIds } from '../adapters/ids.js';
import type { WorkflowDefinition, WorkflowVersion } from '../definition/schema.js';
import { assertValidWorkflow } from '../definition/validate.js';
import { contextSnapshot } from '../engine/context.js';
import { checkRunInputs } from '../engine/inputs.js';
import { apply, waitingSteps } from '../engine/transition.js';
import type { RunEvent, RunState, Signal, StepExecution } from '../engine/types.js';
import { ConflictError, type ErrorInfo, NotFoundError, ValidationError } from '../errors.js';
import { Redactor } from '../expressions/index.js';
import { createMemoryHttpClient } from '../http/memory-http-client.js';
import type { OrchestratorSettings } from '../orchestration/compose.js';
import { InProcessStateMachine } from '../orchestration/in-process.js';
import { deliverSignal, redriveRun, startRun } from '../orchestration/orchestrator.js';
import type {
  Clock,
  HttpClient,
  Ids,
  PromptTemplate,
  PromptTemplateContent,
  RunStore,
  SecretSource,
} from '../ports/index.js';
import { createMemorySecrets } from '../secrets/memory.js';
import type { StepRegistry } from '../steps/registry.js';
import { createMemoryArtifacts } from '../storage/memory/artifacts.js';
import { createMemoryStores, type MemoryStores } from '../storage/memory/stores.js';

export interface HarnessOptions {
  workflows?: Array<WorkflowDefinition | string>;
  registry?: StepRegistry;
  /** Default: a ManualClock at 2026-01-01; with `realTime`, the system clock. */
  clock?: Clock;
  /** Fire timers by real time (setTimeout) instead of `advanceTime`. */
  realTime?: boolean;
  http?: HttpClient;
  /** Default: private networks allowed, the mock model answering successfully (seed 0). */
  settings?: OrchestratorSettings;
  secrets?: Record<string, string>;
  /** Prompt templates stored before the first run starts, each as the next version of its id. */
  templates?: PromptTemplateContent[];
  /** Default: sequential ids (`run_1`, `run_2`, …). */
  ids?: Ids;
  /** Told about every event as it is recorded (live progress). */
  onEvent?: (runId: string, event: RunEvent) => void;
  /** Answers `{{ secrets.* }}`; default: the `secrets` map. */
  secretSource?: SecretSource;
}

export interface StartOptions {
  inputs?: unknown;
  profile?: unknown;
  version?: number;
}

export interface SignalOutcome {
  accepted: boolean;
  rejection?: ErrorInfo;
}

export class Harness {
  readonly clock: Clock;
  readonly registry: StepRegistry;
  readonly http: HttpClient;
  readonly redactor = new Redactor();
  readonly #stores: MemoryStores;
  readonly #machine: InProcessStateMachine;
  /** Workflows given to the constructor, stored before the first run starts. */
  readonly #stored: Promise<unknown>;
  #signals = 0;

  constructor(options: HarnessOptions = {}) {
    const realTime = options.realTime ?? false;
    this.clock = options.clock ?? (realTime ? systemClock : new ManualClock());
    this.http =
      options.http ?? createMemoryHttpClient(() => ({ status: 200, headers: {}, body: '{}', url: '' }));
    this.#stores = createMemoryStores();
    this.#machine = new InProcessStateMachine(
      {
        stores: {
          ...this.#stores,
          runs: options.onEvent ? reportingEvents(this.#stores.runs, options.onEvent) : this.#stores.runs,
          artifacts: createMemoryArtifacts(),
        },
        secrets: options.secretSource ?? createMemorySecrets(options.secrets ?? {}),
        http: this.http,
        clock: this.clock,
        ids: options.ids ?? sequentialIds(),
        redactor: this.redactor,
        ...(options.registry ? { registry: options.registry } : {}),
      },
      options.settings ?? {
        allowPrivateNetwork: true,
        allowLoopback: true,
        ai: { provider: 'mock', mode: 'success', seed: 0 },
      },
      { realTime },
    );
    this.registry = this.#machine.deps.registry;
    const definitions = (options.workflows ?? []).map((source) =>
      assertValidWorkflow(source, { registry: this.registry }),
    );
    this.#stored = definitions.reduce<Promise<unknown>>(
      (previous, definition) => previous.then(() => this.#store(definition)),
      (options.templates ?? []).reduce<Promise<unknown>>(
        (previous, template) => previous.then(() => this.#storeTemplate(template)),
        Promise.resolve(),
      ),
    );
  }

  /** Stores a prompt template as its next version (version 1 when it is new). */
  async addTemplate(template: PromptTemplateContent): Promise<PromptTemplate> {
    await this.#stored;
    return this.#storeTemplate(template);
  }

  /** Validates and stores a workflow (YAML, JSON or an object) as its next version. */
  async addWorkflow(source: WorkflowDefinition | string): Promise<WorkflowVersion> {
    await this.#stored;
    return this.#store(assertValidWorkflow(source, { registry: this.registry }));
  }

  async workflow(id: string, version?: number): Promise<WorkflowVersion> {
    await this.#stored;
    return this.#stores.workflows.get(id, version);
  }

  /** Creates and starts a run, and waits until it completes or waits. */
  async start(workflowId: string, options: StartOptions = {}): Promise<RunState> {
    const workflow = await this.workflow(workflowId, options.version);
    const inputs = options.inputs ?? {};
    const issues = checkRunInputs(workflow.definition, inputs);
    if (issues.length > 0) throw new ValidationError('The inputs do not fit the workflow', issues);
    const run = await startRun(
      { workflow, inputs, ...(options.profile === undefined ? {} : { profile: options.profile }) },
      this.#machine.deps,
    );
    await this.idle();
    return this.run(run.id);
  }

  /**
   * Delivers a signal as the API does: checked against the run as it is now (a refused signal says
   * why and changes nothing), then put in the run's inbox; waits until every run is idle again.
   */
  async send(runId: string, signal: Signal): Promise<SignalOutcome> {
    await this.idle();
    const state = this.run(runId);
    const workflow = await this.workflow(state.workflow_id, state.workflow_version);
    const trial = apply(workflow, state, signal, { now: this.clock.now(), registry: this.registry });
    if (!trial.accepted) {
      return { accepted: false, ...(trial.rejection ? { rejection: trial.rejection } : {}) };
    }
    await deliverSignal(runId, `harness:${++this.#signals}`, signal, this.#machine.deps);
    await this.idle();
    return { accepted: true };
  }

  resume(runId: string, payload: unknown, stepId?: string, by?: string): Promise<SignalOutcome> {
    return this.send(runId, {
      type: 'resume',
      payload,
      ...(stepId === undefined ? {} : { step_id: stepId }),
      ...(by === undefined ? {} : { by }),
    });
  }

  cancel(runId: string, reason?: string): Promise<SignalOutcome> {
    return this.send(runId, { type: 'cancel', ...(reason === undefined ? {} : { reason }) });
  }

  pause(runId: string): Promise<SignalOutcome> {
    return this.send(runId, { type: 'pause' });
  }

  unpause(runId: string): Promise<SignalOutcome> {
    return this.send(runId, { type: 'unpause' });
  }

  /** Redrives a failed run (CONTRACT §9) and waits until every run is idle again. */
  async redrive(runId: string, by?: string): Promise<SignalOutcome> {
    await this.idle();
    try {
      await redriveRun(runId, by, this.#machine.deps);
    } catch (error) {
      if (error instanceof ConflictError) {
        return { accepted: false, rejection: { code: 'Conflict', message: error.message } };
      }
      throw error;
    }
    await this.idle();
    return { accepted: true };
  }

  /** Moves the manual clock forward and fires every timer that is due, in every run. */
  async advanceTime(ms: number): Promise<void> {
    if (!(this.clock instanceof ManualClock)) throw new Error('advanceTime needs the manual clock');
    this.clock.advance(ms);
    await this.idle();
    while ((await this.#machine.fireDueTimers()) > 0) await this.idle();
  }

  /** Waits until no run has work in flight. */
  idle(): Promise<void> {
    return this.#machine.idle();
  }

  run(id: string): RunState {
    return this.#stores.runs.inspect(id).state;
  }

  events(id: string): RunEvent[] {
    return this.#stores.runs.inspect(id).events;
  }

  history(id: string): StepExecution[] {
    return this.#stores.runs.inspect(id).history;
  }

  async waiting(id: string) {
    const state = this.run(id);
    return waitingSteps(await this.workflow(state.workflow_id, state.workflow_version), state);
  }

  async context(id: string) {
    const state = this.run(id);
    return contextSnapshot(await this.workflow(state.workflow_id, state.workflow_version), state);
  }

  runs(): RunState[] {
    return this.#stores.runs.ids().map((id) => this.run(id));
  }

  /** Stops the real-time timers so the process can exit. */
  close(): void {
    this.#machine.close();
  }

  async #storeTemplate(template: PromptTemplateContent): Promise<PromptTemplate> {
    const now = this.clock.now();
    try {
      return await this.#stores.templates.update(template, now);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      return this.#stores.templates.create(template, now);
    }
  }

  async #store(definition: WorkflowDefinition): Promise<WorkflowVersion> {
    const now = this.clock.now();
    try {
      return await this.#stores.workflows.update(definition, now);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      return this.#stores.workflows.create(definition, now);
    }
  }
}

/** The run store, telling `onEvent` about each event once its transition is committed. */
function reportingEvents(runs: RunStore, onEvent: (runId: string, event: RunEvent) => void): RunStore {
  return {
    create: (created) => runs.create(created),
    async commit(transition, options) {
      await runs.commit(transition, options);
      for (const event of transition.events) onEvent(transition.state.id, event);
    },
    get: (runId) => runs.get(runId),
    readKept: (output) => runs.readKept(output),
    list: (query) => runs.list(query),
    listByStatus: (statuses, page) => runs.listByStatus(statuses, page),
    idsInStatus: (statuses) => runs.idsInStatus(statuses),
    events: (runId, options) => runs.events(runId, options),
    history: (runId) => runs.history(runId),
    setTaskToken: (runId, token, options) => runs.setTaskToken(runId, token, options),
  };
}
