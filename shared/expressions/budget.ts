/**
 * The limits of one evaluation: time, depth, the size of each value and the memory it allocates,
 * enforced through jsonata's evaluation hooks and through guarded built-in functions. Whatever an
 * expression reaches (nested lambdas, `$eval`, higher-order functions, regex matches) runs inside
 * them, and a spent limit ends the evaluation with `ExpressionLimit`.
 *
 * Time. jsonata 2.x evaluates in one unbroken chain of microtasks, so a runaway expression would
 * starve timers, sockets and every other run. The entry hook is awaited before each node is
 * evaluated, and every built-in call and every regex match ticks the same clock: every few
 * milliseconds the tick returns a promise that settles on the macrotask queue (setImmediate), and
 * when the time is up it throws, which ends the evaluation.
 *
 * Depth is the number of nested evaluations in progress. Deep recursion does not overflow the
 * JavaScript stack (each await unwinds it) but holds about 2 KB per level on the heap, so it is the
 * depth that has to be bounded. jsonata evaluates the items of an array constructor and the groups
 * of an object constructor concurrently (`Promise.all`), which would count a group-by over 1,000
 * keys as 1,000 levels; so the hooks run such siblings one after the other instead. Only the order
 * of evaluation changes (the built-in functions are synchronous), and the count of evaluations in
 * progress is then exactly the depth.
 *
 * Size. A string may hold MAX_STRING_LENGTH characters and a sequence MAX_ARRAY_LENGTH items, and
 * one value, counted as JSON with shared parts counted each time they appear, MAX_VALUE_SIZE: a
 * value that refers to itself twice per level (`{"a": $x, "b": $x}`) is a few kilobytes in memory
 * but 2^40 items to compare, stringify, clone or copy out, each of which runs as one synchronous
 * call. Nesting is bounded by MAX_NESTING. Sizes are remembered on each array and object, so
 * measuring costs one look at each new one.
 *
 * Memory. Each evaluation may allocate about `maxAllocatedBytes`: the arrays, objects, strings,
 * closures, suspended siblings and regex matches it creates are charged when they appear. It is
 * an estimate (measured on Node 20), and garbage is not refunded: quadratic accumulation such as
 * `$append` in a `$reduce` counts every copy.
 *
 * `$eval` parses into the same evaluator, with the same hooks and this same budget. jsonata wraps
 * an error thrown inside `$eval` in a new error whose message quotes the old one with
 * JSON.stringify, which doubles its backslashes: nested `$eval`s unwinding from a spent budget
 * built messages of 2^depth characters, and the process died of it (issue 9). The guard passes a
 * spent limit up as it is and collapses nested wrappers, so messages stay short.
 *
 * What no hook can interrupt is one long synchronous call. Built-ins whose work is not linear in
 * their bounded inputs are replaced ($sort, $distinct, $replace with a string pattern) or checked
 * before they run ($pad, $join, $string, $split, $eval, date pictures); the others are linear in
 * inputs bounded as above. Backtracking regular expressions are the regex engine's to bound.
 */
import jsonata from 'jsonata';
import type { AstNode, JsonataInstance } from './compile.js';
import { sourceOf } from './sandbox.js';

export const ENTRY_HOOK = Symbol.for('jsonata.__evaluate_entry');
export const EXIT_HOOK = Symbol.for('jsonata.__evaluate_exit');
/** The binding through which the guarded built-ins find the budget of the evaluation calling them. */
export const BUDGET = Symbol('flowrunner.expression-budget');

/** How long an expression may run before it lets timers and I/O in. */
const SLICE_MS = 5;
/** Reading the clock on every node would cost more than the nodes; every 16th is fine-grained enough. */
const CLOCK_EVERY = 16;
/** The longest string one step of an expression may build: stops `&` and `$replace` doubling to gigabytes. */
export const MAX_STRING_LENGTH = 10_000_000;
/** The longest sequence one step may build (a range is refused before it is built). */
export const MAX_ARRAY_LENGTH = 1_000_000;
/**
 * The widest `$pad`. jsonata pads with `new Array(width).join(char)` in one synchronous call, which no
 * hook can interrupt: a million characters take about 70 ms, ten million 1.4 s, and 300 million
 * abort the whole process with a fatal V8 error. So the width is checked before the call.
 */
export const MAX_PAD_LENGTH = 1_000_000;
/** The largest value, in characters of its JSON, shared parts counted each time they appear. */
export const MAX_VALUE_SIZE = 32_000_000;
/** The deepest nesting of arrays and objects in a value an expression builds. */
export const MAX_NESTING = 1_000;
/** The longest expression `$eval` parses (parsing is one synchronous call: a million characters take ~100 ms). */
export const MAX_EVAL_LENGTH = 1_000_000;
/** The longest picture string of a formatting or parsing function: each is interpreted in one synchronous call. */
export const MAX_PICTURE_LENGTH = 10_000;
/** What one evaluation may allocate by default, in (estimated) bytes. */
export const DEFAULT_MAX_ALLOCATED_BYTES = 128 * 1024 * 1024;
/** Below this many items, jsonata's own quadratic `$distinct` is cheaper than building keys. */
const DISTINCT_NATIVE_BELOW = 256;

/** Estimated heap bytes, measured on Node 20 (a closure holds its frame; a suspended sibling its async frame). */
const COST = {
  array: 48,
  slot: 8,
  object: 64,
  key: 64,
  string: 16,
  concat: 32,
  closure: 768,
  sibling: 1536,
  parsedChar: 16,
  match: 256,
  replaceMatch: 64,
  splitMatch: 48,
} as const;

/** Which limit was spent: shown to the workflow as `error.details.limit` of an `ExpressionLimit` error. */
export type LimitKind = 'time' | 'depth' | 'size';

