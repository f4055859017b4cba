/**
 * Most placeholders are a path to a value, perhaps with a little arithmetic (`steps.a.output.n + 1`).
 * This compiles that subset of JSONata's syntax tree to a small tree of data that `answer`
 * evaluates in well under a microsecond. It answers only when its result is certainly JSONata's own; for anything else (an
 * array on the way, an object result, mixed types, an error) it answers SLOW and JSONata decides.
 */
import type { AstNode } from './compile.js';
import { lazyEntries } from './lazy-record.js';

export const SLOW: unique symbol = Symbol('slow');

type Binary = (left: unknown, right: unknown) => unknown;

const isNumber = (x: unknown): x is number => typeof x === 'number';

const arithmetic =
  (op: (a: number, b: number) => number): Binary =>
  (left, right) => {
    if (left === undefined || right === undefined) {
      // JSONata: arithmetic with an undefined operand is undefined, unless the other is not a number.
      return (left === undefined || isNumber(left)) && (right === undefined || isNumber(right))
        ? undefined
        : SLOW;
    }
    if (!isNumber(left) || !isNumber(right)) return SLOW;
    const result = op(left, right);
    return Number.isFinite(result) ? result : SLOW;
  };

const ordering =
  (op: (a: number | string, b: number | string) => boolean): Binary =>
  (left, right) => {
    if (left === undefined || right === undefined) {
      return (left === undefined || isNumber(left) || typeof left === 'string') &&
        (right === undefined || isNumber(right) || typeof right === 'string')
        ? false
        : SLOW;
    }
    if ((isNumber(left) && isNumber(right)) || (typeof left === 'string' && typeof right === 'string')) {
      return op(left, right);
    }
    return SLOW;
  };

const equality =
  (negate: boolean): Binary =>
  (left, right) => {
    if (left === undefined || right === undefined) return false;
    const primitive = (x: unknown) => x === null || ['string', 'number', 'boolean'].includes(typeof x);
    if (!primitive(left) || !primitive(right)) return SLOW;
    return negate ? left !== right : left === right;
  };

const BINARY: Record<string, Binary> = {
  '+': arithmetic((a, b) => a + b),
  '-': arithmetic((a, b) => a - b),
  '*': arithmetic((a, b) => a * b),
  '/': arithmetic((a, b) => a / b),
  '%': arithmetic((a, b) => a % b),
  '<': ordering((a, b) => a < b),
  '<=': ordering((a, b) => a <= b),
  '>': ordering((a, b) => a > b),
  '>=': ordering((a, b) => a >= b),
  '=': equality(false),
  '!=': equality(true),
  '&': (left, right) => {
    // Only text and nothing: JSONata's $string of numbers and objects has its own formatting.
    if (
      (left !== undefined && typeof left !== 'string') ||
      (right !== undefined && typeof right !== 'string')
    ) {
      return SLOW;
    }
    return (left ?? '') + (right ?? '');
  },
};

const BARE_KEYS = new Set(['type', 'value', 'position']);
const isBare = (node: AstNode) => Object.keys(node).every((key) => BARE_KEYS.has(key));

const isOwnEnumerable = Object.prototype.propertyIsEnumerable;

const LITERAL = 0;
const PATH = 1;
const BINARY_OPERATION = 2;

/**
 * An expression of the fast subset, as data rather than a closure: one `answer` function serves
 * every expression, so it is optimised once for all of them, where a closure per expression would
 * each start cold (a workflow of 1,000 steps has 1,000 of them, each evaluated once per run).
 * Every node has the same fields, so `answer` sees one object shape.
 */
export class FastExpression {
  private constructor(
    readonly kind: typeof LITERAL | typeof PATH | typeof BINARY_OPERATION,
    readonly value: unknown,
    readonly names: readonly string[],
    readonly operator: Binary | undefined,
    readonly lhs: FastExpression | undefined,
    readonly rhs: FastExpression | undefined,
  ) {}

