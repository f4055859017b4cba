// The aws-local-stepfunctions peer chain runs the benchmark transform state to state and logs its transitions.
import { describe, expect, it } from 'vitest';
import {
  benchStep,
  buildChain,
  chainDefinition,
  countTransitions,
  measurePeerAsl,
  runChain,
  runChainWithEvents,
} from '../../bench/peer-asl.js';

describe('peer benchmark: aws-local-stepfunctions chain', () => {
  const chain = buildChain(3);

  it('passes each Task output on as the next input: n = 3 after three states', async () => {
    expect(await runChain(chain, { n: 0, keep: 'me' })).toEqual({ n: 3, label: 'step 3', keep: 'me' });
  });

  it('builds a linear chain of Tasks with a timeout, the last one ending it', () => {
    const definition = chainDefinition(3);
    expect(definition.StartAt).toBe('step1');
    expect(definition.States.step1).toMatchObject({ Type: 'Task', Next: 'step2', TimeoutSeconds: 86_400 });
    expect(definition.States.step3).toMatchObject({
      Type: 'Task',
      End: true,
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:step3',
    });
    expect(() => chainDefinition(0)).toThrow(RangeError);
  });

  it('counts one transition per state entered, from the event log', async () => {
    const { output, events } = await runChainWithEvents(chain, { n: 10 });
    expect(output).toEqual({ n: 13, label: 'step 13' });
    expect(countTransitions(events)).toBe(3);
    expect(events.map((event) => (event.type === 'StateEntered' ? event.state.name : event.type))).toEqual([
      'ExecutionStarted',
      'step1',
      'StateExited',
      'step2',
      'StateExited',
      'step3',
      'StateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('fails the execution when a step gets no numeric n', async () => {
    expect(() => benchStep({ n: 'one' })).toThrow(TypeError);
    await expect(chain.machine.run({ m: 1 }, chain.runOptions).result).rejects.toThrow(/numeric "n"/);
  });

  it('reports the size and number of runs it measured', async () => {
    const result = await measurePeerAsl(3, 2, { warmupRuns: 1 });
    expect(result).toMatchObject({ states: 3, runs: 2 });
    expect(Number.isFinite(result.us_per_state)).toBe(true);
  });
});
