/**
 * One error hierarchy for Flowrunner. Whether an error may be retried is decided where it is
 * raised and travels with it; adapters translate vendor errors into these classes.
 */

export interface ErrorIssue {
  /** Where the problem is, e.g. `steps[3].next.approved` or `inputs.email`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export interface FlowrunnerErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class FlowrunnerError extends Error {
  /** Stable, machine-readable code, e.g. `ValidationError`, `HttpTimeout`. */
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: FlowrunnerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** Content that does not meet its schema: a workflow, the inputs of a run, a form answer. */
export class ValidationError extends FlowrunnerError {
  readonly issues: ErrorIssue[];
  constructor(message: string, issues: ErrorIssue[] = [], options: FlowrunnerErrorOptions = {}) {
    super('ValidationError', message, options);
    this.issues = issues;
  }
}

export class NotFoundError extends FlowrunnerError {
  constructor(what: string, id: string, options: FlowrunnerErrorOptions = {}) {
    super('NotFound', `${what} '${id}' was not found`, options);
  }
}

/** The request does not fit the current state: a duplicate, a stale checkpoint, a run that is not waiting. */
export class ConflictError extends FlowrunnerError {
  constructor(message: string, options: FlowrunnerErrorOptions = {}) {
    super('Conflict', message, options);
  }
}

/** A write of a run state that is not the next after the stored one: another process advanced the run first. */
export class StaleCheckpointError extends ConflictError {
  constructor(runId: string, expected: number, options: FlowrunnerErrorOptions = {}) {
    super(`Run ${runId} is no longer at checkpoint ${expected}: another process advanced it`, options);
  }
}

/** The store asked us to slow down (DynamoDB throttling) after its retries: try again later. */
export class ThrottledError extends FlowrunnerError {
  constructor(message: string, options: FlowrunnerErrorOptions = {}) {
    super('Throttled', message, { ...options, retryable: true });
  }
}

/** A store that cannot be used: a missing table or bucket, denied access. Not retryable. */
export class StorageError extends FlowrunnerError {
  constructor(code: string, message: string, options: FlowrunnerErrorOptions = {}) {
    super(code, message, options);
  }
}

export class ForbiddenError extends FlowrunnerError {
  constructor(message: string, options: FlowrunnerErrorOptions = {}) {
    super('Forbidden', message, options);
  }
}

/** A setting is missing or wrong: an environment variable, an unknown step type, a missing secret. */
export class ConfigurationError extends FlowrunnerError {
  /** `code` narrows the kind, e.g. `SecretNotFound`; the default is `ConfigurationError`. */
  constructor(message: string, options: FlowrunnerErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'ConfigurationError', message, options);
  }
}

/** An expression that does not parse, fails, or exceeds its time or depth budget. Never retryable. */
export class ExpressionError extends FlowrunnerError {
  readonly expression: string;
  constructor(code: string, message: string, expression: string, options: FlowrunnerErrorOptions = {}) {
    super(code, message, { ...options, retryable: false });
    this.expression = expression;
  }
}

/**
 * The failure of one step attempt. `code` is what the workflow sees at `steps.<id>.error.code`;
 * user-defined codes come from `fail` steps.
 */
export class StepError extends FlowrunnerError {}

/** A plain, serialisable error as stored on runs and steps: `{code, message, step_id?}`. */
export interface ErrorInfo {
  code: string;
  message: string;
  step_id?: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

/** Turns anything thrown into an ErrorInfo, keeping only what is safe to store. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof FlowrunnerError) {
    const info: ErrorInfo = { code: error.code, message: error.message, retryable: error.retryable };
    if (error.details !== undefined) info.details = error.details;
    return info;
  }
  if (error instanceof Error) return { code: 'InternalError', message: error.message, retryable: false };
  return { code: 'InternalError', message: String(error), retryable: false };
}
