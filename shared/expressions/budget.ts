/**
 * The time and depth budget of one evaluation, enforced through jsonata's evaluation hooks, which
 * also give the rest of the process a turn while an expression runs.
 *
 * jsonata 2.x evaluates in one unbroken chain of microtasks, so a runaway expression would starve
 * timers, sockets and every other run. The entry hook is awaited before each node is evaluated;
 * every few milliseconds it returns a promise that settles on the macrotask queue (setImmediate),
 * and when the time is up it throws, which ends the evaluation.
 *
 * Depth is the number of nested evaluations in progress. Deep recursion does not overflow the
 * JavaScript stack (each await unwinds it) but holds about 2 KB per level on the heap, so it is the
 * depth that has to be bounded. jsonata evaluates the items of an array constructor and the groups
 * of an object constructor concurrently (`Promise.all`), which would count a group-by over 1,000
 * keys as 1,000 levels; so the hooks run such siblings one after the other instead. Only the order
 * of evaluation changes (the built-in functions are synchronous), and the count of evaluations in
 * progress is then exactly the depth.
 *
 * What no hook can interrupt is one long synchronous built-in call. `$pad` is bounded before it
 * runs and results are bounded in size after each step, but a regular expression with catastrophic
 * backtracking (`$match(s, /(a+)+$/)`) blocks for as long as it backtracks; that is for V8 to stop
 * (`--enable-experimental-regexp-engine-on-excessive-backtracks`), process-wide.
 */
import jsonata from 'jsonata';
import type { AstNode } from './compile.js';

export const ENTRY_HOOK = Symbol.for('jsonata.__evaluate_entry');
export const EXIT_HOOK = Symbol.for('jsonata.__evaluate_exit');

/** How long an expression may run before it lets timers and I/O in. */
const SLICE_MS = 5;
/** Reading the clock on every node would cost more than the nodes; every 16th is fine-grained enough. */
const CLOCK_EVERY = 16;
/** The longest string one step of an expression may build: stops `&` and `$replace` doubling to gigabytes. */
export const MAX_STRING_LENGTH = 10_000_000;
/** The longest sequence one step may build (a range alone may reach jsonata's own limit of 10 million). */
export const MAX_ARRAY_LENGTH = 1_000_000;
/**
 * The widest `$pad`. jsonata pads with `new Array(width).join(char)` in one synchronous call, which no
 * hook can interrupt: a million characters take about 70 ms, ten million 1.4 s, and 300 million
 * abort the whole process with a fatal V8 error. So the width is checked before the call.
 */
export const MAX_PAD_LENGTH = 1_000_000;

/** Why an evaluation was stopped; turned into an ExpressionError by the caller. */
export class BudgetExceeded {
  constructor(
    readonly code: 'ExpressionTimeout' | 'ExpressionTooDeep' | 'ExpressionTooLarge',
    readonly message: string,
  ) {}
}

/** The AST node whose concurrent children a node is (`[a, b]` → a and b), recorded as nodes are first entered. */
const fanOutParent = new WeakMap<AstNode, AstNode>();
const fanOutMarked = new WeakSet<AstNode>();

/** One run of siblings: the first runs at once, the others wait for the one before them to finish. */
interface Siblings {
  parent: AstNode;
  waiting: Array<() => void>;
  next: number;
}

export class Budget {
  readonly #timeoutMs: number;
  readonly #maxDepth: number;
  readonly #deadline: number;
  #nextSlice: number;
  #untilClock = CLOCK_EVERY;
  #depth = 0;
  /** Sibling runs in progress, innermost last. */
  readonly #siblings: Siblings[] = [];
  /** The run that siblings entered in this same synchronous turn join (jsonata enters them in one loop). */
  #joining: Siblings | undefined;

  constructor(timeoutMs: number, maxDepth: number) {
    const now = Date.now();
    this.#timeoutMs = timeoutMs;
    this.#maxDepth = maxDepth;
    this.#deadline = now + timeoutMs;
    this.#nextSlice = now + SLICE_MS;
  }

