import { describe, expect, it } from 'vitest';
import { eventTrail, harnessFor } from './support.js';

const head = 'schema_version: "1.0"\nid: wf\nsteps:\n';

const approvalFlow = `${head}
  - { id: ask, type: form, config: { fields: [{ key: email, required: true, pattern: "^[^@]+@[^@]+$" }] }, next: review }
  - id: review
    type: approval
    config: { approvers: [lead@example.com], message: "Check {{ steps.ask.output.email }}" }
    next: { approved: done, rejected: ask }
  - { id: done, type: transform, config: { output: "{{ steps.ask.output.email }}" } }
`;

describe('engine: waits and resumes', () => {
  it('waits for a form, refuses invalid answers, and goes on with a valid one', async () => {
    const { harness } = harnessFor(approvalFlow);
    const run = await harness.start('wf');
    expect(run.status).toBe('waiting');
    expect(await harness.waiting(run.id)).toEqual([
      expect.objectContaining({
        step_id: 'ask',
        type: 'form',
        kind: 'form',
        fields: [expect.objectContaining({ key: 'email' })],
      }),
    ]);
    const bad = await harness.resume(run.id, { inputs: { email: 'nope' } });
    expect(bad.accepted).toBe(false);
    expect(bad.rejection?.code).toBe('ValidationError');
    expect(harness.run(run.id).status).toBe('waiting');
    const good = await harness.resume(run.id, { inputs: { email: 'a@b.c' } });
    expect(good.accepted).toBe(true);
    expect(await harness.waiting(run.id)).toEqual([
      expect.objectContaining({ step_id: 'review', approvers: ['lead@example.com'] }),
    ]);
  });

  it('refuses an approval from someone who is not an approver', async () => {
    const { harness } = harnessFor(approvalFlow);
    const run = await harness.start('wf');
    await harness.resume(run.id, { inputs: { email: 'a@b.c' } });
    const stranger = await harness.resume(run.id, { decision: 'approve', approver: 'eve@example.com' });
    expect(stranger.rejection?.code).toBe('Forbidden');
    await harness.resume(run.id, { decision: 'approve', approver: 'lead@example.com' });
    const done = harness.run(run.id);
    expect(done.status).toBe('completed');
    expect(done.output).toBe('a@b.c');
  });

  it('loops back to the form on rejection', async () => {
    const { harness } = harnessFor(approvalFlow);
    const run = await harness.start('wf');
    await harness.resume(run.id, { inputs: { email: 'a@b.c' } });
    await harness.resume(run.id, { decision: 'reject', approver: 'lead@example.com', comment: 'typo' });
    expect(await harness.waiting(run.id)).toEqual([expect.objectContaining({ step_id: 'ask', visit: 2 })]);
    expect(harness.run(run.id).steps.review!.output).toMatchObject({ decision: 'rejected' });
  });

  it('asks for step_id when several steps wait for an answer', async () => {
    const { harness } = harnessFor(`${head}
  - { id: a, type: probe, next: [f1, f2] }
  - { id: f1, type: form, config: { fields: [{ key: x }] } }
  - { id: f2, type: form, config: { fields: [{ key: y }] } }
`);
    const run = await harness.start('wf');
    const ambiguous = await harness.resume(run.id, { inputs: { x: '1' } });
    expect(ambiguous.rejection?.message).toMatch(/give step_id/);
    expect((await harness.resume(run.id, { inputs: { y: '2' } }, 'f2')).accepted).toBe(true);
    expect((await harness.resume(run.id, { inputs: { x: '1' } }, 'f1')).accepted).toBe(true);
    expect(harness.run(run.id).status).toBe('completed');
  });

  it('refuses a resume for a step that is not waiting', async () => {
    const { harness } = harnessFor(approvalFlow);
    const run = await harness.start('wf');
    const outcome = await harness.resume(
      run.id,
      { decision: 'approve', approver: 'lead@example.com' },
      'review',
    );
    expect(outcome.rejection).toEqual({
      code: 'Conflict',
      message: "Step 'review' is not waiting for an answer",
    });
  });

  it('answers a callback only for the visit that owns it', async () => {
    const { harness } = harnessFor(approvalFlow);
    const run = await harness.start('wf');
    const stale = await harness.send(run.id, {
      type: 'callback',
      step_id: 'ask',
      visit: 7,
      payload: { inputs: { email: 'a@b.c' } },
    });
    expect(stale.rejection?.code).toBe('Conflict');
    const fresh = await harness.send(run.id, {
      type: 'callback',
      step_id: 'ask',
      visit: 1,
      payload: { inputs: { email: 'a@b.c' } },
    });
    expect(fresh.accepted).toBe(true);
  });

  it('records run.waiting and run.resumed around a wait', async () => {
    const { harness } = harnessFor(approvalFlow);
    const run = await harness.start('wf');
    await harness.resume(run.id, { inputs: { email: 'a@b.c' } });
    expect(eventTrail(harness, run.id)).toEqual([
      'run.created',
      'run.started',
      'step.started:ask',
      'step.waiting:ask',
      'run.waiting',
      'run.resumed:ask',
      'step.completed:ask',
      'step.started:review',
      'step.waiting:review',
      'run.waiting',
    ]);
  });
});