/** Why an evaluation was stopped; turned into an ExpressionError('ExpressionLimit') by the caller. */
export class BudgetExceeded {
  readonly code = 'ExpressionLimit';
  constructor(
    readonly limit: LimitKind,
    readonly message: string,
  ) {}
}

/**
 * The spent budget, V8 limit or sandbox refusal behind an error; `$eval` wraps what its expression
 * threw (D3121, the original in `.error`).
 */
export function limitBehind(thrown: unknown): BudgetExceeded | RangeError | TransformRefused | undefined {
  for (
    let error = thrown, hops = 0;
    error !== null && typeof error === 'object' && hops < 1000;
    error = (error as { error?: unknown }).error, hops++
  ) {
    if (error instanceof BudgetExceeded || error instanceof RangeError || error instanceof TransformRefused) {
      return error;
    }
  }
  return undefined;
}

/** The AST node whose concurrent children a node is (`[a, b]` → a and b), recorded as nodes are first entered. */
const fanOutParent = new WeakMap<AstNode, AstNode>();
/** The operands of range operators (`a..b`): the range is checked before jsonata allocates it. */
const rangeOperand = new WeakMap<AstNode, { range: AstNode; side: 'lhs' | 'rhs' }>();
const marked = new WeakSet<AstNode>();
/**
 * Order-by steps (`items^(price)`). jsonata sorts them with a merge sort of its own that copies the
 * rest of a run at every comparison and holds every copy until the merge ends: about n² bytes for
 * n items (100 MB for 10,000). Its comparisons are hooked (they evaluate the sort terms) but its
 * input is not, so the step before a sort counts the items it hands over, and the sort is charged
 * when its first term is evaluated.
 */
const sortsOfPath = new WeakMap<AstNode, AstNode[]>();
const sortFedBy = new WeakMap<AstNode, AstNode>();
const sortOfTerm = new WeakMap<AstNode, AstNode>();

/**
 * The estimated JSON size of an array or object an expression built, kept on the value itself once
 * it is charged and measured (a WeakMap of every value slowed the garbage collector down
 * threefold). A symbol key, not enumerable: no JSON, key list, copy or comparison sees it.
 *
 * jsonata changes no value once evaluated, except through the transform operator, which updates
 * the `$clone` copy it makes. Those copies, and every value that contains one, are marked CHANGING:
 * charged, but measured anew each time. A transform whose pattern selects anything else (`{} ~> |
 * $o | {...} |` updates `$o` in place) is refused.
 */
const SIZE = Symbol('flowrunner.expression-size');
const CHANGING = -1;
/**
 * The estimated JSON size of host data behind views (run data, which the engine does not change
 * while expressions read it), remembered for the parts of at least SOURCE_REMEMBERED_FROM
 * characters. Smaller parts are measured again when met again (a part met many times counts
 * towards MAX_VALUE_SIZE each time, so that stays bounded). Remembering every object made large
 * data quadratic: V8 hashes objects to 21 bits, so a WeakMap past ~2 million keys probes long
 * runs of them on every insert — 3 million small objects (a 10 MB API response holds that many)
 * took 37 s to measure, and a run that doubled its output on each visit held a server for 70–90 s.
 */
const sourceSizes = new WeakMap<object, number>();
const SOURCE_REMEMBERED_FROM = 4096;

function rememberedSize(value: object): number | undefined {
  return (value as { [SIZE]?: number })[SIZE];
}

function rememberSize(value: object, size: number): void {
  if (!Object.isExtensible(value)) return;
  // A plain assignment is three times faster, but would make the key enumerable, and jsonata copies
  // objects with Object.assign (tuples); arrays it does not.
  if (Array.isArray(value)) (value as { [SIZE]?: number })[SIZE] = size;
  else Object.defineProperty(value, SIZE, { value: size, writable: true, configurable: true });
}

/** The transform nodes whose patterns select what they update, recorded as nodes are first entered. */
const transformPatterns = new WeakSet<AstNode>();

/** The arrays and objects of a `$clone` copy, which a transform changes in place. */
function markChanging(value: unknown): void {
  if (value === null || typeof value !== 'object' || rememberedSize(value) === CHANGING) return;
  rememberSize(value, CHANGING);
  for (const item of Array.isArray(value) ? value : Object.values(value)) markChanging(item);
}

/** One run of siblings: the first runs at once, the others wait for the one before them to finish. */
interface Siblings {
  parent: AstNode;
  waiting: Array<() => void>;
  next: number;
  /** Items an array constructor has gathered so far: jsonata copies them once per item it appends. */
  items: number;
}

export interface BudgetLimits {
  timeoutMs: number;
  maxDepth: number;
  maxAllocatedBytes: number;
}

export class Budget {
  readonly #limits: BudgetLimits;
  readonly #deadline: number;
  #nextSlice: number;
  #untilClock = CLOCK_EVERY;
  #depth = 0;
  #allocated = 0;
  /**
   * The time or allocation limit once spent: thrown again at once by every hook, tick and charge,
   * for jsonata goes on starting the siblings of an array constructor after the first has failed.
   */
  #spent: BudgetExceeded | undefined;
  /** Sibling runs in progress, innermost last. */
  readonly #siblings: Siblings[] = [];
  /** The run that siblings entered in this same synchronous turn join (jsonata enters them in one loop). */
  #joining: Siblings | undefined;
  /** Values of range starts whose end is being evaluated, per range node. */
  readonly #rangeStarts = new Map<AstNode, unknown[]>();
  /** Per order-by step, innermost evaluation of its path last: the items handed to it so far. */
  readonly #sortInputs = new Map<AstNode, Array<{ items: number; charged: boolean }>>();
  /** Set while measuring when a value met so far contains a CHANGING one: its containers are not remembered either. */
  #changing = false;

  constructor(limits: BudgetLimits) {
    const now = Date.now();
    this.#limits = limits;
    this.#deadline = now + limits.timeoutMs;
    this.#nextSlice = now + SLICE_MS;
  }

