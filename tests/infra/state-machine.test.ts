// The state machine definition: valid ASL, timeouts and retries declared, and its routes run in aws-local-stepfunctions.
import '../../infra/local/node20-polyfills.js';
import { createRequire } from 'node:module';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import {
  type AslDefinition,
  type AslJson,
  countStateTransitions,
  DEFAULT_AWAIT_MAX_S,
  EXECUTION_EXISTS_ERROR,
  LAMBDA_SERVICE_ERRORS,
  States,
  stateMachineDefinition,
} from '../../infra/state-machine.js';
import type { AdvanceInput, AdvanceOutput, Directive } from '../../shared/orchestration/directive.js';

type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: Array<{ message?: string }>; errorsText: (separator?: string) => string };

const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type LibraryJson = Parameters<TaskHandlers[string]>[0];
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

const ARNS = {
  advanceFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:flowrunner-advance',
  awaitSignalFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:flowrunner-await-signal',
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:flowrunner',
};
const RUN_ID = 'run_01J0TESTRUN';
const TASK_TOKEN = 'task-token-of-the-test';
const EXECUTION_ID = `arn:aws:states:eu-west-1:123456789012:execution:flowrunner:${RUN_ID}`;

const definition = stateMachineDefinition(ARNS);

function advanceOutput(directive: Directive, extra: Partial<AdvanceOutput> = {}): AdvanceOutput {
  return { run_id: RUN_ID, generation: 0, directive, checkpoint: 7, ...extra };
}

/** Advance answers one directive per call, in order, and records what it received. */
function scriptedAdvance(outputs: AdvanceOutput[]): { calls: AdvanceInput[]; handler: TaskHandlers[string] } {
  const calls: AdvanceInput[] = [];
  return {
    calls,
    handler: (input) => {
      calls.push(input as unknown as AdvanceInput);
      const output = outputs[calls.length - 1];
      if (output === undefined)
        throw new Error(`Advance called ${calls.length} times, scripted ${outputs.length}`);
      return output as unknown as LibraryJson;
    },
  };
}

interface Execution {
  result: Promise<LibraryJson>;
  events: () => Promise<EventLog[]>;
}

/** Runs the definition locally, every Task overridden, with the context AWS would fill in. */
function execute(handlers: TaskHandlers, asl: AslDefinition = definition): Execution {
  const machine = new StateMachine(asl as unknown as StateMachineDefinition);
  const execution = machine.run(
    { run_id: RUN_ID, generation: 0 },
    {
      overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: { [States.Advance]: 0 } },
      context: { Execution: { Id: EXECUTION_ID, Name: RUN_ID }, Task: { Token: TASK_TOKEN } },
    },
  );
  const collected = (async () => {
    const events: EventLog[] = [];
    for await (const event of execution.eventLogs) events.push(event);
    return events;
  })();
  return { result: execution.result, events: () => collected };
}

/** The states entered, in order. */
function statesEntered(events: EventLog[]): string[] {
  return events.flatMap((event) => (event.type === 'StateEntered' ? [event.state.name] : []));
}

function namedError(name: string): Error {
  const error = new Error(`${name} raised by the test`);
  error.name = name;
  return error;
}