describe('engine: pause and unpause', () => {
  it('holds a paused run: an answer is recorded but nothing new starts until unpause', async () => {
    const { harness, calls } = harnessFor(`${head}
  - { id: ask, type: form, config: { fields: [{ key: x }] }, next: after }
  - { id: after, type: probe }
`);
    const run = await harness.start('wf');
    expect((await harness.pause(run.id)).accepted).toBe(true);
    expect(harness.run(run.id).status).toBe('paused');
    expect((await harness.pause(run.id)).rejection?.code).toBe('Conflict');
    await harness.resume(run.id, { inputs: { x: 'v' } });
    expect(harness.run(run.id).steps.ask!.status).toBe('completed');
    expect(calls).toHaveLength(0);
    expect(harness.run(run.id).status).toBe('paused');
    await harness.unpause(run.id);
    expect(calls.map((c) => c.step)).toEqual(['after']);
    expect(harness.run(run.id).status).toBe('completed');
    expect((await harness.unpause(run.id)).rejection?.code).toBe('Conflict');
  });

  it('cancels a paused run', async () => {
    const { harness } = harnessFor(`${head}  - { id: ask, type: form, config: { fields: [{ key: x }] } }\n`);
    const run = await harness.start('wf');
    await harness.pause(run.id);
    await harness.cancel(run.id);
    expect(harness.run(run.id).status).toBe('canceled');
  });
});

