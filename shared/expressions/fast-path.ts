/**
 * Most placeholders are a path to a value, perhaps with a little arithmetic (`steps.a.output.n + 1`).
 * This compiles that subset of JSONata's syntax tree to a closure that answers in well under a
 * microsecond. It answers only when its result is certainly JSONata's own; for anything else (an
 * array on the way, an object result, mixed types, an error) it answers SLOW and JSONata decides.
 */
import type { AstNode } from './compile.js';

export const SLOW: unique symbol = Symbol('slow');
export type FastExpression = (data: unknown) => unknown;

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

/** The closure for an expression of the fast subset, or undefined when JSONata must always evaluate it. */
export function fastPath(ast: AstNode): FastExpression | undefined {
  switch (ast.type) {
    case 'number':
    case 'string': {
      if (!isBare(ast)) return undefined;
      const value = ast.value;
      return () => value;
    }
    case 'path': {
      const steps = (ast as { steps?: AstNode[] }).steps;
      const keys = Object.keys(ast);
      if (!steps || keys.some((k) => k !== 'type' && k !== 'steps' && k !== 'position')) return undefined;
      if (!steps.every((s) => s.type === 'name' && typeof s.value === 'string' && isBare(s)))
        return undefined;
      const names = steps.map((s) => s.value as string);
      return (data) => walk(data, names);
    }
    case 'binary': {
      const op = BINARY[ast.value as string];
      const { lhs, rhs } = ast as { lhs?: AstNode; rhs?: AstNode };
      if (
        !op ||
        !lhs ||
        !rhs ||
        Array.isArray(lhs) ||
        Object.keys(ast).some((k) => !['type', 'value', 'position', 'lhs', 'rhs'].includes(k))
      ) {
        return undefined;
      }
      const left = fastPath(lhs);
      const right = fastPath(rhs);
      if (!left || !right) return undefined;
      return (data) => {
        const l = left(data);
        if (l === SLOW) return SLOW;
        const r = right(data);
        return r === SLOW ? SLOW : op(l, r);
      };
    }
    default:
      return undefined;
  }
}

/** Follows a path of names through plain objects to a primitive; SLOW on arrays, objects and oddities. */
function walk(data: unknown, names: readonly string[]): unknown {
  let value = data;
  for (const name of names) {
    if (value === undefined || value === null) return value === null ? SLOW : undefined;
    if (typeof value !== 'object' || Array.isArray(value)) return SLOW;
    value = Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
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