  /** The entry hook: awaited by jsonata before it evaluates `node`. */
  readonly enter = (node: AstNode): Promise<void> | undefined => {
    markFanOut(node);
    const parent = fanOutParent.get(node);
    if (parent === undefined) {
      this.#joining = undefined;
      return this.#descend();
    }
    const run = this.#joining;
    if (run !== undefined && run.parent === parent) {
      return new Promise<void>((resolve) => run.waiting.push(resolve)).then(() => this.#descend());
    }
    const started: Siblings = { parent, waiting: [], next: 0 };
    this.#siblings.push(started);
    this.#joining = started;
    return this.#descend();
  };

  /** The exit hook: called by jsonata with the value `node` evaluated to. */
  readonly exit = (node: AstNode, _input: unknown, _environment: unknown, result: unknown): void => {
    this.#depth--;
    this.#joining = undefined;
    if (typeof result === 'string' && result.length > MAX_STRING_LENGTH) {
      throw new BudgetExceeded(
        'ExpressionTooLarge',
        `built a string of ${result.length} characters (at most ${MAX_STRING_LENGTH})`,
      );
    }
    if (Array.isArray(result) && result.length > MAX_ARRAY_LENGTH) {
      throw new BudgetExceeded(
        'ExpressionTooLarge',
        `built a sequence of ${result.length} items (at most ${MAX_ARRAY_LENGTH})`,
      );
    }
    if (fanOutParent.has(node)) {
      const run = this.#siblings[this.#siblings.length - 1]!;
      const release = run.waiting[run.next++];
      if (release === undefined) this.#siblings.pop();
      else release();
    }
  };

  #descend(): Promise<void> | undefined {
    if (++this.#depth > this.#maxDepth) {
      throw new BudgetExceeded(
        'ExpressionTooDeep',
        `went deeper than ${this.#maxDepth} nested evaluations (runaway recursion?)`,
      );
    }
    if (--this.#untilClock > 0) return undefined;
    this.#untilClock = CLOCK_EVERY;
    const now = Date.now();
    if (now > this.#deadline) {
      throw new BudgetExceeded('ExpressionTimeout', `ran longer than ${this.#timeoutMs} ms`);
    }
    if (now < this.#nextSlice) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#nextSlice = Date.now() + SLICE_MS;
    });
  }
}

/** Records the children that jsonata evaluates concurrently: array items and group values. */
function markFanOut(node: AstNode): void {
  if (fanOutMarked.has(node)) return;
  fanOutMarked.add(node);
  if (node.type === 'unary' && node.value === '[') {
    for (const item of node.expressions ?? []) fanOutParent.set(item, node);
  } else if (node.type === 'unary' && node.value === '{') {
    for (const [, value] of node.lhs as [AstNode, AstNode][]) fanOutParent.set(value, node);
  }
  if (node.group !== undefined) {
    for (const [, value] of node.group.lhs) fanOutParent.set(value, node);
  }
}

/** A jsonata built-in function as `$name` evaluates to. */
interface BuiltinFunction {
  implementation: (this: unknown, ...args: unknown[]) => unknown;
}

/** jsonata's own `$pad`: its built-ins are reachable only from expressions, so it is fetched by evaluating `$pad` once. */
let builtinPad: Promise<BuiltinFunction> | undefined;

/** `$pad` with its width checked first; registered on every instance in place of the built-in. */
export async function boundedPad(
  this: unknown,
  text: unknown,
  width: number,
  char?: string,
): Promise<unknown> {
  const requested = Math.abs(Math.trunc(width)) * Math.max(1, char?.length ?? 1);
  if (requested > MAX_PAD_LENGTH) {
    throw new BudgetExceeded(
      'ExpressionTooLarge',
      `asked $pad for ${requested} characters (at most ${MAX_PAD_LENGTH})`,
    );
  }
  builtinPad ??= jsonata('$pad').evaluate({}) as Promise<BuiltinFunction>;
  return (await builtinPad).implementation.call(this, text, width, char);
}