describe('engine: run output', () => {
  it('renders the workflow output template over the final context', async () => {
    const { harness } = harnessFor(`schema_version: "1.0"
id: wf
output: { total: "{{ steps.a.output.n + steps.b.output.n }}", who: "{{ inputs.name }}" }
steps:
  - { id: a, type: probe, config: { output: { n: 2 } }, next: b }
  - { id: b, type: probe, config: { output: { n: 3 } } }
`);
    const run = await harness.start('wf', { inputs: { name: 'Ada' } });
    expect(run.output).toEqual({ total: 5, who: 'Ada' });
  });

  it('fails the run when the output template fails', async () => {
    const { harness } = harnessFor(`schema_version: "1.0"
id: wf
output: "{{ $number('x') }}"
steps:
  - { id: a, type: probe }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('OutputError');
  });

  it('refuses inputs that do not fit the inputs schema', async () => {
    const { harness } = harnessFor(`schema_version: "1.0"
id: wf
inputs: { type: object, required: [customer], properties: { customer: { type: string } } }
steps:
  - { id: a, type: probe }
`);
    await expect(harness.start('wf', { inputs: {} })).rejects.toMatchObject({
      issues: [{ path: 'inputs.customer', message: 'is required' }],
    });
  });
});

describe('engine: child workflows', () => {
  const parent = `schema_version: "1.0"
id: parent
steps:
  - { id: child, type: workflow, config: { workflow_id: kid, inputs: { n: 20 } }, next: after }
  - { id: after, type: transform, config: { output: "{{ steps.child.output.doubled }}" } }
`;
  const kid = (body: string) => `schema_version: "1.0"
id: kid
steps:
  - ${body}
`;

  it("runs the child and continues with the child's output", async () => {
    const { harness } = harnessFor([
      kid('{ id: k, type: transform, config: { output: { doubled: "{{ inputs.n * 2 }}" } } }'),
      parent,
    ]);
    const run = await harness.start('parent');
    await harness.idle();
    const done = harness.run(run.id);
    expect(done.status).toBe('completed');
    expect(done.output).toBe(40);
    const child = harness.runs().find((r) => r.workflow_id === 'kid')!;
    expect(child.parent).toEqual({
      run_id: run.id,
      step_id: 'child',
      visit: 1,
      depth: 1,
      root_run_id: run.id,
    });
  });

  it('fails the parent step when the child fails', async () => {
    const { harness } = harnessFor([kid('{ id: k, type: fail, config: { error: Nope } }'), parent]);
    const run = await harness.start('parent');
    await harness.idle();
    expect(harness.run(run.id).error).toMatchObject({ code: 'ChildRunFailed', step_id: 'child' });
  });

  it('cancels the child when the parent is canceled', async () => {
    const { harness } = harnessFor([kid('{ id: k, type: form, config: { fields: [{ key: x }] } }'), parent]);
    const run = await harness.start('parent');
    await harness.idle();
    await harness.cancel(run.id);
    await harness.idle();
    const child = harness.runs().find((r) => r.workflow_id === 'kid')!;
    expect(child.status).toBe('canceled');
    expect(harness.run(run.id).status).toBe('canceled');
  });
});

describe('engine: secrets', () => {
  it('resolves secrets when the step runs and scrubs them from outputs, errors, events, history and context', async () => {
    const { harness } = harnessFor(
      `${head}
  - { id: a, type: transform, config: { output: { header: "Bearer {{ secrets.token }}" } }, next: b }
  - { id: b, type: probe, config: { output: "{{ secrets.token }}", fail: { code: "Leak" } } }
`,
      { secrets: { token: 's3cr3t-value' } },
    );
    const run = await harness.start('wf');
    expect(run.steps.a!.output).toEqual({ header: 'Bearer [REDACTED]' });
    const everything = JSON.stringify([
      harness.run(run.id),
      harness.events(run.id),
      harness.history(run.id),
      await harness.context(run.id),
    ]);
    expect(everything).not.toContain('s3cr3t-value');
    expect(everything).toContain('[REDACTED]');
  });

  it('scrubs values computed from secrets too: a Basic credential, a secret upper-cased, reversed or as a number', async () => {
    const { harness } = harnessFor(
      `${head}
  - id: a
    type: transform
    config:
      output:
        basic: "Basic {{ $base64encode(secrets.user & ':' & secrets.pass) }}"
        upper: "{{ $uppercase(secrets.token) }}"
        reversed: "{{ $join($reverse($split(secrets.token, '')), '') }}"
        pin: "{{ $number(secrets.pin) }}"
        pin_text: "PIN {{ $number(secrets.pin) + 0 }}"
        known: "{{ $length(secrets.token) > 4 }}"
        other: "{{ inputs.name }}"
    next: b
  - { id: b, type: probe, config: { output: "{{ $uppercase(secrets.token) }}", fail: { code: "Leak", message: "{{ $uppercase(secrets.token) }}" } } }
`,
      { secrets: { token: 's3cr3t-value', user: 'alice', pass: 'pa55word!', pin: '73519' } },
    );
    const run = await harness.start('wf', { inputs: { name: 'Ann' } });
    expect(run.steps.a!.output).toEqual({
      basic: 'Basic [REDACTED]',
      upper: '[REDACTED]',
      reversed: '[REDACTED]',
      pin: '[REDACTED]',
      pin_text: 'PIN [REDACTED]',
      known: true,
      other: 'Ann',
    });
    const everything = JSON.stringify([
      harness.run(run.id),
      harness.events(run.id),
      harness.history(run.id),
      await harness.context(run.id),
    ]);
    for (const leak of ['YWxpY2U6cGE1NXdvcmQh', 'S3CR3T-VALUE', 'eulav-t3rc3s', '73519']) {
      expect(everything).not.toContain(leak);
    }
  });

  it('never redacts what the engine reads to go on, nor literals of the expression or copies of the run context', async () => {
    const { harness } = harnessFor(
      `${head}
  - id: a
    type: transform
    config:
      output: "{{ {'key': secrets.token, 'state': $lowercase('COMPLETED'), 'model': 'gpt-4o', 'who': inputs.name} }}"
    next: b
  - { id: b, type: transform, config: { output: "{{ steps.a.output.who }} {{ steps.a.output.model }}" } }
`,
      { secrets: { token: 's3cr3t-value' } },
    );
    const run = await harness.start('wf', { inputs: { name: 'Annabel' } });
    // `completed` was computed from an expression that reads a secret: the step's status is not data.
    expect(run.status).toBe('completed');
    expect(run.steps.a!.output).toEqual({
      key: '[REDACTED]',
      state: '[REDACTED]',
      model: 'gpt-4o',
      who: 'Annabel',
    });
    expect(run.output).toBe('Annabel gpt-4o');
  });

  it('fails the step with a clear error for a missing secret', async () => {
    const { harness } = harnessFor(
      `${head}  - { id: a, type: transform, config: { output: "{{ secrets.missing }}" } }\n`,
    );
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/missing/);
  });
});