  /** The entry hook: awaited by jsonata before it evaluates `node`. */
  readonly enter = (node: AstNode): Promise<void> | undefined => {
    mark(node);
    const sorts = sortsOfPath.get(node);
    if (sorts !== undefined)
      for (const sort of sorts) this.#sortInput(sort, true).push({ items: 0, charged: false });
    const sort = sortOfTerm.get(node);
    if (sort !== undefined) this.#startSort(sort);
    const parent = fanOutParent.get(node);
    if (parent === undefined) {
      this.#joining = undefined;
      return this.#descend();
    }
    const run = this.#joining;
    if (run !== undefined && run.parent === parent) {
      this.charge(COST.sibling);
      return new Promise<void>((resolve) => run.waiting.push(resolve)).then(() => this.#descend());
    }
    const started: Siblings = { parent, waiting: [], next: 0, items: 0 };
    this.#siblings.push(started);
    this.#joining = started;
    return this.#descend();
  };

  /** The exit hook: called by jsonata with the value `node` evaluated to. */
  readonly exit = (node: AstNode, _input: unknown, _environment: unknown, result: unknown): void => {
    this.#depth--;
    this.#joining = undefined;
    this.#account(node, result);
    if (transformPatterns.has(node)) checkTransformMatches(result);
    const operand = rangeOperand.get(node);
    if (operand !== undefined) this.#rangeOperand(operand.range, operand.side, result);
    const fed = sortFedBy.get(node);
    if (fed !== undefined) {
      const input = this.#sortInput(fed, false).at(-1);
      if (input !== undefined)
        input.items += Array.isArray(result) ? result.length : result === undefined ? 0 : 1;
    }
    const sorts = sortsOfPath.get(node);
    if (sorts !== undefined) for (const sort of sorts) this.#sortInput(sort, false).pop();
    if (fanOutParent.has(node)) {
      const run = this.#siblings[this.#siblings.length - 1]!;
      if (run.parent.type === 'unary' && run.parent.value === '[') {
        run.items += Array.isArray(result) ? result.length : result === undefined ? 0 : 1;
        this.charge(COST.slot * run.items);
      }
      const release = run.waiting[run.next++];
      if (release === undefined) this.#siblings.pop();
      else release();
    }
  };

  /**
   * One unit of work outside the nodes (a built-in call, a regex match): the clock, and a turn for
   * others. `costly` reads the clock now: one built-in call may take milliseconds.
   */
  tick(costly = false): Promise<void> | undefined {
    if (this.#spent !== undefined) throw this.#spent;
    if (--this.#untilClock > 0 && !costly) return undefined;
    this.#untilClock = CLOCK_EVERY;
    const now = Date.now();
    if (now > this.#deadline) {
      this.#spent = new BudgetExceeded('time', `ran longer than ${this.#limits.timeoutMs} ms`);
      throw this.#spent;
    }
    if (now < this.#nextSlice) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#nextSlice = Date.now() + SLICE_MS;
    });
  }

  /** Counts `bytes` against the allocation budget; `what` explains a large charge in the error. */
  charge(bytes: number, what?: string): void {
    if (this.#spent !== undefined) throw this.#spent;
    this.#allocated += bytes;
    if (this.#allocated > this.#limits.maxAllocatedBytes) {
      this.#spent = new BudgetExceeded(
        'size',
        `allocated more than ${megabytes(this.#limits.maxAllocatedBytes)} (about ${megabytes(this.#allocated)}: ` +
          `${what ?? 'a value built over and over, such as $append in $reduce, counts every copy'})`,
      );
      throw this.#spent;
    }
  }

  /**
   * Checks and charges a value that appeared in the evaluation: every array and object in it not
   * seen before is charged, and the whole must stay within MAX_VALUE_SIZE and MAX_NESTING.
   * `prepaid` when the guard of a built-in has charged its result already.
   */
  admit(value: unknown, options: { prepaid?: boolean } = {}): void {
    if (value === null || typeof value !== 'object') return;
    const known = rememberedSize(value);
    if (known !== undefined && known !== CHANGING) return;
    if (Array.isArray(value)) {
      if (value.length > MAX_ARRAY_LENGTH) {
        throw new BudgetExceeded(
          'size',
          `built a sequence of ${value.length} items (at most ${MAX_ARRAY_LENGTH})`,
        );
      }
    } else if (sourceOf(value) !== undefined) {
      return;
    }
    this.#changing = false;
    this.#measure(value, 0, options.prepaid ?? false);
  }

  /** The estimated JSON size of a value (views included), checked against MAX_VALUE_SIZE. */
  sizeOf(value: unknown): number {
    this.#changing = false;
    return this.#measure(value, 0, false);
  }

  /** A string a built-in returned: bounded in length and charged, unless it is one of the arguments. */
  admitString(value: string, args: readonly unknown[]): void {
    if (value.length > MAX_STRING_LENGTH) {
      throw new BudgetExceeded(
        'size',
        `built a string of ${value.length} characters (at most ${MAX_STRING_LENGTH})`,
      );
    }
    if (value.length > 0 && !args.includes(value)) this.charge(COST.string + value.length);
  }

  #descend(): Promise<void> | undefined {
    if (++this.#depth > this.#limits.maxDepth) {
      throw new BudgetExceeded(
        'depth',
        `went deeper than ${this.#limits.maxDepth} nested evaluations (runaway recursion?)`,
      );
    }
    return this.tick();
  }

  #account(node: AstNode, result: unknown): void {
    if (node.type === 'lambda' || node.type === 'partial') this.charge(COST.closure);
    switch (typeof result) {
      case 'string':
        if (result.length > MAX_STRING_LENGTH) {
          throw new BudgetExceeded(
            'size',
            `built a string of ${result.length} characters (at most ${MAX_STRING_LENGTH})`,
          );
        }
        if (node.type === 'binary' && node.value === '&') this.charge(COST.concat);
        return;
      case 'object':
        this.admit(result);
        return;
      default:
        return;
    }
  }

