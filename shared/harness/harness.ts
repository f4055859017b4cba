/**
 * Runs workflows end to end on the engine with in-memory ports: the unit tests, the examples'
 * tests and the benchmark use it. Time is a manual clock unless `realTime` is set.
 */

import { ManualClock, systemClock } from '../adapters/clock.js';
import { sequentialIds } from '../adapters/ids.js';
import { createMockAiProvider } from '../ai/mock-provider.js';
import { createMemoryPromptTemplates } from '../ai/prompt-templates.js';
import type { WorkflowDefinition, WorkflowVersion } from '../definition/schema.js';
import { assertValidWorkflow } from '../definition/validate.js';
import { contextSnapshot } from '../engine/context.js';
import { checkRunInputs } from '../engine/inputs.js';
import { childFinishedSignal, createRun, isFinal, nextDeadline, waitingSteps } from '../engine/transition.js';
import type { RunEvent, RunState, Signal, StepExecution, Transition } from '../engine/types.js';
import { type ErrorInfo, NotFoundError, ValidationError } from '../errors.js';
import { Redactor } from '../expressions/index.js';
import { createMemoryHttpClient } from '../http/memory-http-client.js';
import { RunLoop } from '../orchestration/run-loop.js';
import type {
  AiProvider,
  ChildRuns,
  Clock,
  HttpClient,
  Ids,
  PromptTemplate,
  SecretSource,
} from '../ports/index.js';
import { createMemorySecrets } from '../secrets/memory.js';
import { createStepRegistry, type StepRegistry } from '../steps/registry.js';
import { HistoryRows } from '../storage/history.js';

export interface HarnessOptions {
  workflows?: Array<WorkflowDefinition | string>;
  registry?: StepRegistry;
  /** Default: a ManualClock at 2026-01-01; with `realTime`, the system clock. */
  clock?: Clock;
  /** Fire timers by real time (setTimeout) instead of `advanceTime`. */
  realTime?: boolean;
  http?: HttpClient;
  ai?: AiProvider;
  secrets?: Record<string, string>;
  templates?: PromptTemplate[];
  ids?: Ids;
  allowPrivateNetwork?: boolean;
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

interface RunRecord {
  state: RunState;
  events: RunEvent[];
  history: HistoryRows;
  loop?: { loop: RunLoop; done: Promise<void> };
  timer?: NodeJS.Timeout;
}

export class Harness {
  readonly clock: Clock;
  readonly registry: StepRegistry;
  readonly http: HttpClient;
  readonly redactor = new Redactor();
  readonly #ids: Ids;
  readonly #realTime: boolean;
  readonly #workflows = new Map<string, WorkflowVersion[]>();
  readonly #runs = new Map<string, RunRecord>();
  readonly #children = new Map<string, string>();
  readonly #rejections = new Map<Signal, ErrorInfo>();
  readonly #scheduled = new Set<Promise<unknown>>();
  /** The loops running now: `idle()` waits for these, not for every run ever created. */
  readonly #running = new Set<Promise<void>>();
  readonly #executor;
  readonly #onEvent: HarnessOptions['onEvent'];

  constructor(options: HarnessOptions = {}) {
    this.#realTime = options.realTime ?? false;
    this.#onEvent = options.onEvent;
    this.clock = options.clock ?? (this.#realTime ? systemClock : new ManualClock());
    this.registry = options.registry ?? createStepRegistry();
    this.#ids = options.ids ?? sequentialIds();
    this.http =
      options.http ?? createMemoryHttpClient(() => ({ status: 200, headers: {}, body: '{}', url: '' }));
    const children: ChildRuns = {
      start: (request) => this.#startChild(request),
      cancel: async (runId) => {
        const run = this.#runs.get(runId);
        if (run && !isFinal(run.state.status)) {
          const signal: Signal = { type: 'cancel', reason: 'The parent run ended' };
          await this.#deliver(runId, signal);
          this.#outcome(signal);
        }
      },
    };
    this.#executor = {
      registry: this.registry,
      secrets: options.secretSource ?? createMemorySecrets(options.secrets ?? {}),
      redactor: this.redactor,
      steps: {
        http: this.http,
        ai: options.ai ?? createMockAiProvider({ mode: 'success', seed: 0 }),
        children,
        templates: createMemoryPromptTemplates(options.templates ?? []),
        clock: this.clock,
        ids: this.#ids,
        allowPrivateNetwork: options.allowPrivateNetwork ?? true,
      },
    };
    for (const workflow of options.workflows ?? []) this.addWorkflow(workflow);
  }

  /** Validates and stores a workflow (YAML, JSON or an object) as its next version. */
  addWorkflow(source: WorkflowDefinition | string): WorkflowVersion {
    const definition = assertValidWorkflow(source, { registry: this.registry });
    const versions = this.#workflows.get(definition.id) ?? [];
    const version: WorkflowVersion = {
      id: definition.id,
      version: versions.length + 1,
      definition,
      created_at: this.clock.now().toISOString(),
    };
    versions.push(version);
    this.#workflows.set(definition.id, versions);
    return version;
  }

  workflow(id: string, version?: number): WorkflowVersion {
    const versions = this.#workflows.get(id);
    const found = version === undefined ? versions?.at(-1) : versions?.[version - 1];
    if (!found) throw new NotFoundError('Workflow', version === undefined ? id : `${id} v${version}`);
    return found;
  }

  /** Creates and starts a run, and waits until it completes or waits. */
  async start(workflowId: string, options: StartOptions = {}): Promise<RunState> {
    const id = this.#create(workflowId, options);
    await this.send(id, { type: 'start' });
    return this.run(id);
  }

