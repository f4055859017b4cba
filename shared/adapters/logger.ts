/**
 * Structured logs (CONTRACT §10): the Powertools Logger, in Lambda and locally alike, with every
 * line passed through the one redaction (redact.ts) by its log formatter. `LOG_LEVEL` (or
 * `POWERTOOLS_LOG_LEVEL`) sets the level; the default is INFO. The fields are in docs/observability.md.
 */
import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Redactor } from '../expressions/redactor.js';
import { redactPath, redactValue } from '../observability/redact.js';

/** Every secret value resolved in this process (the engine passes them on), and keys it was given. */
export const processSecrets = new Redactor();

/** The fields a line carries where they apply. */
export interface RunFields {
  run_id?: string;
  workflow_id?: string;
  workflow_version?: number;
  step_id?: string;
  visit?: number;
  attempt?: number;
}

/** The Powertools shape, with the whole line (message and every attribute) redacted. */
export class RedactingLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: attributes.message,
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      cold_start: attributes.lambdaContext?.coldStart,
      function_name: attributes.lambdaContext?.functionName,
      function_arn: attributes.lambdaContext?.invokedFunctionArn,
      function_memory_size: attributes.lambdaContext?.memoryLimitInMB,
      function_request_id: attributes.lambdaContext?.awsRequestId,
      xray_trace_id: attributes.xRayTraceId,
    };
    return new LogItem({ attributes: redactValue({ ...base, ...additional }, processSecrets) });
  }
}

/** A logger with the redacting formatter; the level from `LOG_LEVEL` unless given. */
export function createLogger(options: { logLevel?: string; serviceName?: string } = {}): Logger {
  return new Logger({
    serviceName: options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME ?? 'flowrunner',
    logFormatter: new RedactingLogFormatter(),
    ...(options.logLevel ? { logLevel: options.logLevel.toUpperCase() as 'INFO' } : {}),
  });
}

/** The process's logger: the Lambda entry points and the local server and runtime share it. */
export const logger = createLogger();

/**
 * Remembers the credentials a process is configured with, so that no line shows them even where
 * no rule would recognise them: `FLOWRUNNER_SECRET_<NAME>` values and `FLOWRUNNER_API_KEYS` keys.
 */
export function rememberConfiguredSecrets(env: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('FLOWRUNNER_SECRET_') && value) processSecrets.add(value);
  }
  for (const entry of (env.FLOWRUNNER_API_KEYS ?? '').split(',')) {
    const key = entry.slice(entry.indexOf('=') + 1).trim();
    if (key) processSecrets.add(key);
  }
}

const RUN_PATH = /^\/v1\/executions\/([^/?#]+)/;

/** One line per HTTP request: method, path (credentials taken out), status, latency, and the run it names. */
export function logRequest(
  log: Logger,
  request: {
    method: string;
    path: string;
    status: number;
    startedAt: number;
    correlationId?: string;
    /** The request span's trace (from the answer's `traceresponse`), when tracing is on. */
    traceId?: string;
  },
): void {
  const run = RUN_PATH.exec(request.path);
  const fields = {
    method: request.method,
    path: redactPath(request.path, processSecrets),
    status: request.status,
    latency_ms: Math.round((performance.now() - request.startedAt) * 100) / 100,
    ...(run ? { run_id: safeDecode(run[1]!) } : {}),
    ...(request.correlationId ? { correlation_id: request.correlationId } : {}),
    ...(request.traceId ? { trace_id: request.traceId } : {}),
  };
  if (request.status >= 500) log.error('request', fields);
  else log.info('request', fields);
}

/**
 * A request whose connection failed before it was answered (the client left in the middle of its
 * body): nothing wrong with the server, one line beside the request's own, its path redacted the same way.
 */
export function logAbandonedRequest(
  log: Logger,
  request: { method: string; path: string; reason: string },
): void {
  log.info('request abandoned', {
    method: request.method,
    path: redactPath(request.path, processSecrets),
    reason: request.reason,
  });
}

/** A request the local server failed to handle (a defect of its own: the API answers its errors itself). */
export function logFailedRequest(
  log: Logger,
  request: { method: string; path: string; reason: string },
): void {
  log.error('request failed', {
    method: request.method,
    path: redactPath(request.path, processSecrets),
    error: request.reason,
  });
}

/** What the log line needs of Advance's output (AdvanceOutput). */
interface AdvanceResult {
  run_id: string;
  directive: string;
  checkpoint: number;
  workflow_id?: string;
  workflow_version?: number;
  trace_id?: string;
}

type AdvanceFn<C, O extends AdvanceResult> = (event: unknown, context?: C) => Promise<O>;

/**
 * Advance with one line per invocation: the run, its workflow, the directive, the state machine's
 * transitions so far, the checkpoint and the duration — all from Advance's own answer, so logging
 * costs no read of the run.
 */
export function withAdvanceLog<C, O extends AdvanceResult>(
  advance: AdvanceFn<C, O>,
  log: Logger,
): AdvanceFn<C, O> {
  return async (event, context) => {
    const startedAt = performance.now();
    const input = (event ?? {}) as { run_id?: unknown; transitions?: unknown };
    try {
      const output = await advance(event, context);
      log.info('advance', {
        run_id: output.run_id,
        ...(output.workflow_id === undefined ? {} : { workflow_id: output.workflow_id }),
        ...(output.workflow_version === undefined ? {} : { workflow_version: output.workflow_version }),
        ...(output.trace_id === undefined ? {} : { trace_id: output.trace_id }),
        directive: output.directive,
        transitions: typeof input.transitions === 'number' ? input.transitions : 0,
        checkpoint: output.checkpoint,
        duration_ms: Math.round((performance.now() - startedAt) * 100) / 100,
      });
      return output;
    } catch (error) {
      log.error('advance failed', {
        ...(typeof input.run_id === 'string' ? { run_id: input.run_id } : {}),
        duration_ms: Math.round((performance.now() - startedAt) * 100) / 100,
        error: error as Error,
      });
      throw error;
    }
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
