/**
 * Copies a workflow document into plain JSON data before it is validated, so that nothing later
 * meets a cycle, a `__proto__` key, a getter-laden object or nesting deep enough to exhaust the stack.
 */
import { MAX_NESTING_DEPTH } from './parse.js';
import type { DocumentPath, Problem } from './paths.js';

export interface PlainData {
  value: unknown;
  problems: Problem[];
  /** False when the data is not JSON at all: validating it further would only add noise. */
  usable: boolean;
}

export function toPlainData(input: unknown): PlainData {
  const problems: Problem[] = [];
  let usable = true;
  const ancestors = new Set<object>();

  const refuse = (path: DocumentPath, message: string): undefined => {
    problems.push({ path, message });
    usable = false;
    return undefined;
  };

  // Recursion is bounded by MAX_NESTING_DEPTH, so it cannot overflow the stack.
  const copy = (value: unknown, path: DocumentPath, depth: number): unknown => {
    if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') {
      return value;
    }
    if (typeof value === 'number') {
      return Number.isFinite(value) ? value : refuse(path, `${value} is not a JSON number`);
    }
    if (typeof value !== 'object') return refuse(path, `a ${typeof value} is not JSON data`);
    if (depth >= MAX_NESTING_DEPTH) {
      return refuse(path, `the document is nested more than ${MAX_NESTING_DEPTH} levels deep`);
    }
    if (ancestors.has(value)) return refuse(path, 'the value contains itself (a circular reference)');
    const prototype = Object.getPrototypeOf(value);
    if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
      const kind = typeof prototype?.constructor === 'function' ? prototype.constructor.name : 'object';
      return refuse(path, `a ${kind || 'object'} is not JSON data`);
    }
    ancestors.add(value);
    let result: unknown;
    if (Array.isArray(value)) {
      result = value.map((item, index) => copy(item, [...path, index], depth + 1));
    } else {
      const object: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        if (key === '__proto__') {
          problems.push({ path: [...path, key], message: "the key '__proto__' is not allowed" });
          continue;
        }
        const item = copy((value as Record<string, unknown>)[key], [...path, key], depth + 1);
        if (item !== undefined) object[key] = item;
      }
      result = object;
    }
    ancestors.delete(value);
    return result;
  };

  const value = copy(input, [], 0);
  return { value, problems, usable };
}
