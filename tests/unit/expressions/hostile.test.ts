/**
 * Issue 9: no expression may exhaust memory or stall the process. Each group of hostile expressions
 * runs in a child process with a 256 MB heap (hostile-child.ts), so that one which still exhausts
 * the heap fails its test instead of killing the test runner. Every expression here used to crash
 * the process (FATAL ERROR: Reached heap limit) or block it for seconds to minutes; each must now
 * end with a clear error, promptly, and without blocking the event loop for long.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNodeChild } from '../../support/node-child.js';

const CHILD = fileURLToPath(new URL('./hostile-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Far above what any of these takes now (well under 3 s each), far below what they took before. */
const MAX_MS = 10_000;
/** The longest the child's event loop may go without a turn while one of them runs. */
const MAX_GAP_MS = 3_000;
/** A group that has not finished by then is stalled: the child is killed and the test fails, naming the expression. */
const CHILD_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = CHILD_TIMEOUT_MS + 10_000;

interface Outcome {
  expression: string;
  code?: string;
  details?: { limit?: string };
  message?: string;
  messageLength?: number;
  value?: string;
  ms: number;
  maxGapMs: number;
  heapMb: number;
}

interface Hostile {
  expression: string;
  options?: { timeoutMs?: number; maxDepth?: number };
  /** What the expression did before the fix. */
  before: string;
  /** The error code expected (ExpressionLimit unless said otherwise). */
  code?: string;
  limit?: 'time' | 'depth' | 'size';
  /** The JSON of the value expected, for an expression that now completes. */
  value?: string;
  /** Completes or spends its time budget, depending on the machine: either is fine, a crash or a stall is not. */
  eitherWay?: true;
}

/** Runs expressions in a child process with a small heap; resolves with what it wrote and how it ended. */
async function runInChild(
  entries: ReadonlyArray<{ expression: string; options?: object }>,
): Promise<{ outcomes: Outcome[]; exit: string; stderr: string }> {
  let watchdog: NodeJS.Timeout | undefined;
  const { code, signal, stdout, stderr } = await runNodeChild(
    [
      '--max-old-space-size=256',
      // What the composition root sets for the process (see shared/adapters/regexp-guard.ts).
      '--enable-experimental-regexp-engine-on-excessive-backtracks',
      '--import',
      'tsx',
      CHILD,
      JSON.stringify(
        entries.map(({ expression, options }) => (options ? { expression, options } : expression)),
      ),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      onStart: (kill) => {
        watchdog = setTimeout(kill, CHILD_TIMEOUT_MS);
      },
    },
  );
  clearTimeout(watchdog);
  const lines = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Outcome & { started?: string });
  const started = lines.filter((line) => line.started !== undefined).at(-1)?.started;
  const outcomes = lines.filter((line) => line.started === undefined);
  const exit =
    code === 0
      ? 'exited normally'
      : `died (status ${code}, signal ${signal}) while evaluating ${started}: ${stderr
          .split('\n')
          .filter((line) => /error/i.test(line))
          .slice(0, 2)
          .join(' ')}`;
  return { outcomes, exit, stderr };
}

async function expectContained(cases: readonly Hostile[]): Promise<Outcome[]> {
  const { outcomes, exit } = await runInChild(cases);
  expect(exit).toBe('exited normally');
  expect(outcomes.map((outcome) => outcome.expression)).toEqual(cases.map((hostile) => hostile.expression));
  for (const [index, hostile] of cases.entries()) {
    const outcome = outcomes[index]!;
    const summary = { ...outcome, before: hostile.before };
    if (hostile.value !== undefined) {
      expect(summary).toMatchObject({ value: hostile.value });
    } else if (hostile.eitherWay) {
      expect(summary.value !== undefined || summary.code === 'ExpressionLimit', JSON.stringify(summary)).toBe(
        true,
      );
    } else {
      expect(summary).toMatchObject({
        code: hostile.code ?? 'ExpressionLimit',
        ...(hostile.limit === undefined ? {} : { details: { limit: hostile.limit } }),
      });
    }
    expect(outcome.ms, hostile.expression).toBeLessThan(MAX_MS);
    expect(outcome.maxGapMs, hostile.expression).toBeLessThan(MAX_GAP_MS);
    // Messages stay short, whatever the nesting that produced them.
    expect(outcome.messageLength ?? 0, hostile.expression).toBeLessThan(2_000);
  }
  return outcomes;
}

const DAG = (levels: number) =>
  `($f := function($x, $n){ $n = 0 ? $x : $f({"a": $x, "b": $x}, $n - 1) }; $f("x", ${levels}))`;
const NINE_MILLION = '($s := $pad("", 1000000, "x"); $s & $s & $s & $s & $s & $s & $s & $s & $s)';