  /** Delivers a signal and waits until every run is idle again. */
  async send(runId: string, signal: Signal): Promise<SignalOutcome> {
    this.#deliver(runId, signal);
    await this.idle();
    return this.#outcome(signal);
  }

  /** Puts a signal in the run's inbox, starting its loop if none is running; resolves when that loop ends. */
  #deliver(runId: string, signal: Signal): Promise<void> {
    const record = this.#record(runId);
    if (record.loop) {
      record.loop.loop.deliver(signal);
      return record.loop.done;
    }
    const loop = new RunLoop(record.state, {
      workflow: this.workflow(record.state.workflow_id, record.state.workflow_version),
      executor: this.#executor,
      clock: this.clock,
      persist: (transition) => this.#persist(record, transition),
      onRejected: (rejected, transition) => {
        if (transition.rejection) this.#rejections.set(rejected, transition.rejection);
      },
    });
    loop.deliver(signal);
    const done: Promise<void> = loop.run().then(() => {
      delete record.loop;
      this.#running.delete(done);
      this.#armTimer(record);
    });
    record.loop = { loop, done };
    this.#running.add(done);
    return done;
  }

  #outcome(signal: Signal): SignalOutcome {
    const rejection = this.#rejections.get(signal);
    this.#rejections.delete(signal);
    return rejection ? { accepted: false, rejection } : { accepted: true };
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

  /** Moves the manual clock forward and fires every timer that is due, in every run. */
  async advanceTime(ms: number): Promise<void> {
    if (!(this.clock instanceof ManualClock)) throw new Error('advanceTime needs the manual clock');
    this.clock.advance(ms);
    for (;;) {
      const now = this.clock.now().toISOString();
      const due = [...this.#runs.entries()].filter(([, r]) => {
        const at = isFinal(r.state.status) ? undefined : nextDeadline(r.state);
        return at !== undefined && at <= now;
      });
      if (due.length === 0) return;
      await Promise.all(due.map(([id]) => this.send(id, { type: 'timeout' })));
    }
  }

  /** Waits until no run has work in flight. */
  async idle(): Promise<void> {
    for (;;) {
      const busy: Promise<unknown>[] = [...this.#running, ...this.#scheduled];
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  run(id: string): RunState {
    return this.#record(id).state;
  }

  events(id: string): RunEvent[] {
    return this.#record(id).events;
  }

  history(id: string): StepExecution[] {
    return this.#record(id).history.list();
  }

  waiting(id: string) {
    const state = this.run(id);
    return waitingSteps(this.workflow(state.workflow_id, state.workflow_version), state);
  }

  context(id: string) {
    const state = this.run(id);
    return contextSnapshot(this.workflow(state.workflow_id, state.workflow_version), state);
  }

  runs(): RunState[] {
    return [...this.#runs.values()].map((r) => r.state);
  }

  /** Stops the real-time timers so the process can exit. */
  close(): void {
    for (const record of this.#runs.values()) clearTimeout(record.timer);
  }

  #create(workflowId: string, options: StartOptions, parent?: RunState['parent']): string {
    const workflow = this.workflow(workflowId, options.version);
    const inputs = options.inputs ?? {};
    const issues = checkRunInputs(workflow.definition, inputs);
    if (issues.length > 0) throw new ValidationError('The inputs do not fit the workflow', issues);
    const created = createRun({
      id: this.#ids.next('run'),
      workflow,
      inputs,
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      ...(parent ? { parent } : {}),
      now: this.clock.now(),
    });
    this.#runs.set(created.state.id, {
      state: created.state,
      events: [...created.events],
      history: new HistoryRows(),
    });
    return created.state.id;
  }

  async #startChild(request: Parameters<ChildRuns['start']>[0]): Promise<{ run_id: string }> {
    const existing = this.#children.get(request.idempotency_key);
    if (existing) return { run_id: existing };
    const id = this.#create(
      request.workflow_id,
      { inputs: request.inputs, ...(request.version === undefined ? {} : { version: request.version }) },
      { run_id: request.parent_run_id, step_id: request.parent_step_id, visit: request.visit },
    );
    this.#children.set(request.idempotency_key, id);
    // Started on the next turn of the event loop, as a separate process would.
    this.#later(id, { type: 'start' });
    return { run_id: id };
  }

  async #persist(record: RunRecord, transition: Transition): Promise<void> {
    record.state = transition.state;
    record.events.push(...transition.events);
    if (this.#onEvent) for (const event of transition.events) this.#onEvent(transition.state.id, event);
    record.history.add(transition.history);
    const state = transition.state;
    // An accepted transition that leaves the run final is the one that ended it: tell the parent once.
    if (state.parent && isFinal(state.status)) {
      this.#later(state.parent.run_id, childFinishedSignal({ ...state, parent: state.parent }));
    }
  }

  /** Delivers a signal on a later turn of the event loop; `idle()` waits for it too. */
  #later(runId: string, signal: Signal) {
    const delivery = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#deliver(runId, signal))
      .then(() => {
        this.#outcome(signal);
        this.#scheduled.delete(delivery);
      });
    this.#scheduled.add(delivery);
  }

  #armTimer(record: RunRecord) {
    if (!this.#realTime) return;
    clearTimeout(record.timer);
    const at = isFinal(record.state.status) ? undefined : nextDeadline(record.state);
    if (at === undefined) return;
    const delay = Math.max(0, Date.parse(at) - this.clock.now().getTime());
    record.timer = setTimeout(() => this.#later(record.state.id, { type: 'timeout' }), delay);
  }

  #record(id: string): RunRecord {
    const record = this.#runs.get(id);
    if (!record) throw new NotFoundError('Run', id);
    return record;
  }
}
