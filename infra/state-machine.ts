// The one Step Functions state machine of Flowrunner (ASL as plain JSON): CDK deploys it, the local runtime runs it.
import { Directive } from '../shared/orchestration/directive.js';

/** A JSON value as it appears in a state machine definition. */
export type AslJson = null | boolean | number | string | AslJson[] | { [key: string]: AslJson };

/** One state of the definition, typed minimally: the ASL fields are checked by asl-validator and by AWS. */
export interface AslState {
  Type: 'Task' | 'Pass' | 'Choice' | 'Wait' | 'Succeed' | 'Fail';
  [field: string]: AslJson;
}

/** A state machine definition (Amazon States Language, JSONPath query language). */
export interface AslDefinition {
  Comment: string;
  StartAt: string;
  States: Record<string, AslState>;
}

export interface StateMachineOptions {
  /** The Advance function; invoked with the state itself as its event (see `States.Advance`). */
  advanceFunctionArn: string;
  /** The AwaitSignal function; invoked with `{run_id, checkpoint, task_token}` and a task token to wait on. */
  awaitSignalFunctionArn: string;
  /** This state machine's own ARN: a handoff starts a fresh execution of it. */
  stateMachineArn: string;
  /** TimeoutSeconds of Advance (default 900, Lambda's longest run). */
  advanceTimeoutS?: number;
  /** The longest single wait of AwaitSignal, for an `await` without a timer or with one further away (default DEFAULT_AWAIT_MAX_S). */
  awaitMaxS?: number;
}

/** The names of the states, for overrides, event logs and alarms. */
export const States = {
  /** Pass: turns the execution input into Advance's first payload and starts the transition count. */
  Start: 'Start',
  /** Task (Lambda): applies the inbox and the signal, runs ready steps, returns an AdvanceOutput at `$.advance`. */
  Advance: 'Advance',
  /** Choice on `$.advance.directive`. */
  Route: 'Route',
  /** Pass: the next Advance payload after `continue`. */
  Continue: 'Continue',
  /** Task (Lambda, waitForTaskToken) with the fixed timeout `awaitMaxS`: an `await` without a timer within reach. */
  AwaitSignal: 'AwaitSignal',
  /** Pass: puts the timer where AwaitSignalWithTimeout's TimeoutSecondsPath finds it (see `armTimer`). */
  ArmTimer: 'ArmTimer',
  /** Task (Lambda, waitForTaskToken) that times out after the `wait_seconds` of Advance. */
  AwaitSignalWithTimeout: 'AwaitSignalWithTimeout',
  /** Pass: the next Advance payload after a delivered signal (it waits in the inbox; Advance drains it). */
  Resumed: 'Resumed',
  /** Wait until `$.advance.sleep_until`. */
  Sleep: 'Sleep',
  /** Pass: the next Advance payload after a Sleep or a wait that timed out: with `signal: {type: 'timeout'}`. */
  TimedOut: 'TimedOut',
  /** Task (states:startExecution): a fresh execution for the run's next generation. */
  Handoff: 'Handoff',
  /** Succeed: the run goes on in the next generation's execution. */
  HandedOff: 'HandedOff',
  /** Succeed: the run completed. */
  RunCompleted: 'RunCompleted',
  /** Succeed: the run failed; the orchestration did its job, so the execution succeeds. */
  RunFailed: 'RunFailed',
  /** Succeed: the run was canceled. */
  RunCanceled: 'RunCanceled',
  /** Fail: Advance returned a directive this machine does not know (a deployment mismatch). */
  UnknownDirective: 'UnknownDirective',
  /**
   * Pass (Advance's Catch, once its retries are spent): the payload of Abort, with the error that
   * Advance kept failing with at `failure`.
   */
  AdvanceFailed: 'AdvanceFailed',
  /**
   * Task (the Advance function again, with `failure`): applies the run's inbox and an abort, which
   * fails the run with `AdvanceFailed`, and starts no step, so that the run ends where people see it
   * instead of staying `running` with no execution to carry it (orchestrator.ts `abortRun`).
   */
  Abort: 'Abort',
  /** Fail: Advance kept failing and so did Abort: infrastructure trouble, for the failed-executions alarm. */
  AbortFailed: 'AbortFailed',
} as const;
export type StateName = (typeof States)[keyof typeof States];

/**
 * The default `awaitMaxS`: 24 days. aws-local-stepfunctions arms one `setTimeout` for a Task's
 * timeout, and Node clamps anything above 2^31-1 ms (~24.8 days) to 1 ms, so a longer value would
 * time out at once and spin; 24 days works the same in the library and on AWS, so the parity test
 * can run the deployed definition unchanged. On AWS a longer wait buys nothing: a Standard execution
 * ends after one year anyway, and waking an idle run once every 24 days costs 4 state transitions.
 */