describe('hostile expressions, each in a child process with a 256 MB heap', () => {
  it(
    'recursion through $eval ends with ExpressionLimit instead of exhausting the heap (issue 9)',
    async () => {
      await expectContained([
        {
          // The expression of the issue: 40 s, then FATAL ERROR: Reached heap limit.
          expression: '( $e := function(){ $eval("$e()") }; $e() )',
          before: 'heap exhausted: each $eval level quoted the message of the one below, doubling it',
          limit: 'depth',
        },
        {
          expression: '( $e := function($n){ $eval("$e(" & ($n + 1) & ")") }; $e(0) )',
          before: 'heap exhausted',
          limit: 'depth',
        },
        {
          // Deep enough for the time budget to be spent first.
          expression: '( $e := function($n){ $eval("$e(" & ($n + 1) & ")") }; $e(0) )',
          options: { timeoutMs: 200, maxDepth: 100_000 },
          before: 'heap exhausted',
        },
        {
          // Any error, not only a spent budget, came up through the nested $evals doubling.
          expression:
            '( $e := function($n){ $n = 40 ? $error("boom") : $eval("$e(" & ($n + 1) & ")") }; $e(0) )',
          before: 'heap exhausted by a 2^40-character error message',
          code: 'ExpressionError',
        },
        {
          expression: '$eval($string([1..200000]))',
          before: 'heap exhausted by 200,000 array items evaluated at once',
          limit: 'size',
        },
        {
          expression: '$eval("[" & $join($map([1..150000], function(){ "1" }), ",") & "]")',
          before: 'ran past its time budget with the heap nearly full',
        },
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'values that share their parts cannot be compared, printed, copied or returned at full size',
    async () => {
      await expectContained([
        { expression: DAG(40), before: 'heap exhausted copying 2^40 leaves out', limit: 'size' },
        { expression: `$string(${DAG(40)})`, before: 'heap exhausted', limit: 'size' },
        {
          expression: `(${DAG(28)}) = (${DAG(28)})`,
          before: 'blocked the process for minutes',
          limit: 'size',
        },
        { expression: `$count((${DAG(40)}).**)`, before: 'heap exhausted', limit: 'size' },
        { expression: `(${DAG(40)}) ~> | a | {"c": 1} |`, before: 'heap exhausted cloning', limit: 'size' },
        {
          expression: '($f := function($x, $n){ $n = 0 ? $x : $f([[$x], [$x]], $n - 1) }; $f("x", 60))',
          before: 'heap exhausted',
          limit: 'size',
        },
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'memory is bounded: ranges, flattening, regex matches, sorting',
    async () => {
      await expectContained([
        { expression: '$count([1..1000].([1..1000000]))', before: 'heap exhausted in 1.5 s', limit: 'size' },
        { expression: `$count($match(${NINE_MILLION}, /x/))`, before: 'heap exhausted after 12 s' },
        { expression: `$length($replace(${NINE_MILLION}, /x/, "y"))`, before: 'heap exhausted after 11 s' },
        {
          expression: `$length($replace(${NINE_MILLION}, "x", "yy"))`,
          before: 'heap exhausted after 6 s (a rope of 18 million pieces)',
          limit: 'size',
        },
        { expression: `$count($split(${NINE_MILLION}, ""))`, before: '9 million items built, then refused' },
        {
          expression: '$count($sort([1..1000000]))',
          before: 'heap exhausted by the merge sort',
          value: '1000000',
        },
        {
          expression: '$reduce([1..1000], function($a, $i){ $append($a, [[1..1000000]]) }, [])',
          before: '175 MB of a 256 MB heap held within its time budget',
          limit: 'size',
        },
        {
          expression:
            '($a := [1..1000000]; $count([$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a,$a]))',
          before: 'copied 20 million items',
          limit: 'size',
        },
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'no built-in blocks the process: distinct, date pictures, joins',
    async () => {
      await expectContained([
        {
          expression: '$count($distinct([1..100000]))',
          before: 'blocked the process for 8 s (quadratic)',
          value: '100000',
        },
        {
          expression: '$count($distinct([1..100000].{"a": $}))',
          before: 'blocked the process for more than 40 s',
          eitherWay: true,
        },
        {
          expression: '$now("[Y,300000000]")',
          before: 'built 300 million characters, then refused',
          limit: 'size',
        },
        {
          expression: '$length($join($map([1..500], function($i){ $pad("", 1000000, "x") })))',
          before: 'ran into its time budget building 500 million characters',
        },
        {
          expression: '$count($map([1..1000000], function($i){ function(){ $i } }))',
          before: '145 MB of closures within its time budget',
        },
      ]);
    },
    TEST_TIMEOUT_MS,
  );
});
