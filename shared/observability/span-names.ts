/**
 * The spans of a run's trace and their attributes (docs/observability.md). One trace per run: the
 * root span `run` (emitted when the run ends, with its true start), and under it every Advance,
 * AwaitSignal, signal delivery, start, step attempt, wait and AI call. Attribute keys follow the
 * OpenTelemetry semantic conventions where one exists (`gen_ai.*`, `http.*`, `error.type`).
 */

export const SpanName = {
  run: 'run',
  start: 'run.start',
  /** A failed run redriven: under its root, from the request to the Advance that applied it. */
  redrive: 'run.redrive',
  advance: 'advance',
  awaitSignal: 'await_signal',
  deliverSignal: 'signal.deliver',
  step: 'step',
  compensate: 'step.compensate',
  wait: 'wait',
  /** One listener delivery (an event, a schedule, a webhook): the runs it starts link to it. */
  trigger: 'trigger',
  /** gen_ai convention: `{operation} {model}`, operation `chat`. */
  aiChat: 'chat',
} as const;

export const Attr = {
  runId: 'flowrunner.run.id',
  workflowId: 'flowrunner.workflow.id',
  workflowVersion: 'flowrunner.workflow.version',
  runStatus: 'flowrunner.run.status',
  /** Which redrive of the run (1, 2, …). */
  redrive: 'flowrunner.run.redrive',
  stepId: 'flowrunner.step.id',
  stepType: 'flowrunner.step.type',
  visit: 'flowrunner.step.visit',
  attempt: 'flowrunner.step.attempt',
  stepResult: 'flowrunner.step.result',
  outcome: 'flowrunner.step.outcome',
  waitKind: 'flowrunner.wait.kind',
  signalType: 'flowrunner.signal.type',
  signalAccepted: 'flowrunner.signal.accepted',
  directive: 'flowrunner.directive',
  checkpoint: 'flowrunner.checkpoint',
  generation: 'flowrunner.execution.generation',
  parentRunId: 'flowrunner.parent.run.id',
  listenerId: 'flowrunner.listener.id',
  listenerType: 'flowrunner.listener.type',
  errorType: 'error.type',
  genAiSystem: 'gen_ai.system',
  genAiOperation: 'gen_ai.operation.name',
  genAiRequestModel: 'gen_ai.request.model',
  genAiResponseModel: 'gen_ai.response.model',
  genAiInputTokens: 'gen_ai.usage.input_tokens',
  genAiOutputTokens: 'gen_ai.usage.output_tokens',
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
} as const;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO = /^0+$/;

/** The caller's W3C `traceparent` header, when valid (an all-zero id is invalid). */
export function parseTraceparent(
  header: string | undefined,
): { trace_id: string; span_id: string } | undefined {
  const match = TRACEPARENT.exec(header?.trim().toLowerCase() ?? '');
  if (!match || ZERO.test(match[1]!) || ZERO.test(match[2]!)) return undefined;
  return { trace_id: match[1]!, span_id: match[2]! };
}

const ID_AFTER = new Set([
  'workflows',
  'executions',
  'callbacks',
  'listeners',
  'hooks',
  'templates',
  'artifacts',
]);
const NOT_IDS = new Set(['validate']);

/** The route of a path with its ids taken out, for span names and `http.route` (few values, no ids or tokens). */
export function routeOf(path: string): string {
  const segments = path.split('?')[0]!.split('/');
  return segments
    .map((segment, index) =>
      index >= 3 && ID_AFTER.has(segments[index - 1]!) && !NOT_IDS.has(segment) ? '{id}' : segment,
    )
    .join('/');
}