  static literal(value: unknown): FastExpression {
    return new FastExpression(LITERAL, value, [], undefined, undefined, undefined);
  }

  static path(names: readonly string[]): FastExpression {
    return new FastExpression(PATH, undefined, names, undefined, undefined, undefined);
  }

  static binary(operator: Binary, lhs: FastExpression, rhs: FastExpression): FastExpression {
    return new FastExpression(BINARY_OPERATION, undefined, [], operator, lhs, rhs);
  }
}

/** The fast form of an expression of the fast subset, or undefined when JSONata must always evaluate it. */
export function fastPath(ast: AstNode): FastExpression | undefined {
  switch (ast.type) {
    case 'number':
    case 'string':
      return isBare(ast) ? FastExpression.literal(ast.value) : undefined;
    case 'path': {
      const steps = (ast as { steps?: AstNode[] }).steps;
      const keys = Object.keys(ast);
      if (!steps || keys.some((k) => k !== 'type' && k !== 'steps' && k !== 'position')) return undefined;
      if (!steps.every((s) => s.type === 'name' && typeof s.value === 'string' && isBare(s)))
        return undefined;
      return FastExpression.path(steps.map((s) => s.value as string));
    }
    case 'binary': {
      const operator = BINARY[ast.value as string];
      const { lhs, rhs } = ast as { lhs?: AstNode; rhs?: AstNode };
      if (
        !operator ||
        !lhs ||
        !rhs ||
        Array.isArray(lhs) ||
        Object.keys(ast).some((k) => !['type', 'value', 'position', 'lhs', 'rhs'].includes(k))
      ) {
        return undefined;
      }
      const left = fastPath(lhs);
      const right = fastPath(rhs);
      return left && right ? FastExpression.binary(operator, left, right) : undefined;
    }
    default:
      return undefined;
  }
}

/** Every path a fast expression reads, each from the root of the data (the fast subset has no other). */
export function pathsOf(expression: FastExpression): Array<readonly string[]> {
  switch (expression.kind) {
    case PATH:
      return [expression.names];
    case BINARY_OPERATION:
      return [...pathsOf(expression.lhs!), ...pathsOf(expression.rhs!)];
    default:
      return [];
  }
}

/** The value of a fast expression over data, or SLOW when JSONata must decide. */
export function answer(expression: FastExpression, data: unknown): unknown {
  switch (expression.kind) {
    case LITERAL:
      return expression.value;
    case PATH:
      return walk(data, expression.names);
    case BINARY_OPERATION: {
      const left = answer(expression.lhs!, data);
      if (left === SLOW) return SLOW;
      const right = answer(expression.rhs!, data);
      return right === SLOW ? SLOW : expression.operator!(left, right);
    }
  }
}

/**
 * Follows a path of names through objects to a primitive; SLOW on arrays, objects and oddities.
 * A name is read as the sandbox's views read it (sandbox.ts): own, enumerable properties only,
 * and a lazy record (the run's steps) through its entries rather than its Proxy.
 */
function walk(data: unknown, names: readonly string[]): unknown {
  let value = data;
  for (let index = 0; index < names.length; index++) {
    if (value === undefined || value === null) return value === null ? SLOW : undefined;
    if (typeof value !== 'object' || Array.isArray(value)) return SLOW;
    const name = names[index]!;
    const lazy = lazyEntries(value);
    if (lazy === undefined) {
      value = isOwnEnumerable.call(value, name) ? (value as Record<string, unknown>)[name] : undefined;
    } else if (index + 1 < names.length) {
      // An entry's field, read without making the entry (one object per placeholder less).
      index += 1;
      value = lazy.field(name, names[index]!);
    } else {
      value = lazy.entry(name);
    }
  }
  switch (typeof value) {
    case 'undefined':
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : SLOW;
    default:
      return SLOW; // objects, arrays and null: JSONata's copy and sequence rules apply
  }
}