  #sortInput(sort: AstNode, create: boolean): Array<{ items: number; charged: boolean }> {
    let inputs = this.#sortInputs.get(sort);
    if (inputs === undefined) {
      inputs = [];
      if (create) this.#sortInputs.set(sort, inputs);
    }
    return inputs;
  }

  /** Charges an order-by step once, as it starts comparing: jsonata's merge sort holds about n² bytes. */
  #startSort(sort: AstNode): void {
    const input = this.#sortInput(sort, false).at(-1);
    if (input === undefined || input.charged) return;
    input.charged = true;
    this.charge(
      input.items * input.items,
      `ordering ${input.items} items with ^(...) holds about ${megabytes(input.items * input.items)} ` +
        'while it sorts; $sort(items, function($a, $b){ ... }) does not',
    );
  }

  /** Refuses a range over MAX_ARRAY_LENGTH once both ends are known, before jsonata allocates it. */
  #rangeOperand(range: AstNode, side: 'lhs' | 'rhs', value: unknown): void {
    const starts = this.#rangeStarts.get(range) ?? [];
    if (side === 'lhs') {
      starts.push(value);
      this.#rangeStarts.set(range, starts);
      return;
    }
    const start = single(starts.pop());
    const end = single(value);
    if (typeof start === 'number' && typeof end === 'number' && end - start + 1 > MAX_ARRAY_LENGTH) {
      throw new BudgetExceeded(
        'size',
        `asked for a range of ${end - start + 1} items (at most ${MAX_ARRAY_LENGTH})`,
      );
    }
  }

  /**
   * The estimated JSON size of `value`; sets `measuredHeight` to its nesting. Charges the arrays and
   * objects not seen before, and remembers what it measured on them. `depth` is how deep this call
   * is in the value being measured (remembered parts are not walked again).
   */
  #measure(input: unknown, depth: number, prepaid: boolean): number {
    measuredHeight = 0;
    const scalar = scalarSize(input, 1);
    if (scalar !== undefined) return scalar;
    const value = input as object;
    const known = rememberedSize(value);
    if (known !== undefined && known !== CHANGING) return unpack(known);
    const isArray = Array.isArray(value);
    if (!isArray) {
      // Arrays are never views (a view copies them).
      const source = sourceOf(value);
      if (source !== undefined) return sourceSize(source, depth);
      if (isJsonataFunction(value)) return 1;
    }
    if (depth > MAX_NESTING) throw tooDeep();
    const charge = !prepaid && known === undefined;
    const outerChanging = this.#changing;
    this.#changing = known === CHANGING;
    let total = 2;
    let height = 0;
    if (isArray) {
      if (charge) this.charge(COST.array + COST.slot * value.length);
      for (let index = 0; index < value.length && total <= MAX_VALUE_SIZE; index++) {
        const item: unknown = value[index];
        if (typeof item === 'number') total += 9;
        else if (typeof item === 'string') total += item.length + 3;
        else {
          total += 1 + this.#measure(item, depth + 1, prepaid);
          height = Math.max(height, measuredHeight);
        }
      }
    } else {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      if (charge) this.charge(COST.object + COST.key * keys.length);
      for (let index = 0; index < keys.length && total <= MAX_VALUE_SIZE; index++) {
        const key = keys[index]!;
        total += key.length + 4 + this.#measure(record[key], depth + 1, prepaid);
        height = Math.max(height, measuredHeight);
      }
    }
    if (total > MAX_VALUE_SIZE) throw tooLarge(total);
    if (++height > MAX_NESTING) throw tooDeep();
    if (known === undefined) rememberSize(value, this.#changing ? CHANGING : pack(total, height));
    this.#changing ||= outerChanging;
    measuredHeight = height;
    return total;
  }
}

/** The nesting of the value last measured (0 for a string or number): a second result of the measuring functions. */
let measuredHeight = 0;
/** Size and nesting are remembered as one number: nesting stays below NESTING_RANGE. */
const NESTING_RANGE = 2048;

function pack(size: number, height: number): number {
  return size * NESTING_RANGE + height;
}

/** The size remembered in `packed`; sets `measuredHeight` to the nesting remembered with it. */
function unpack(packed: number): number {
  measuredHeight = packed % NESTING_RANGE;
  return Math.floor(packed / NESTING_RANGE);
}

/** The JSON size of a scalar (null included); undefined for an object or array; `other` for anything else. */
function scalarSize(value: unknown, other: number): number | undefined {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return 8;
    case 'boolean':
      return 5;
    case 'object':
      return value === null ? 4 : undefined;
    default:
      return other;
  }
}

/** The size of host data behind a view: JSON values only, as views show them. Remembered per object. */
function sourceSize(input: unknown, depth: number): number {
  measuredHeight = 0;
  const scalar = scalarSize(input, 0);
  if (scalar !== undefined) return scalar;
  const value = input as object;
  const known = sourceSizes.get(value);
  if (known !== undefined) return unpack(known);
  if (depth > MAX_NESTING) throw tooDeep();
  let total = 2;
  let height = 0;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length && total <= MAX_VALUE_SIZE; index++) {
      total += 1 + sourceSize(value[index], depth + 1);
      height = Math.max(height, measuredHeight);
    }
  } else {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return sourceSize(toJSON.call(value), depth + 1);
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (total > MAX_VALUE_SIZE) break;
      total += key.length + 4 + sourceSize(record[key], depth + 1);
      height = Math.max(height, measuredHeight);
    }
  }
  if (total > MAX_VALUE_SIZE) throw tooLarge(total);
  if (++height > MAX_NESTING) throw tooDeep();
  if (total >= SOURCE_REMEMBERED_FROM) sourceSizes.set(value, pack(total, height));
  measuredHeight = height;
  return total;
}

