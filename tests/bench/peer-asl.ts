// Peer benchmark: µs per state of a linear Task chain run locally by aws-local-stepfunctions 3.
import '../../infra/local/node20-polyfills.js';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type TaskHandler = TaskHandlers[string];
/** The library's JSON value type (it does not export it by name). */
export type AslJson = Parameters<TaskHandler>[0];
/** One entry of an execution's event log (`run(...).eventLogs`); the type is not exported by name either. */
export type AslEvent =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** The value that flows through the chain: `n` counts the steps, `label` names the last one. */
export interface ChainValue {
  n: number;
  [key: string]: AslJson;
}

export interface PeerResult {
  states: number;
  runs: number;
  us_per_state: number;
}

/** A validated state machine for a chain of `states` Tasks, and the run options that override every Task. */
export interface AslChain {
  readonly states: number;
  readonly machine: StateMachine;
  readonly runOptions: RunOptions;
}

/**
 * Task timeout for every state. The library's default is 60 s (AWS: none), and it arms a `setTimeout`
 * with `TimeoutSeconds × 1000` ms: above 2^31-1 ms (~24.8 days) Node clamps that to 1 ms, so the Task
 * would time out at once. One day is far above any benchmark run and safely below that limit.
 */
const TASK_TIMEOUT_SECONDS = 86_400;

function isChainValue(value: AslJson): value is ChainValue {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof value.n === 'number';
}

/** The benchmark step, the same small transform as the engine's: read `$.n`, return `n + 1` and a label. */
export function benchStep(input: AslJson): ChainValue {
  if (!isChainValue(input)) {
    throw new TypeError('benchmark step expects an object with a numeric "n"');
  }
  return { ...input, n: input.n + 1, label: 'step ' + (input.n + 1) };
}

/** State name of the `i`-th Task (1-based). */
export function stateName(i: number): string {
  return `step${i}`;
}

/**
 * ASL for `step1 → … → stepN`. No InputPath/Parameters/ResultPath/OutputPath: the defaults (`$`) make a
 * Task's result the whole output, so each state's output is the next state's input.
 */
export function chainDefinition(states: number): StateMachineDefinition {
  if (!Number.isInteger(states) || states < 1) {
    throw new RangeError(`states must be a positive integer, got ${states}`);
  }
  const definition: StateMachineDefinition = {
    Comment: `Flowrunner peer benchmark: ${states} Task states in a line`,
    StartAt: stateName(1),
    States: {},
  };
  for (let i = 1; i <= states; i++) {
    const common = {
      Type: 'Task' as const,
      Resource: `arn:aws:lambda:us-east-1:123456789012:function:${stateName(i)}`,
      TimeoutSeconds: TASK_TIMEOUT_SECONDS,
    };
    definition.States[stateName(i)] =
      i < states ? { ...common, Next: stateName(i + 1) } : { ...common, End: true };
  }
  return definition;
}

/**
 * Builds and validates (asl-validator, the expensive part) the machine for `states` Tasks, once; every
 * Task is overridden by `benchStep`, so nothing calls AWS. `context` becomes the Context Object of each
 * run (the library fills in only `$$.Execution.Input` and `StartTime` itself).
 */
export function buildChain(states: number, context?: RunOptions['context']): AslChain {
  const machine = new StateMachine(chainDefinition(states));
  const taskResourceLocalHandlers: TaskHandlers = {};
  for (let i = 1; i <= states; i++) {
    taskResourceLocalHandlers[stateName(i)] = benchStep;
  }
  const runOptions: RunOptions = { overrides: { taskResourceLocalHandlers } };
  if (context !== undefined) {
    runOptions.context = context;
  }
  return { states, machine, runOptions };
}

function toChainValue(output: AslJson): ChainValue {
  if (!isChainValue(output)) {
    throw new TypeError(`chain output is not a chain value: ${JSON.stringify(output)}`);
  }
  return output;
}

