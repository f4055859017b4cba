/**
 * The console's data code, without a browser: the graph model (statuses, visits, taken and skipped
 * branches, loops) and its layout, the compressed timeline, the YAML and its diff, the form model
 * (values for the API, the server's errors on their fields, fields from an inputs schema) and the
 * runs list's URL filters.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineDiff } from '../../../console/src/lib/diff.js';
import { apiQueryOf, filtersFrom, searchOf } from '../../../console/src/lib/filters.js';
import {
  type FormValues,
  fieldErrors,
  initialValues,
  schemaFields,
  toInputs,
} from '../../../console/src/lib/form-model.js';
import { duration, statusLabel } from '../../../console/src/lib/format.js';
import { buildGraph } from '../../../console/src/lib/graph-model.js';
import { layout, layoutOf } from '../../../console/src/lib/layout.js';
import { compressTimeline, GAP_WIDTH } from '../../../console/src/lib/timeline.js';
import { toYaml } from '../../../console/src/lib/yaml.js';
import { parseDocument } from '../../../shared/definition/parse.js';

const STEPS = [
  { id: 'collect', type: 'form', next: 'draft' },
  { id: 'draft', type: 'ai_generate', next: 'review' },
  { id: 'review', type: 'approval', next: { approved: 'send', rejected: 'draft', timeout: 'give_up' } },
  { id: 'send', type: 'api_call', on_error: 'give_up' },
  { id: 'give_up', type: 'fail' },
];

describe('console: the graph model', () => {
  it('shows each step’s latest status and visits, and which branches and loops were taken', () => {
    const history = [
      { step_id: 'collect', visit: 1, status: 'completed', outcome: 'submitted' },
      { step_id: 'draft', visit: 1, status: 'completed', outcome: 'success' },
      { step_id: 'review', visit: 1, status: 'completed', outcome: 'rejected' },
      { step_id: 'draft', visit: 2, status: 'completed', outcome: 'success' },
      { step_id: 'review', visit: 2, status: 'waiting' },
    ];
    const model = buildGraph(STEPS, history);
    const node = (id: string) => model.nodes.find((n) => n.id === id)!;
    expect(node('draft')).toMatchObject({ status: 'completed', visits: 2 });
    expect(node('review')).toMatchObject({ status: 'waiting', visits: 2 });
    expect(node('send')).toMatchObject({ status: 'pending', visits: 0 });
    const edge = (from: string, to: string) => model.edges.find((e) => e.from === from && e.to === to)!;
    expect(edge('review', 'draft')).toMatchObject({ label: 'rejected', taken: true, back: true });
    expect(edge('review', 'send')).toMatchObject({ label: 'approved', taken: false, back: false });
    expect(edge('send', 'give_up')).toMatchObject({ kind: 'error', taken: false });
    expect(edge('collect', 'draft').taken).toBe(true);
  });

  it('marks a default branch taken by an outcome no other key names, and skips edges to unknown steps', () => {
    const steps = [
      { id: 'check', type: 'conditional', next: { big: 'a', default: 'b' } },
      { id: 'a', type: 'transform' },
      { id: 'b', type: 'transform', next: 'nowhere' },
    ];
    const model = buildGraph(steps, [
      { step_id: 'check', visit: 1, status: 'completed', outcome: 'small' },
      { step_id: 'a', visit: 1, status: 'skipped' },
      { step_id: 'b', visit: 1, status: 'completed', outcome: 'success' },
    ]);
    expect(model.edges.map((e) => [e.to, e.taken])).toEqual([
      ['a', false],
      ['b', true],
    ]);
  });

  it('lays every node out once, inside the drawing, loops included', () => {
    const placed = layout(buildGraph(STEPS, []));
    expect(placed.nodes.size).toBe(STEPS.length);
    for (const at of placed.nodes.values()) {
      expect(at.x - at.width / 2).toBeGreaterThanOrEqual(0);
      expect(at.y + at.height / 2).toBeLessThanOrEqual(placed.height);
    }
    expect(placed.edges.every((e) => e.points.length >= 2)).toBe(true);
    // The loop back (review → draft) runs upward.
    const loop = placed.edges.find((e) => e.from === 'review' && e.to === 'draft')!;
    expect(loop.points[0]!.y).toBeGreaterThan(loop.points.at(-1)!.y);
  });

  it('lays a graph out once per shape, however its steps’ statuses change between drawings', () => {
    const before = layoutOf(buildGraph(STEPS, []));
    const after = layoutOf(buildGraph(STEPS, [{ step_id: STEPS[0]!.id, visit: 1, status: 'completed' }]));
    expect(after).toBe(before);
    expect(after).toEqual(layout(buildGraph(STEPS, [])));
    const shorter = layoutOf(buildGraph(STEPS.slice(0, 2), []));
    expect(shorter).not.toBe(before);
    expect(shorter.nodes.size).toBe(2);
  });
});

describe('console: the timeline', () => {
  const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

  it('compresses a wait of days to a fixed gap and spreads the busy seconds over the rest', () => {
    const events = [
      { seq: 1, type: 'run.started', at: at(0) },
      { seq: 2, type: 'step.completed', at: at(1000) },
      { seq: 3, type: 'step.waiting', at: at(2000) },
      { seq: 4, type: 'run.resumed', at: at(2000 + 3 * 86_400_000) },
      { seq: 5, type: 'run.completed', at: at(4000 + 3 * 86_400_000) },
    ];
    const timeline = compressTimeline(events);
    expect(timeline.gaps).toEqual([{ x: expect.any(Number), ms: 3 * 86_400_000 }]);
    const xs = timeline.points.map((p) => p.x);
    expect(xs[0]).toBe(0);
    expect(xs.at(-1)).toBeCloseTo(1);
    expect(xs[3]! - xs[2]!).toBeCloseTo(GAP_WIDTH);
    // The four busy seconds share the rest equally.
    expect(xs[1]! - xs[0]!).toBeCloseTo((1 - GAP_WIDTH) / 4);
  });

  it('keeps every point in order inside the strip, whatever the times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10 * 86_400_000 }), { maxLength: 40 }), (times) => {
        const timeline = compressTimeline(times.map((t, i) => ({ seq: i, type: 'x', at: at(t) })));
        const xs = timeline.points.map((p) => p.x);
        expect(xs.every((x) => x >= 0 && x <= 1 + 1e-9)).toBe(true);
        expect(xs).toEqual([...xs].sort((a, b) => a - b));
      }),
    );
  });
});

describe('console: YAML and diffs', () => {
  it('writes a definition as YAML that reads back as the same definition', () => {
    const definition = {
      schema_version: '1.0',
      id: 'onboarding',
      static: { sender: 'team@example.com', flag: 'true', empty: '', n: 3 },
      steps: [
        {
          id: 'collect',
          type: 'form',
          config: { fields: [{ key: 'email', pattern: '^[^@\\s]+@[^@\\s]+$' }] },
          next: 'x',
        },
        {
          id: 'x',
          type: 'transform',
          config: { output: '{{ steps.collect.output.email }}', list: [], map: {} },
        },
      ],
    };
    const parsed = parseDocument(toYaml(definition), 'yaml');
    expect(parsed).toMatchObject({ value: definition });
  });

  it('diffs versions line by line, and the diff rebuilds both sides', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'e'), { maxLength: 30 }),
        (a, b) => {
          const diff = lineDiff(a.join('\n'), b.join('\n'));
          expect(diff.filter((l) => l.kind !== 'added').map((l) => l.text)).toEqual(a.join('\n').split('\n'));
          expect(diff.filter((l) => l.kind !== 'removed').map((l) => l.text)).toEqual(
            b.join('\n').split('\n'),
          );
        },
      ),
    );
    expect(lineDiff('a\nb\nc', 'a\nx\nc')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'x' },
      { kind: 'same', text: 'c' },
    ]);
  });
});

describe('console: forms', () => {
  const fields = [
    { key: 'email', type: 'string' as const, required: true },
    { key: 'age', type: 'integer' as const },
    { key: 'plan', type: 'string' as const, enum: ['free', 'pro'], default: 'free' },
    { key: 'vip', type: 'boolean' as const },
    { key: 'tags', type: 'array' as const },
  ];

  it('turns what people typed into the API’s values: numbers parsed, JSON lists, empties left out', () => {
    const values: FormValues = { ...initialValues(fields), email: 'a@b.co', age: '42', tags: '["x"]' };
    expect(values.plan).toBe('"free"');
    expect(toInputs(fields, values)).toEqual({
      inputs: { email: 'a@b.co', age: 42, plan: 'free', vip: false, tags: ['x'] },
    });
    expect(toInputs(fields, { ...values, email: '  ' })).toEqual({
      inputs: { age: 42, plan: 'free', vip: false, tags: ['x'] },
    });
    expect(toInputs(fields, { ...values, age: 'many', tags: '[x' })).toEqual({
      errors: { age: 'must be a number', tags: 'must be JSON (a list)' },
    });
  });

  it('puts the server’s 422 issues on their fields, and the rest on the form', () => {
    expect(
      fieldErrors(fields, [
        { path: 'inputs.email', message: 'E-mail is not in the expected format' },
        { path: 'tags[0]', message: 'must be a string' },
        { path: 'inputs', message: 'unknown field extra' },
        { path: 'inputs.email', message: 'is required' },
      ]),
    ).toEqual({
      email: 'E-mail is not in the expected format; is required',
      tags: 'must be a string',
      '': 'unknown field extra',
    });
  });

  it('makes a start form from a workflow’s inputs schema', () => {
    expect(
      schemaFields({
        type: 'object',
        required: ['customer'],
        properties: {
          customer: { type: 'string', minLength: 1, title: 'Customer' },
          seats: { type: 'integer', default: 1 },
          tier: { enum: ['a', 'b'] },
          meta: {},
        },
      }),
    ).toEqual([
      { key: 'customer', type: 'string', required: true, label: 'Customer' },
      { key: 'seats', type: 'integer', required: false, default: 1 },
      { key: 'tier', type: 'string', required: false, enum: ['a', 'b'] },
      { key: 'meta', type: 'object', required: false },
    ]);
    expect(schemaFields(undefined)).toEqual([]);
  });
});

describe('console: the runs list’s URL', () => {
  it('keeps valid filters from the URL and drops what the API would refuse', () => {
    expect(filtersFrom('?status=waiting&workflow_id=onboarding&range=24h&cursor=abc')).toEqual({
      status: 'waiting',
      workflow_id: 'onboarding',
      range: '24h',
      cursor: 'abc',
    });
    expect(filtersFrom('?status=sleeping&workflow_id=Bad%20Id&range=2y')).toEqual({});
    expect(searchOf({ status: 'failed', range: '7d' })).toBe('?status=failed&range=7d');
    expect(searchOf({})).toBe('');
  });

  it('turns a time range into created_after', () => {
    const now = Date.UTC(2026, 0, 8);
    const query = new URLSearchParams(apiQueryOf({ range: '7d', status: 'failed' }, now));
    expect(query.get('created_after')).toBe('2026-01-01T00:00:00.000Z');
    expect(query.get('status')).toBe('failed');
    expect(query.get('limit')).toBe('25');
  });

  it('says a run that waits for a form or an approval waits for a person', () => {
    expect(statusLabel('waiting', [{ type: 'approval' }])).toBe('waiting for a person');
    expect(statusLabel('waiting', [{ type: 'wait' }])).toBe('waiting');
    expect(duration(3 * 86_400_000 + 4 * 3_600_000 + 5000)).toBe('3 d 4 h');
    expect(duration(340)).toBe('340 ms');
  });
});