/**
 * The estimated JSON size of plain data (a rendered answer), shared parts counted each time, as
 * the size limit counts it; BudgetExceeded past MAX_VALUE_SIZE or MAX_NESTING.
 */
export function dataSize(value: unknown): number {
  return sourceSize(value, 0);
}

function tooLarge(size: number): BudgetExceeded {
  return new BudgetExceeded(
    'size',
    `built a value of more than ${size} characters as JSON, shared parts counted each time ` +
      `(at most ${MAX_VALUE_SIZE})`,
  );
}

function tooDeep(): BudgetExceeded {
  return new BudgetExceeded('depth', `built a value nested more than ${MAX_NESTING} levels deep`);
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MB`;
}

/** A number that jsonata may still hold as a sequence of one. */
function single(value: unknown): unknown {
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

/** A transform may update only its own `$clone` copy (and views, which refuse every write). */
function checkTransformMatches(matches: unknown): void {
  for (const match of Array.isArray(matches) ? matches : [matches]) {
    if (match === null || typeof match !== 'object' || rememberedSize(match) === CHANGING) continue;
    if (sourceOf(match) !== undefined) continue;
    throw new TransformRefused();
  }
}

/** A transform whose pattern selected a value outside the copy it makes: that would change the value in place. */
export class TransformRefused {
  readonly message =
    'uses a transform whose pattern selects values outside the copy it makes; select parts of the ' +
    'input of the transform (`$x ~> | a.b | {...} |`)';
}

function isJsonataFunction(value: object): boolean {
  const record = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
  return record._jsonata_lambda === true || record._jsonata_function === true;
}

/** Records the children that jsonata evaluates concurrently (array items and group values) and range operands. */
function mark(node: AstNode): void {
  if (marked.has(node)) return;
  marked.add(node);
  if (node.type === 'unary' && node.value === '[') {
    for (const item of node.expressions ?? []) fanOutParent.set(item, node);
  } else if (node.type === 'unary' && node.value === '{') {
    for (const [, value] of node.lhs as [AstNode, AstNode][]) fanOutParent.set(value, node);
  } else if (node.type === 'transform') {
    transformPatterns.add((node as unknown as { pattern: AstNode }).pattern);
  } else if (node.type === 'binary' && node.value === '..') {
    const { lhs, rhs } = node as unknown as { lhs: AstNode; rhs: AstNode };
    rangeOperand.set(lhs, { range: node, side: 'lhs' });
    rangeOperand.set(rhs, { range: node, side: 'rhs' });
  }
  if (node.group !== undefined) {
    for (const [, value] of node.group.lhs) fanOutParent.set(value, node);
  }
  if (node.type === 'path') {
    const steps = (node as unknown as { steps: Array<AstNode & { terms?: Array<{ expression: AstNode }> }> })
      .steps;
    const sorts: AstNode[] = [];
    for (const [index, step] of steps.entries()) {
      if (step.type !== 'sort' || index === 0) continue;
      sorts.push(step);
      sortFedBy.set(steps[index - 1]!, step);
      for (const term of step.terms ?? []) sortOfTerm.set(term.expression, step);
    }
    if (sorts.length > 0) sortsOfPath.set(node, sorts);
  }
}

// ---------------------------------------------------------------------------------------------
// Guarded built-in functions

type Implementation = (this: unknown, ...args: unknown[]) => unknown;

/** A jsonata built-in function as `$name` evaluates to. */
interface BuiltinFunction {
  _jsonata_function: true;
  implementation: Implementation;
  signature?: unknown;
}

/** What jsonata passes as `this` to a built-in: the calling environment. */
interface Focus {
  environment?: {
    lookup(name: string | symbol): unknown;
    base?: { timestamp?: Date };
  };
  createSequence?: () => unknown[];
}

/** Runs one built-in call within `budget`; `original` is jsonata's implementation. */
type Guard = (this: Focus, budget: Budget, args: unknown[], original: Implementation) => unknown;

/** The names of jsonata 2.x's built-in functions. */
// biome-ignore format: a list of names
const BUILTIN_NAMES = [
  'sum', 'count', 'max', 'min', 'average', 'string', 'substring', 'substringBefore', 'substringAfter',
  'lowercase', 'uppercase', 'length', 'trim', 'pad', 'match', 'contains', 'replace', 'split', 'join',
  'formatNumber', 'formatBase', 'formatInteger', 'parseInteger', 'number', 'floor', 'ceil', 'round',
  'abs', 'sqrt', 'power', 'random', 'boolean', 'not', 'map', 'zip', 'filter', 'single', 'reduce',
  'sift', 'keys', 'lookup', 'append', 'exists', 'spread', 'merge', 'reverse', 'each', 'error',
  'assert', 'type', 'sort', 'shuffle', 'distinct', 'base64encode', 'base64decode',
  'encodeUrlComponent', 'encodeUrl', 'decodeUrlComponent', 'decodeUrl', 'eval', 'toMillis',
  'fromMillis', 'clone', 'now',
] as const;

let guardedBuiltins: Promise<Map<string, BuiltinFunction>> | undefined;

/**
 * The guarded built-ins, made once and shared by every instance (as jsonata shares its own). They
 * are made from jsonata's own, reachable only from expressions, so fetched by evaluating them once.
 */
function sharedGuardedBuiltins(): Promise<Map<string, BuiltinFunction>> {
  guardedBuiltins ??= (async () => {
    const originals = new Map<string, BuiltinFunction>();
    const expression = `{${BUILTIN_NAMES.map((name) => `"${name}": $${name}`).join(', ')}}`;
    const values = (await jsonata(expression).evaluate({})) as Record<string, unknown>;
    for (const name of BUILTIN_NAMES) {
      const value = values[name] as BuiltinFunction | undefined;
      if (value?._jsonata_function === true) originals.set(name, value);
    }
    const guardedOnes = new Map<string, BuiltinFunction>();
    for (const [name, original] of originals) guardedOnes.set(name, guarded(name, original, originals));
    return guardedOnes;
  })();
  return guardedBuiltins;
}

const guardedInstances = new WeakSet<JsonataInstance>();

/** Whether `instance` already has the guarded built-ins (then `guardBuiltins` need not be awaited). */
export function hasGuardedBuiltins(instance: JsonataInstance): boolean {
  return guardedInstances.has(instance);
}

/** Replaces every built-in function of `instance` with one that runs within the budget of the evaluation calling it. */
export async function guardBuiltins(instance: JsonataInstance): Promise<void> {
  if (guardedInstances.has(instance)) return;
  for (const [name, builtin] of await sharedGuardedBuiltins()) instance.assign(name, builtin);
  guardedInstances.add(instance);
}

function guarded(
  name: string,
  original: BuiltinFunction,
  originals: Map<string, BuiltinFunction>,
): BuiltinFunction {
  const guard = GUARDS[name] ?? (name === 'now' ? nowGuard(originals.get('fromMillis')) : undefined);
  const inner = original.implementation;
  const implementation = function (this: unknown, ...args: unknown[]): unknown {
    const budget = budgetOf(this);
    if (budget === undefined) {
      // Only jsonata's own call paths pass the calling environment; refuse anything else.
      throw { code: 'T1006', stack: new Error().stack };
    }
    const call = (): unknown => {
      const result = guard ? guard.call(this as Focus, budget, args, inner) : inner.apply(this, args);
      return result instanceof Promise
        ? result.then((value) => settle(budget, value, args))
        : settle(budget, result, args);
    };
    const pause = budget.tick(true);
    return pause === undefined ? call() : pause.then(call);
  };
  // jsonata reads a built-in's parameters from its source text (partial application, `$map`'s
  // arity): the wrapper shows the original's.
  Object.defineProperty(implementation, 'length', { value: inner.length });
  Object.defineProperty(implementation, 'toString', { value: () => inner.toString() });
  return { ...original, implementation };
}

function budgetOf(focus: unknown): Budget | undefined {
  const environment = (focus as Focus | null | undefined)?.environment;
  const found = typeof environment?.lookup === 'function' ? environment.lookup(BUDGET) : undefined;
  return found instanceof Budget ? found : undefined;
}

/** Checks and charges what a built-in returned. */
function settle(budget: Budget, result: unknown, args: readonly unknown[]): unknown {
  if (typeof result === 'string') budget.admitString(result, args);
  else if (result !== null && typeof result === 'object' && !args.includes(result)) budget.admit(result);
  return result;
}

const GUARDS: Record<string, Guard> = {
  pad(_budget, args, original) {
    const [, width, char] = args as [unknown, number, string | undefined];
    checkPad(width, char);
    return original.apply(this, args);
  },

  join(_budget, args, original) {
    const [strings, separator] = args;
    if (Array.isArray(strings)) {
      let total = typeof separator === 'string' ? separator.length * Math.max(0, strings.length - 1) : 0;
      for (const item of strings) total += typeof item === 'string' ? item.length : 0;
      if (total > MAX_STRING_LENGTH) {
        throw new BudgetExceeded(
          'size',
          `asked $join for ${total} characters (at most ${MAX_STRING_LENGTH})`,
        );
      }
    }
    return original.apply(this, args);
  },

  string(budget, args, original) {
    const [value, prettify] = args;
    if (value !== null && typeof value === 'object' && !isJsonataFunction(value)) {
      const estimate = budget.sizeOf(value) * (prettify === true ? 2 : 1);
      if (estimate > MAX_STRING_LENGTH) {
        throw new BudgetExceeded(
          'size',
          `asked $string for about ${estimate} characters (at most ${MAX_STRING_LENGTH})`,
        );
      }
    }
    return original.apply(this, args);
  },

  clone(budget, args, original) {
    budget.sizeOf(args[0]);
    const result = original.apply(this, args);
    // A transform updates the copy in place after this: its sizes are measured anew each time.
    markChanging(result);
    return result;
  },

  eval(budget, args, original) {
    const [source] = args;
    if (typeof source === 'string') {
      if (source.length > MAX_EVAL_LENGTH) {
        throw new BudgetExceeded(
          'size',
          `passed $eval an expression of ${source.length} characters (at most ${MAX_EVAL_LENGTH})`,
        );
      }
      budget.charge(COST.parsedChar * source.length);
    }
    return Promise.resolve(original.apply(this, args)).catch((error: unknown) => {
      throw flattenEvalError(error);
    });
  },

  replace(budget, args, original) {
    const [text, pattern, replacement, limit] = args;
    if (typeof text !== 'string') return original.apply(this, args);
    if (typeof pattern === 'function') {
      return original.apply(this, [
        text,
        countedMatcher(budget, pattern, COST.replaceMatch),
        replacement,
        limit,
      ]);
    }
    if (
      typeof pattern === 'string' &&
      pattern !== '' &&
      typeof replacement === 'string' &&
      (limit === undefined || (typeof limit === 'number' && limit >= 0))
    ) {
      return replaceText(budget, text, pattern, replacement, limit as number | undefined);
    }
    return original.apply(this, args);
  },

  split(budget, args, original) {
    const [text, separator, limit] = args;
    if (typeof text !== 'string') return original.apply(this, args);
    if (typeof separator === 'function') {
      const result = original.apply(this, [text, countedMatcher(budget, separator, COST.splitMatch), limit]);
      return Promise.resolve(result).then((pieces) => {
        budget.charge(text.length);
        return pieces;
      });
    }
    if (typeof separator === 'string') {
      let pieces = separator === '' ? text.length : occurrences(text, separator, MAX_ARRAY_LENGTH) + 1;
      if (typeof limit === 'number' && limit >= 0) pieces = Math.min(pieces, limit);
      if (pieces > MAX_ARRAY_LENGTH) {
        throw new BudgetExceeded(
          'size',
          `asked $split for more than ${MAX_ARRAY_LENGTH} pieces (at most ${MAX_ARRAY_LENGTH})`,
        );
      }
      budget.charge(COST.string * pieces + text.length);
    }
    return original.apply(this, args);
  },

  match(budget, args, original) {
    const [text, pattern, limit] = args;
    if (typeof text !== 'string' || typeof pattern !== 'function') return original.apply(this, args);
    const result = original.apply(this, [text, countedMatcher(budget, pattern, COST.match), limit]);
    // Each match was charged as it was found.
    return Promise.resolve(result).then((matches) => {
      budget.admit(matches, { prepaid: true });
      return matches;
    });
  },

  contains(budget, args, original) {
    const [text, pattern] = args;
    if (typeof text !== 'string' || typeof pattern !== 'function') return original.apply(this, args);
    return original.apply(this, [text, countedMatcher(budget, pattern, 0)]);
  },

  sort(_budget, args, original) {
    const [items, comparator] = args;
    if (!Array.isArray(items) || items.length <= 1) return original.apply(this, args);
    if (comparator === undefined) {
      // jsonata's merge sort awaits every comparison of its default comparator and copies the rest
      // of a run at each step (quadratic): a million numbers exhaust the heap. Same order, natively.
      const numbers = items.every((item) => typeof item === 'number' && Number.isFinite(item));
      if (!numbers && !items.every((item) => typeof item === 'string')) return original.apply(this, args);
      return [...(items as Array<number | string>)].sort((a, b) => (a > b ? 1 : a < b ? -1 : 0));
    }
    if (typeof comparator !== 'function') return original.apply(this, args);
    return mergeSort(items, comparator as (a: unknown, b: unknown) => unknown);
  },

  distinct(budget, args, original) {
    const [items] = args;
    if (!Array.isArray(items) || items.length < DISTINCT_NATIVE_BELOW) return original.apply(this, args);
    budget.sizeOf(items);
    const seen = new Set<string>();
    const kept: unknown[] =
      (items as { sequence?: boolean }).sequence === true && this.createSequence ? this.createSequence() : [];
    for (const item of items) {
      const key = canonical(item);
      if (key === undefined) {
        throw new BudgetExceeded('size', `asked $distinct to compare ${items.length} functions`);
      }
      if (seen.has(key)) continue;
      seen.add(key);
      kept.push(item);
    }
    budget.charge(seen.size * COST.string);
    return kept;
  },

  fromMillis(_budget, args, original) {
    checkPicture(args[1]);
    return original.apply(this, args);
  },

  toMillis(_budget, args, original) {
    checkPicture(args[1]);
    return original.apply(this, args);
  },

  formatNumber(_budget, args, original) {
    checkPicture(args[1]);
    return original.apply(this, args);
  },

  formatInteger(_budget, args, original) {
    checkPicture(args[1]);
    return original.apply(this, args);
  },

  parseInteger(_budget, args, original) {
    checkPicture(args[1]);
    return original.apply(this, args);
  },
};

/** `$now` is bound per jsonata instance to the time of its evaluation: rebuilt from `$fromMillis` and that time. */
function nowGuard(fromMillis: BuiltinFunction | undefined): Guard | undefined {
  if (fromMillis === undefined) return undefined;
  return function (_budget, args) {
    const [picture, timezone] = args;
    checkPicture(picture);
    const timestamp = this.environment?.base?.timestamp;
    const millis = timestamp instanceof Date ? timestamp.getTime() : Date.now();
    return fromMillis.implementation.call(this, millis, picture, timezone);
  };
}

/** A picture is interpreted in one call, and a date picture may ask for widths (`[Y,300000000]`) that jsonata pads. */
function checkPicture(picture: unknown): void {
  if (typeof picture !== 'string') return;
  if (picture.length > MAX_PICTURE_LENGTH) {
    throw new BudgetExceeded(
      'size',
      `passed a picture of ${picture.length} characters (at most ${MAX_PICTURE_LENGTH})`,
    );
  }
  for (const digits of picture.match(/\d{7,}/g) ?? []) {
    if (Number(digits) > MAX_PAD_LENGTH) {
      throw new BudgetExceeded(
        'size',
        `asked for a date part ${digits} characters wide (at most ${MAX_PAD_LENGTH})`,
      );
    }
  }
}

function checkPad(width: unknown, char: unknown): void {
  if (typeof width !== 'number') return;
  const requested = Math.abs(Math.trunc(width)) * Math.max(1, typeof char === 'string' ? char.length : 1);
  if (requested > MAX_PAD_LENGTH) {
    throw new BudgetExceeded('size', `asked $pad for ${requested} characters (at most ${MAX_PAD_LENGTH})`);
  }
}

/** The number of non-overlapping occurrences of `pattern` in `text`, counting no further than `atMost`. */
function occurrences(text: string, pattern: string, atMost: number): number {
  let count = 0;
  let index = text.indexOf(pattern);
  while (index !== -1 && count < atMost) {
    count++;
    index = text.indexOf(pattern, index + pattern.length);
  }
  return count;
}

/** How many replacements `$replace` makes between two ticks of the clock. */
const REPLACE_CHUNK = 65_536;

/**
 * `$replace` with a string pattern and a string replacement, as jsonata does it (left to right, at
 * most `limit` times, the replacement taken literally) but in chunks, with the clock ticking in
 * between: jsonata appends to its result twice per occurrence, and ten million single-character
 * replacements held 600 MB of rope (V8's own replaceAll ran out of memory too).
 */
async function replaceText(
  budget: Budget,
  text: string,
  pattern: string,
  replacement: string,
  limit: number | undefined,
): Promise<string> {
  const growth = replacement.length - pattern.length;
  const most = limit === undefined ? Number.POSITIVE_INFINITY : limit;
  const chunks: string[] = [];
  let parts: string[] = [];
  let position = 0;
  let done = 0;
  for (
    let index = text.indexOf(pattern);
    index !== -1 && done < most;
    index = text.indexOf(pattern, position)
  ) {
    parts.push(text.slice(position, index));
    position = index + pattern.length;
    done++;
    if (growth > 0 && text.length + done * growth > MAX_STRING_LENGTH) {
      throw new BudgetExceeded(
        'size',
        `asked $replace for more than ${MAX_STRING_LENGTH} characters (at most ${MAX_STRING_LENGTH})`,
      );
    }
    if (parts.length === REPLACE_CHUNK) {
      chunks.push(parts.join(replacement) + replacement);
      parts = [];
      await budget.tick(true);
    }
  }
  if (done === 0) return text;
  parts.push(text.slice(position));
  chunks.push(parts.join(replacement));
  return chunks.join('');
}

/** A match as jsonata's regex closures return it: `next` gives the following one. */
interface Match {
  next?: unknown;
}

/**
 * Wraps the matcher a regex literal evaluates to so that each match ticks the clock (and yields:
 * jsonata awaits what a matcher returns) and is charged: `$match` over ten million characters kept
 * ten million match objects, and `$replace` ran for seconds without a hook.
 */
function countedMatcher(budget: Budget, matcher: unknown, bytes: number): (text: string) => unknown {
  const follow = (result: unknown): unknown => {
    if (result instanceof Promise) return result.then(follow);
    const match = result as Match | undefined;
    if (match !== null && typeof match === 'object' && match.next !== undefined) {
      const next = match.next as { apply(self: unknown, args: unknown[]): unknown };
      match.next = () => {
        budget.charge(bytes);
        const pause = budget.tick();
        return pause === undefined
          ? follow(next.apply(undefined, []))
          : pause.then(() => follow(next.apply(undefined, [])));
      };
    }
    return result;
  };
  const apply = (matcher as { apply(self: unknown, args: unknown[]): unknown }).apply.bind(matcher);
  return function (this: unknown, text: string) {
    budget.charge(bytes);
    return follow(apply(this, [text]));
  };
}

/**
 * jsonata's merge sort, with the same splits and comparisons (so the same order, even for a
 * comparator that is not consistent), on indexes: jsonata's copies the rest of a run at every step
 * and holds every copy until the merge ends.
 */
async function mergeSort(
  items: readonly unknown[],
  comparator: (a: unknown, b: unknown) => unknown,
): Promise<unknown[]> {
  const sort = async (run: unknown[]): Promise<unknown[]> => {
    if (run.length <= 1) return run;
    const middle = Math.floor(run.length / 2);
    const left = await sort(run.slice(0, middle));
    const right = await sort(run.slice(middle));
    const merged: unknown[] = [];
    let l = 0;
    let r = 0;
    while (l < left.length && r < right.length) {
      if (await comparator(left[l], right[r])) merged.push(right[r++]);
      else merged.push(left[l++]);
    }
    while (l < left.length) merged.push(left[l++]);
    while (r < right.length) merged.push(right[r++]);
    return merged;
  };
  return sort([...items]);
}

/**
 * A key equal for values jsonata's deep equality finds equal (same keys in any order, same items in
 * the same order); undefined for a function, which only jsonata's own `$distinct` can compare.
 */
function canonical(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'u';
    case 'object': {
      if (value === null) return 'null';
      if (isJsonataFunction(value)) return undefined;
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (const item of value) {
          const key = canonical(item);
          if (key === undefined) return undefined;
          items.push(key);
        }
        return `[${items.join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const entries: string[] = [];
      for (const key of Object.getOwnPropertyNames(record).sort()) {
        const item = canonical(record[key]);
        if (item === undefined) return undefined;
        entries.push(`${JSON.stringify(key)}:${item}`);
      }
      return `{${entries.join(',')}}`;
    }
    default:
      return undefined;
  }
}