describe('state machine definition', () => {
  it('passes asl-validator and the interpreter’s own validation', () => {
    const { isValid, errorsText } = aslValidator(structuredClone(definition));
    expect(isValid, errorsText('\n')).toBe(true);
    expect(() => new StateMachine(definition as unknown as StateMachineDefinition)).not.toThrow();
  });

  it('gives every Task a timeout', () => {
    const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual(
      [
        States.Advance,
        States.Abort,
        States.AwaitSignal,
        States.AwaitSignalWithTimeout,
        States.Handoff,
      ].sort(),
    );
    for (const [name, state] of tasks) {
      const timeout = state.TimeoutSeconds ?? state.TimeoutSecondsPath;
      expect(timeout, name).toBeDefined();
    }
    expect(definition.States[States.Advance]?.TimeoutSeconds).toBe(900);
    expect(definition.States[States.Abort]?.TimeoutSeconds).toBe(900);
    expect(definition.States[States.AwaitSignal]?.TimeoutSeconds).toBe(DEFAULT_AWAIT_MAX_S);
    expect(definition.States[States.AwaitSignalWithTimeout]?.TimeoutSecondsPath).toBe(
      '$.Payload.wait_seconds',
    );
  });

  it('keeps every timeout within what Node timers (and so the local interpreter) can arm', () => {
    for (const state of Object.values(definition.States)) {
      if (typeof state.TimeoutSeconds === 'number')
        expect(state.TimeoutSeconds * 1000).toBeLessThan(2 ** 31 - 1);
    }
  });

  it('retries Advance on the Lambda service errors and throttles, with backoff and full jitter', () => {
    const retry = definition.States[States.Advance]?.Retry as Array<Record<string, AslJson>>;
    const retrier = retry.find((r) => (r.ErrorEquals as string[]).includes('Lambda.ServiceException'));
    expect(retrier).toBeDefined();
    expect(retrier?.ErrorEquals).toEqual(expect.arrayContaining([...LAMBDA_SERVICE_ERRORS]));
    expect(retrier).toMatchObject({ JitterStrategy: 'FULL' });
    expect(retrier?.IntervalSeconds).toBeGreaterThan(0);
    expect(retrier?.BackoffRate).toBeGreaterThan(1);
    expect(retrier?.MaxAttempts).toBeGreaterThan(1);
  });

  it('derives the options it is given and refuses timeouts AWS would refuse', () => {
    const custom = stateMachineDefinition({ ...ARNS, advanceTimeoutS: 120, awaitMaxS: 3600 });
    expect(custom.States[States.Advance]?.TimeoutSeconds).toBe(120);
    expect(custom.States[States.AwaitSignal]?.TimeoutSeconds).toBe(3600);
    expect(JSON.stringify(custom.States[States.Route])).toContain('"NumericLessThanEquals":3600');
    expect(() => stateMachineDefinition({ ...ARNS, awaitMaxS: 0 })).toThrow(RangeError);
    expect(() => stateMachineDefinition({ ...ARNS, advanceTimeoutS: 1.5 })).toThrow(RangeError);
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(definition))).toEqual(definition);
  });
});