export const DEFAULT_AWAIT_MAX_S = 24 * 86_400;

/** The default TimeoutSeconds of Advance: Lambda's longest run. */
export const DEFAULT_ADVANCE_TIMEOUT_S = 900;

/** TimeoutSeconds of Handoff (one StartExecution call). */
export const HANDOFF_TIMEOUT_S = 60;

/** The largest TimeoutSeconds AWS accepts. */
const MAX_TIMEOUT_S = 99_999_999;

/** The Lambda errors that mean the service, not the function, failed: retried on every Lambda Task. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * Errors of an Advance invocation that died without an answer (the sandbox crashed or timed out, or
 * the Task timed out): retried a little, since a retried Advance resumes from the run's checkpoint.
 */
export const ADVANCE_CRASH_ERRORS = ['Lambda.Unknown', 'Sandbox.Timedout', 'States.Timeout'] as const;

/**
 * Any other error Advance raised (a storage throttle after the SDK's own retries, a dependency that
 * failed): retried with a longer backoff before the execution fails, because a stranded run waits for
 * nobody on AWS. Safe for the same reason: a retried Advance resumes from the checkpoint.
 */
export const ADVANCE_TASK_FAILED = 'States.TaskFailed';

/** The error of StartExecution when the execution's name is taken: the handoff happened already. */
export const EXECUTION_EXISTS_ERROR = 'StepFunctions.ExecutionAlreadyExistsException';

/**
 * How many states each loop enters between two Advance invocations, counting the next Advance: the
 * Pass that closes the loop adds it to `transitions`. Start counts itself and the first Advance.
 */
export const LOOP_TRANSITIONS = {
  start: 2,
  /** Advance → Route → Continue → Advance */
  continue: 3,
  /** Advance → Route → AwaitSignal → Resumed → Advance (ArmTimer adds its own 1 on the timed route) */
  resumed: 4,
  /** Advance → Route → AwaitSignal or Sleep → TimedOut → Advance (ArmTimer adds its own 1 on the timed route) */
  timedOut: 4,
  /** ArmTimer, between Route and AwaitSignalWithTimeout */
  armTimer: 1,
  /** AdvanceFailed and Abort, between the Advance that failed and Route */
  aborted: 2,
} as const;

/** The retrier of every Lambda Task for LAMBDA_SERVICE_ERRORS: the service failed, not the function. */
function lambdaServiceRetry(): Record<string, AslJson> {
  return {
    ErrorEquals: [...LAMBDA_SERVICE_ERRORS],
    IntervalSeconds: 1,
    BackoffRate: 2,
    MaxAttempts: 6,
    MaxDelaySeconds: 30,
    JitterStrategy: 'FULL',
  };
}

/** The retrier of Advance and Abort for ADVANCE_CRASH_ERRORS: a retried Advance resumes from the checkpoint. */
function crashRetry(): Record<string, AslJson> {
  return {
    ErrorEquals: [...ADVANCE_CRASH_ERRORS],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 2,
    JitterStrategy: 'FULL',
  };
}

/** Checks that an option is a whole number of seconds in AWS's range. */
function seconds(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_S) {
    throw new RangeError(
      `${name} must be a whole number of seconds from 1 to ${MAX_TIMEOUT_S}, got ${value}`,
    );
  }
  return value;
}

/** The Pass that builds the next Advance payload: only the ids and the count travel, nothing of the last loop. */
function nextPayload(add: number, withTimeoutSignal: boolean): AslState {
  const parameters: Record<string, AslJson> = {
    'run_id.$': '$.run_id',
    'generation.$': '$.generation',
    'transitions.$': `States.MathAdd($.transitions, ${add})`,
  };
  if (withTimeoutSignal) parameters.signal = { type: 'timeout' };
  return { Type: 'Pass', Parameters: parameters, Next: States.Advance };
}

/**
 * The Pass before AwaitSignalWithTimeout. AWS resolves TimeoutSecondsPath against the state's input;
 * aws-local-stepfunctions 3 resolves it against the Task's Parameters (`{FunctionName, Payload}`).
 * `$.Payload.wait_seconds` is the one path that exists in both: this Pass puts it in the state, and
 * the Task's Payload carries it too (AwaitSignal receives `wait_seconds` beside AwaitSignalInput).
 */
function armTimer(): AslState {
  return {
    Type: 'Pass',
    Parameters: {
      'run_id.$': '$.run_id',
      'generation.$': '$.generation',
      'transitions.$': `States.MathAdd($.transitions, ${LOOP_TRANSITIONS.armTimer})`,
      'advance.$': '$.advance',
      Payload: { 'wait_seconds.$': '$.advance.wait_seconds' },
    },
    Next: States.AwaitSignalWithTimeout,
  };
}