/**
 * What a guarded `$eval` passes up. jsonata wraps the error of the evaluated expression in D3121,
 * whose message quotes the inner message with JSON.stringify: through nested `$eval`s the messages
 * doubled at every level. A spent limit goes up as it is (the next level wraps it once more, and
 * the guard there unwraps it again); a wrapper of a wrapper is replaced by the inner one; long
 * quoted values are cut short.
 */
function flattenEvalError(error: unknown): unknown {
  const limit = limitBehind(error);
  if (limit !== undefined) return limit;
  if (error === null || typeof error !== 'object') return error;
  const wrapper = error as { code?: unknown; error?: { code?: unknown }; value?: unknown; message?: unknown };
  if (isEvalWrapper(wrapper) && isEvalWrapper(wrapper.error)) return wrapper.error;
  if (typeof wrapper.value === 'string' && wrapper.value.length > 2000) {
    wrapper.value = `${wrapper.value.slice(0, 2000)}...`;
    if (typeof wrapper.message === 'string') wrapper.message = wrapper.message.slice(0, 2200);
  }
  return error;
}

function isEvalWrapper(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return code === 'D3120' || code === 'D3121';
}

/** jsonata's own `$pad`: its built-ins are reachable only from expressions, so it is fetched by evaluating `$pad` once. */
let builtinPad: Promise<BuiltinFunction> | undefined;

/**
 * `$pad` with its width checked first, for instances that do not have the guarded built-ins
 * (`guardBuiltins` replaces it with one that also runs within the evaluation's budget).
 */
export async function boundedPad(
  this: unknown,
  text: unknown,
  width: number,
  char?: string,
): Promise<unknown> {
  checkPad(width, char);
  builtinPad ??= jsonata('$pad').evaluate({}) as Promise<BuiltinFunction>;
  return (await builtinPad).implementation.call(this, text, width, char);
}