/** Runs one execution of the chain and returns its output. The measurement uses exactly this path. */
export async function runChain(chain: AslChain, input: ChainValue): Promise<ChainValue> {
  return toChainValue(await chain.machine.run(input, chain.runOptions).result);
}

/**
 * Runs one execution and also returns its event log. The library queues every event of a run whether
 * or not anyone reads `eventLogs`, so draining the log after the result is complete and loses nothing.
 */
export async function runChainWithEvents(
  chain: AslChain,
  input: ChainValue,
): Promise<{ output: ChainValue; events: AslEvent[] }> {
  const execution = chain.machine.run(input, chain.runOptions);
  const output = toChainValue(await execution.result);
  const events: AslEvent[] = [];
  for await (const event of execution.eventLogs) {
    events.push(event);
  }
  return { output, events };
}

/**
 * State transitions in an event log, counted as AWS Step Functions bills them: one per state entered
 * (`StateEntered`, including the first state and states inside Map/Parallel, whose events the library
 * forwards to the root log) plus one per retry (`StateRetried`; a retried state is not entered again).
 */
export function countTransitions(events: Iterable<AslEvent>): number {
  let transitions = 0;
  for (const event of events) {
    if (event.type === 'StateEntered' || event.type === 'StateRetried') {
      transitions++;
    }
  }
  return transitions;
}

/**
 * Executes a linear chain of `states` Task states with aws-local-stepfunctions, each Task overridden by
 * `benchStep`, `runs` times one after another after `warmupRuns` unmeasured runs; returns microseconds
 * per state (wall time of the measured executions / (runs × states)). The machine is built and
 * validated once per call, outside the measured time.
 */
export async function measurePeerAsl(
  states: number,
  runs: number,
  options: { warmupRuns?: number } = {},
): Promise<PeerResult> {
  if (!Number.isInteger(runs) || runs < 1) {
    throw new RangeError(`runs must be a positive integer, got ${runs}`);
  }
  const warmupRuns = options.warmupRuns ?? Math.max(2, Math.ceil(runs / 5));
  const chain = buildChain(states);
  for (let i = 0; i < warmupRuns; i++) {
    await runChain(chain, { n: 0 });
  }
  const started = performance.now();
  let last = 0;
  for (let i = 0; i < runs; i++) {
    last = (await runChain(chain, { n: 0 })).n;
  }
  const elapsedMs = performance.now() - started;
  if (last !== states) {
    throw new Error(`chain of ${states} states ended with n = ${last}`);
  }
  return { states, runs, us_per_state: (elapsedMs * 1000) / (runs * states) };
}

/**
 * Runs per size for the CLI: 300,000 measured state executions each (~4 µs per state once warm), plus
 * the warm-up and the ~0.2 s validation, about 1.5–2 s per size on a 2-core machine.
 */
export const CLI_RUNS: Readonly<Record<10 | 100 | 1000, number>> = { 10: 30_000, 100: 3_000, 1000: 300 };

export interface PeerAslSummary {
  peer_asl_us_per_state_10: number;
  peer_asl_us_per_state_100: number;
  peer_asl_us_per_state_1000: number;
}

/** Measures the three sizes with `CLI_RUNS`, rounded to 0.01 µs. */
export async function measurePeerAslSizes(): Promise<PeerAslSummary> {
  const round = (us: number): number => Math.round(us * 100) / 100;
  const at10 = await measurePeerAsl(10, CLI_RUNS[10]);
  const at100 = await measurePeerAsl(100, CLI_RUNS[100]);
  const at1000 = await measurePeerAsl(1000, CLI_RUNS[1000]);
  return {
    peer_asl_us_per_state_10: round(at10.us_per_state),
    peer_asl_us_per_state_100: round(at100.us_per_state),
    peer_asl_us_per_state_1000: round(at1000.us_per_state),
  };
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  console.log(JSON.stringify(await measurePeerAslSizes()));
}