describe('state machine behaviour (aws-local-stepfunctions)', () => {
  it('continue, continue, done: succeeds after three Advances with a growing transition count', async () => {
    const advance = scriptedAdvance([
      advanceOutput('continue'),
      advanceOutput('continue'),
      advanceOutput('done', { checkpoint: 9 }),
    ]);
    const execution = execute({ [States.Advance]: advance.handler });
    await expect(execution.result).resolves.toEqual(advanceOutput('done', { checkpoint: 9 }));
    expect(advance.calls).toEqual([
      { run_id: RUN_ID, generation: 0, transitions: 2 },
      { run_id: RUN_ID, generation: 0, transitions: 5 },
      { run_id: RUN_ID, generation: 0, transitions: 8 },
    ]);
    const events = await execution.events();
    expect(statesEntered(events)).toEqual([
      States.Start,
      States.Advance,
      States.Route,
      States.Continue,
      States.Advance,
      States.Route,
      States.Continue,
      States.Advance,
      States.Route,
      States.RunCompleted,
    ]);
    expect(countStateTransitions(events)).toBe(10);
  });

  it('counts, at each Advance, exactly the states entered so far', async () => {
    const advance = scriptedAdvance([
      advanceOutput('continue'),
      advanceOutput('await'),
      advanceOutput('await', { wait_seconds: 30 }),
      advanceOutput('sleep', { sleep_until: new Date(Date.now() + 50).toISOString() }),
      advanceOutput('done'),
    ]);
    const execution = execute({
      [States.Advance]: advance.handler,
      [States.AwaitSignal]: () => ({}),
      [States.AwaitSignalWithTimeout]: () => ({}),
    });
    await execution.result;
    const entered = statesEntered(await execution.events());
    const countsAtAdvance = entered.flatMap((name, i) => (name === States.Advance ? [i + 1] : []));
    expect(advance.calls.map((call) => call.transitions)).toEqual(countsAtAdvance);
  });

  it('await: AwaitSignal gets the task token, and Advance runs again without a signal once it is completed', async () => {
    const advance = scriptedAdvance([advanceOutput('await', { checkpoint: 3 }), advanceOutput('done')]);
    const awaitCalls: LibraryJson[] = [];
    let deliver: (() => void) | undefined;
    const execution = execute({
      [States.Advance]: advance.handler,
      [States.AwaitSignal]: (input) => {
        awaitCalls.push(input);
        return new Promise<LibraryJson>((resolve) => {
          deliver = () => resolve({ delivered: true });
        });
      },
    });
    await expect.poll(() => awaitCalls.length).toBe(1);
    expect(awaitCalls[0]).toEqual({
      FunctionName: ARNS.awaitSignalFunctionArn,
      Payload: { run_id: RUN_ID, checkpoint: 3, task_token: TASK_TOKEN },
    });
    expect(advance.calls).toHaveLength(1);
    deliver?.();
    await expect(execution.result).resolves.toEqual(advanceOutput('done'));
    expect(advance.calls[1]).toEqual({ run_id: RUN_ID, generation: 0, transitions: 6 });
    expect(statesEntered(await execution.events())).toContain(States.Resumed);
  });

  it('await with wait_seconds: the timeout is caught and Advance receives the timeout signal', async () => {
    const advance = scriptedAdvance([advanceOutput('await', { wait_seconds: 1 }), advanceOutput('done')]);
    const awaitCalls: LibraryJson[] = [];
    const started = Date.now();
    const execution = execute({
      [States.Advance]: advance.handler,
      [States.AwaitSignalWithTimeout]: (input) => {
        awaitCalls.push(input);
        return new Promise<LibraryJson>(() => {});
      },
    });
    await expect(execution.result).resolves.toEqual(advanceOutput('done'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(awaitCalls).toHaveLength(1);
    expect(advance.calls[1]).toEqual({
      run_id: RUN_ID,
      generation: 0,
      transitions: 7,
      signal: { type: 'timeout' },
    });
    expect(awaitCalls[0]).toEqual({
      FunctionName: ARNS.awaitSignalFunctionArn,
      Payload: { run_id: RUN_ID, checkpoint: 7, task_token: TASK_TOKEN, wait_seconds: 1 },
    });
    const events = await execution.events();
    expect(
      events.some((e) => e.type === 'StateCaught' && e.state.name === States.AwaitSignalWithTimeout),
    ).toBe(true);
    expect(statesEntered(events)).not.toContain(States.AwaitSignal);
  });

  it('await with a timer beyond awaitMaxS: waits awaitMaxS, then Advance re-evaluates with the timeout signal', async () => {
    const short = stateMachineDefinition({ ...ARNS, awaitMaxS: 1 });
    const advance = scriptedAdvance([advanceOutput('await', { wait_seconds: 3600 }), advanceOutput('done')]);
    const execution = execute(
      { [States.Advance]: advance.handler, [States.AwaitSignal]: () => new Promise<LibraryJson>(() => {}) },
      short,
    );
    await expect(execution.result).resolves.toEqual(advanceOutput('done'));
    expect(advance.calls[1]?.signal).toEqual({ type: 'timeout' });
    expect(statesEntered(await execution.events())).toContain(States.AwaitSignal);
  });

  it('sleep: the Wait ends at sleep_until and Advance receives the timeout signal', async () => {
    const wake = Date.now() + 1000;
    const advance = scriptedAdvance([
      advanceOutput('sleep', { sleep_until: new Date(wake).toISOString() }),
      advanceOutput('done'),
    ]);
    const execution = execute({ [States.Advance]: advance.handler });
    await expect(execution.result).resolves.toEqual(advanceOutput('done'));
    expect(Date.now()).toBeGreaterThanOrEqual(wake - 20);
    expect(advance.calls[1]).toEqual({
      run_id: RUN_ID,
      generation: 0,
      transitions: 6,
      signal: { type: 'timeout' },
    });
    expect(statesEntered(await execution.events())).toContain(States.Sleep);
  });

  it('a timeout signal does not outlive its loop: the next Advance after a delivered signal gets none', async () => {
    const advance = scriptedAdvance([
      advanceOutput('sleep', { sleep_until: new Date(Date.now() + 20).toISOString() }),
      advanceOutput('await'),
      advanceOutput('done'),
    ]);
    const execution = execute({ [States.Advance]: advance.handler, [States.AwaitSignal]: () => ({}) });
    await execution.result;
    expect(advance.calls[1]?.signal).toEqual({ type: 'timeout' });
    expect(advance.calls[2]).toEqual({ run_id: RUN_ID, generation: 0, transitions: 10 });
  });

  it('handoff: starts the next generation under its own name, then succeeds', async () => {
    const advance = scriptedAdvance([advanceOutput('handoff')]);
    const starts: LibraryJson[] = [];
    const execution = execute({
      [States.Advance]: advance.handler,
      [States.Handoff]: (input) => {
        starts.push(input);
        return { ExecutionArn: `${EXECUTION_ID}-g1`, StartDate: new Date().toISOString() };
      },
    });
    await expect(execution.result).resolves.toEqual(advanceOutput('handoff'));
    expect(starts).toEqual([
      {
        StateMachineArn: ARNS.stateMachineArn,
        Name: `${RUN_ID}-g1`,
        Input: { run_id: RUN_ID, generation: 1 },
      },
    ]);
    expect(statesEntered(await execution.events()).at(-1)).toBe(States.HandedOff);
  });

  it('handoff: an execution that already exists under the name means the handoff happened', async () => {
    const advance = scriptedAdvance([advanceOutput('handoff')]);
    let attempts = 0;
    const execution = execute({
      [States.Advance]: advance.handler,
      [States.Handoff]: () => {
        attempts++;
        throw namedError(EXECUTION_EXISTS_ERROR);
      },
    });
    await expect(execution.result).resolves.toEqual(advanceOutput('handoff'));
    expect(attempts).toBe(1);
  });

  it.each([
    ['failed', States.RunFailed],
    ['canceled', States.RunCanceled],
  ] as const)('%s: the run ended, so the execution succeeds (in %s)', async (directive, state) => {
    const advance = scriptedAdvance([advanceOutput(directive)]);
    const execution = execute({ [States.Advance]: advance.handler });
    await expect(execution.result).resolves.toEqual(advanceOutput(directive));
    expect(statesEntered(await execution.events()).at(-1)).toBe(state);
  });

  it('an unknown directive fails the execution', async () => {
    const advance = scriptedAdvance([advanceOutput('sideways' as Directive)]);
    const execution = execute({ [States.Advance]: advance.handler });
    await expect(execution.result).rejects.toThrow(/does not route/);
    const events = await execution.events();
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionFailed', Error: 'Flowrunner.UnknownDirective' });
  });

  it('retries Advance after a throttle and goes on', async () => {
    const advance = scriptedAdvance([advanceOutput('done')]);
    let throttled = false;
    const execution = execute({
      [States.Advance]: (input) => {
        if (!throttled) {
          throttled = true;
          throw namedError('Lambda.TooManyRequestsException');
        }
        return advance.handler(input);
      },
    });
    await expect(execution.result).resolves.toEqual(advanceOutput('done'));
    const events = await execution.events();
    expect(events.filter((e) => e.type === 'StateRetried')).toHaveLength(1);
    expect(countStateTransitions(events, { includeRetries: true })).toBe(countStateTransitions(events) + 1);
  });

  it('retries any other error of Advance a few times: a transient failure does not strand the run', async () => {
    const advance = scriptedAdvance([advanceOutput('done')]);
    let failures = 0;
    const execution = execute({
      [States.Advance]: (input) => {
        if (failures < 2) {
          failures++;
          throw new Error('DynamoDB throttled after the SDK retries');
        }
        return advance.handler(input);
      },
    });
    await expect(execution.result).resolves.toEqual(advanceOutput('done'));
    expect(failures).toBe(2);
  });

  it('when Advance keeps failing, Abort fails the run with the error, and the execution ends as the run does', async () => {
    let calls = 0;
    const aborts: AdvanceInput[] = [];
    const advance = scriptedAdvance([advanceOutput('continue'), advanceOutput('done')]);
    const execution = execute({
      [States.Advance]: (input) => {
        // The first Advance goes on; the second keeps failing; the one after Abort ends the run.
        if (calls++ === 0 || aborts.length > 0) return advance.handler(input);
        throw new TypeError('a bug in Advance');
      },
      [States.Abort]: (input) => {
        aborts.push(input as unknown as AdvanceInput);
        return advanceOutput('continue') as unknown as LibraryJson;
      },
    });
    await expect(execution.result).resolves.toEqual(advanceOutput('done'));
    const entered = statesEntered(await execution.events());
    expect(entered).toEqual([
      States.Start,
      States.Advance,
      States.Route,
      States.Continue,
      States.Advance,
      States.AdvanceFailed,
      States.Abort,
      States.Route,
      States.Continue,
      States.Advance,
      States.Route,
      States.RunCompleted,
    ]);
    // Advance's retries were spent first (one try and four retries), then Abort ran once.
    expect(calls - advance.calls.length).toBe(5);
    expect(aborts).toEqual([
      {
        run_id: RUN_ID,
        generation: 0,
        transitions: entered.indexOf(States.Abort) + 1,
        failure: { Error: 'TypeError', Cause: 'a bug in Advance' },
      },
    ]);
    // The Advance after Abort counts the states entered so far, as every Advance does.
    expect(advance.calls.at(-1)?.transitions).toBe(entered.lastIndexOf(States.Advance) + 1);
    expect(advance.calls.at(-1)).not.toHaveProperty('failure');
  });

  it('fails the execution when Abort fails too (infrastructure trouble, for the alarm)', async () => {
    let calls = 0;
    const execution = execute({
      [States.Advance]: () => {
        calls++;
        throw new TypeError('a bug in Advance');
      },
      [States.Abort]: () => {
        throw new Error('the run cannot be read');
      },
    });
    await expect(execution.result).rejects.toThrow();
    expect(calls).toBe(5);
    const events = await execution.events();
    expect(statesEntered(events).slice(-3)).toEqual([States.AdvanceFailed, States.Abort, States.AbortFailed]);
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionFailed', Error: 'Flowrunner.AdvanceFailed' });
  });
});