/** A waitForTaskToken invocation of AwaitSignal; the delivered output is dropped (the signal is in the inbox). */
function awaitSignal(functionArn: string, timeout: { TimeoutSeconds: number } | 'path'): AslState {
  const payload: Record<string, AslJson> = {
    'run_id.$': '$.run_id',
    'checkpoint.$': '$.advance.checkpoint',
    'task_token.$': '$$.Task.Token',
  };
  if (timeout === 'path') payload['wait_seconds.$'] = '$.Payload.wait_seconds';
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    Parameters: { FunctionName: functionArn, Payload: payload },
    ...(timeout === 'path' ? { TimeoutSecondsPath: '$.Payload.wait_seconds' } : timeout),
    ResultPath: null,
    Retry: [lambdaServiceRetry()],
    Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: null, Next: States.TimedOut }],
    Next: States.Resumed,
  };
}

/** A Succeed state whose output is the last AdvanceOutput: how the run's execution ended. */
function succeed(comment: string): AslState {
  return { Type: 'Succeed', Comment: comment, OutputPath: '$.advance' };
}

/**
 * The state machine that carries every run. Between states travel only the run id, its generation,
 * the transition count, an optional timeout signal, the error of an Advance that kept failing and the
 * last AdvanceOutput; the run lives in DynamoDB.
 *
 * What each Task receives (and a local override must accept):
 * - Advance: the AdvanceInput itself (`{run_id, generation, transitions, signal?}`), and returns an
 *   AdvanceOutput. Its Resource is the function ARN, so the function's answer is the Task's result
 *   (no `Payload` wrapper, as CDK's `payloadResponseOnly`).
 * - Abort: the same function, with `failure: {Error, Cause}` beside the AdvanceInput (Advance's
 *   Catch output), and the same answer.
 * - AwaitSignal / AwaitSignalWithTimeout: `{FunctionName, Payload: AwaitSignalInput}` (with
 *   `wait_seconds` too in the second); the Task ends when the token is completed (its output is
 *   ignored) or times out.
 * - Handoff: `{StateMachineArn, Name, Input: ExecutionInput}` (StartExecution's request).
 */
export function stateMachineDefinition(options: StateMachineOptions): AslDefinition {
  const advanceTimeoutS = seconds('advanceTimeoutS', options.advanceTimeoutS ?? DEFAULT_ADVANCE_TIMEOUT_S);
  const awaitMaxS = seconds('awaitMaxS', options.awaitMaxS ?? DEFAULT_AWAIT_MAX_S);
  const directiveIs = (directive: Directive) => ({
    Variable: '$.advance.directive',
    StringEquals: directive,
  });

  return {
    Comment:
      'Flowrunner: Advance a run until it waits, sleeps, hands off to a fresh execution or ends. ' +
      'A failed or canceled run ends the execution in success; a failed execution means infrastructure trouble.',
    StartAt: States.Start,
    States: {
      [States.Start]: {
        Type: 'Pass',
        Comment: 'Only run_id and generation are read from the execution input.',
        Parameters: {
          'run_id.$': '$.run_id',
          'generation.$': '$.generation',
          transitions: LOOP_TRANSITIONS.start,
        },
        Next: States.Advance,
      },
      [States.Advance]: {
        Type: 'Task',
        Comment: 'The state is the payload: {run_id, generation, transitions, signal?}.',
        Resource: options.advanceFunctionArn,
        TimeoutSeconds: advanceTimeoutS,
        ResultPath: '$.advance',
        Retry: [
          lambdaServiceRetry(),
          crashRetry(),
          {
            ErrorEquals: [ADVANCE_TASK_FAILED],
            IntervalSeconds: 5,
            BackoffRate: 3,
            MaxAttempts: 4,
            MaxDelaySeconds: 120,
            JitterStrategy: 'FULL',
          },
        ],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: States.AdvanceFailed }],
        Next: States.Route,
      },
      [States.AdvanceFailed]: {
        Type: 'Pass',
        Comment: "Abort's payload: the run, and the error Advance kept failing with ({Error, Cause}).",
        Parameters: {
          'run_id.$': '$.run_id',
          'generation.$': '$.generation',
          'transitions.$': `States.MathAdd($.transitions, ${LOOP_TRANSITIONS.aborted})`,
          'failure.$': '$.failure',
        },
        Next: States.Abort,
      },
      [States.Abort]: {
        Type: 'Task',
        Comment:
          'Advance with `failure`: applies the inbox, fails the run (AdvanceFailed) and starts no step; its compensations are the next Advance’s.',
        Resource: options.advanceFunctionArn,
        TimeoutSeconds: advanceTimeoutS,
        ResultPath: '$.advance',
        Retry: [lambdaServiceRetry(), crashRetry()],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: States.AbortFailed }],
        Next: States.Route,
      },
      [States.Route]: {
        Type: 'Choice',
        Comment:
          'The await rules come last: wait_seconds is compared only when present, without relying on And ' +
          'stopping at its first false rule. A wait_seconds beyond awaitMaxS waits awaitMaxS, then Advance re-evaluates.',
        Choices: [
          { ...directiveIs(Directive.continue), Next: States.Continue },
          { ...directiveIs(Directive.sleep), Next: States.Sleep },
          { ...directiveIs(Directive.handoff), Next: States.Handoff },
          { ...directiveIs(Directive.done), Next: States.RunCompleted },
          { ...directiveIs(Directive.failed), Next: States.RunFailed },
          { ...directiveIs(Directive.canceled), Next: States.RunCanceled },
          {
            And: [
              directiveIs(Directive.await),
              { Not: { Variable: '$.advance.wait_seconds', IsPresent: true } },
            ],
            Next: States.AwaitSignal,
          },
          {
            And: [
              directiveIs(Directive.await),
              { Variable: '$.advance.wait_seconds', NumericLessThanEquals: awaitMaxS },
            ],
            Next: States.ArmTimer,
          },
          { ...directiveIs(Directive.await), Next: States.AwaitSignal },
        ],
        Default: States.UnknownDirective,
      },
      [States.Continue]: nextPayload(LOOP_TRANSITIONS.continue, false),
      [States.AwaitSignal]: awaitSignal(options.awaitSignalFunctionArn, { TimeoutSeconds: awaitMaxS }),
      [States.ArmTimer]: armTimer(),
      [States.AwaitSignalWithTimeout]: awaitSignal(options.awaitSignalFunctionArn, 'path'),
      [States.Resumed]: nextPayload(LOOP_TRANSITIONS.resumed, false),
      [States.Sleep]: { Type: 'Wait', TimestampPath: '$.advance.sleep_until', Next: States.TimedOut },
      [States.TimedOut]: nextPayload(LOOP_TRANSITIONS.timedOut, true),
      [States.Handoff]: {
        Type: 'Task',
        Comment: "The name is the next generation's (executionName): a repeated start creates nothing new.",
        Resource: 'arn:aws:states:::states:startExecution',
        Parameters: {
          StateMachineArn: options.stateMachineArn,
          'Name.$': "States.Format('{}-g{}', $.run_id, States.MathAdd($.generation, 1))",
          Input: {
            'run_id.$': '$.run_id',
            'generation.$': 'States.MathAdd($.generation, 1)',
          },
        },
        TimeoutSeconds: HANDOFF_TIMEOUT_S,
        ResultPath: null,
        Retry: [
          { ErrorEquals: [EXECUTION_EXISTS_ERROR], MaxAttempts: 0 },
          {
            ErrorEquals: ['States.TaskFailed', 'States.Timeout'],
            IntervalSeconds: 1,
            BackoffRate: 2,
            MaxAttempts: 6,
            MaxDelaySeconds: 30,
            JitterStrategy: 'FULL',
          },
        ],
        Catch: [
          { ErrorEquals: [EXECUTION_EXISTS_ERROR], ResultPath: '$.handoff_error', Next: States.HandedOff },
        ],
        Next: States.HandedOff,
      },
      [States.HandedOff]: succeed('The run goes on in the execution of its next generation.'),
      [States.RunCompleted]: succeed('The run completed.'),
      [States.RunFailed]: succeed(
        'The run failed: a normal outcome of the orchestration, not an execution failure.',
      ),
      [States.RunCanceled]: succeed('The run was canceled.'),
      [States.UnknownDirective]: {
        Type: 'Fail',
        Error: 'Flowrunner.UnknownDirective',
        Cause:
          'Advance returned a directive this state machine does not route (are both deployed from one build?).',
      },
      [States.AbortFailed]: {
        Type: 'Fail',
        Error: 'Flowrunner.AdvanceFailed',
        Cause:
          'Advance kept failing, and failing the run failed too (the run could not be read or stored): the run stays as it was stored. The failed Task events of this execution say why.',
      },
    },
  };
}

/**
 * State transitions in an execution's event log (aws-local-stepfunctions' `run(...).eventLogs`): the
 * states entered. AWS also bills a retry as a transition; the library logs those as `StateRetried`,
 * counted here only with `includeRetries`.
 */
export function countStateTransitions(
  eventLogs: Iterable<{ type: string }>,
  options: { includeRetries?: boolean } = {},
): number {
  let count = 0;
  for (const event of eventLogs) {
    if (event.type === 'StateEntered' || (options.includeRetries === true && event.type === 'StateRetried'))
      count++;
  }
  return count;
}
