/**
 * Parses JSONata expressions once: a bounded LRU of compiled expressions and what their syntax tree
 * tells us. Regex literals (`/…/i` in `$match`, `$replace`, `$split`, `$contains`) run on the
 * linear-time engine (shared/json-schema/linear-regexp.ts), not on V8's backtracking one, whose
 * fallback for runaway backtracking leaves out the `i` flag: one is refused when the expression is
 * compiled, with the reason, rather than when it runs.
 */
import jsonata from 'jsonata';
import { ExpressionError } from '../errors.js';
import { compileLinearRegExp, LinearRegexEngine } from '../json-schema/index.js';
import { boundedPad } from './budget.js';
import { type FastExpression, fastPath, pathsOf } from './fast-path.js';

/** A node of JSONata's syntax tree, as far as this module reads it. */
export interface AstNode {
  type: string;
  value?: unknown;
  expressions?: AstNode[];
  lhs?: AstNode | AstNode[] | [AstNode, AstNode][];
  group?: { lhs: [AstNode, AstNode][] };
}

/** A parsed jsonata instance; `assign` also takes the 2.x hook symbols, which the bundled typings leave out. */
export interface JsonataInstance {
  evaluate(input: unknown): Promise<unknown>;
  assign(name: string | symbol, value: unknown): void;
  registerFunction(
    name: string,
    implementation: (this: never, ...args: never[]) => unknown,
    signature: string,
  ): void;
  ast(): AstNode;
}

export interface CompiledExpression {
  readonly expression: string;
  /** The names read as `secrets.NAME`; empty when the expression does not read secrets. */
  readonly secretNames: readonly string[];
  /** The expression reads `secrets` other than by name (`secrets.*`, `$lookup(secrets, $n)`). */
  readonly readsSecretsByValue: boolean;
  /**
   * Parsed instances not evaluating right now. The time and depth hooks are assigned to an
   * instance for one evaluation, so two concurrent evaluations of one expression need two. An
   * instance is ~19 KB (JSONata's environment, closures and shapes for each parse), against
   * ~0.8 KB for the rest: an expression the fast path answers keeps none until JSONata is first
   * needed for it, so a 1,000-step workflow holds ~1 MB of compiled expressions, not ~19 MB.
   */
  readonly idle: JsonataInstance[];
  /**
   * The simple, common cases in a form answered without JSONata (see fast-path.ts), which answers
   * SLOW when JSONata must decide. An expression that names secrets gets the data with those secrets in it.
   */
  readonly fast: FastExpression | undefined;
  /**
   * The string and number literals written in an expression that reads secrets (none for others):
   * a value it renders that is one of them is in the workflow for anyone to read, not computed from
   * a secret.
   */
  readonly literals: ReadonlySet<string | number>;
}

const NO_LITERALS: ReadonlySet<string | number> = new Set();

/** Enough for every distinct expression of many workflows; an entry costs ~0.8 KB, ~19 KB with an instance. */
const CACHE_LIMIT = 1000;

/** Map iteration order is insertion order: the first key is the least recently used. */
const cache = new Map<string, CompiledExpression>();

/** How many compiled expressions are cached (for tests and metrics). */
export function expressionCacheSize(): number {
  return cache.size;
}

/** The compiled expression, from the cache or parsed now. Throws ExpressionError('ExpressionSyntaxError'). */
export function compile(expression: string): CompiledExpression {
  const cached = cache.get(expression);
  if (cached !== undefined) {
    cache.delete(expression);
    cache.set(expression, cached);
    return cached;
  }
  const instance = parse(expression);
  const ast = instance.ast();
  checkRegexLiterals(ast, expression);
  const secrets = secretReferences(ast);
  const fast = fastPath(ast);
  const compiled: CompiledExpression = {
    expression,
    ...secrets,
    idle: fast !== undefined && !readsSecrets(secrets) ? [] : [instance],
    fast,
    literals: readsSecrets(secrets) ? literalsOf(ast) : NO_LITERALS,
  };
  cache.set(expression, compiled);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return compiled;
}

/**
 * Whether a compiled expression reads secrets: a template then always evaluates it with JSONata,
 * never on the fast path (its secrets are known only inside a render).
 */
export function readsSecrets(references: {
  secretNames: readonly string[];
  readsSecretsByValue: boolean;
}): boolean {
  return references.secretNames.length > 0 || references.readsSecretsByValue;
}

/** A new jsonata instance for an expression known to parse, or an ExpressionError. */
export function parse(expression: string): JsonataInstance {
  if (expression.trim() === '') {
    throw new ExpressionError('ExpressionSyntaxError', 'The expression is empty', expression);
  }
  let instance: JsonataInstance;
  try {
    instance = jsonata(expression, {
      RegexEngine: LinearRegexEngine as unknown as RegExpConstructor,
    }) as unknown as JsonataInstance;
  } catch (error) {
    if (error instanceof RangeError) {
      throw new ExpressionError(
        'ExpressionLimit',
        `The expression ${quote(expression)} is nested too deeply to parse`,
        expression,
        { details: { limit: 'depth' } },
      );
    }
    const { code, position, message } = error as { code?: string; position?: number; message?: string };
    throw new ExpressionError(
      'ExpressionSyntaxError',
      `Syntax error in ${quote(expression)} at position ${position ?? 0}: ${message ?? String(error)}${code ? ` (${code})` : ''}`,
      expression,
      { details: { position: position ?? 0, ...(code ? { jsonata_code: code } : {}) } },
    );
  }
  instance.registerFunction('pad', boundedPad, '<s-ns?:s>');
  return instance;
}

/** undefined when the JSONata expression parses, else a clear message (with the position). Never throws. */
export function checkExpression(expression: string): string | undefined {
  try {
    compile(expression);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Whether the expression reads `secrets` (false for an expression that does not parse). */
export function referencesSecrets(expression: string): boolean {
  try {
    return readsSecrets(compile(expression));
  } catch {
    return false;
  }
}

/**
 * The step ids an expression reads as `steps.<id>`, for the validator to check. Only expressions
 * of the fast subset (paths from the root, literals, arithmetic and comparisons) are looked into:
 * there `steps` is certainly the run's steps, where inside a larger expression it may be a field of
 * whatever the path is at (`inputs.orders.(steps.count)`). None for an expression that does not parse.
 */
export function stepsRead(expression: string): string[] {
  let fast: FastExpression | undefined;
  try {
    fast = compile(expression).fast;
  } catch {
    return [];
  }
  if (fast === undefined) return [];
  const ids: string[] = [];
  for (const names of pathsOf(fast)) {
    if (names[0] === 'steps' && names[1] !== undefined && !ids.includes(names[1])) ids.push(names[1]);
  }
  return ids;
}

/** An expression as messages show it: in backticks, cut short when long. */
export function quote(expression: string): string {
  const flat = expression.replace(/\s+/g, ' ');
  return `\`${flat.length > 120 ? `${flat.slice(0, 117)}...` : flat}\``;
}

/**
 * Compiles every regex literal of the tree on the linear-time engine, so that a pattern it cannot
 * run (a backreference, a lookaround) is a syntax error of the expression, which the validator
 * reports. A regex built at run time (`$eval`) is refused when it runs.
 */
function checkRegexLiterals(ast: AstNode, expression: string): void {
  eachNode(ast, (record) => {
    if (record.type !== 'regex' || !(record.value instanceof RegExp)) return true;
    const { source, flags } = record.value;
    try {
      compileLinearRegExp(source, flags);
    } catch (error) {
      const position = typeof record.position === 'number' ? record.position : 0;
      throw new ExpressionError(
        'ExpressionSyntaxError',
        `Syntax error in ${quote(expression)} at position ${position}: ${(error as Error).message}`,
        expression,
        { details: { position } },
      );
    }
    return false;
  });
}

/** Calls `visit` on every node of the tree, depth first; a node whose visit answers false is not entered. */
function eachNode(ast: AstNode, visit: (record: Record<string, unknown>) => boolean): void {
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const child of node) walk(child);
      return;
    }
    const record = node as Record<string, unknown>;
    if (!visit(record)) return;
    for (const child of Object.values(record)) walk(child);
  };
  walk(ast);
}

/**
 * Finds every path that starts at `secrets` (or `$$.secrets`, `$.secrets`) anywhere in the tree.
 * Only the secrets named this way are fetched; reading `secrets` as a whole would need all of
 * them, so it is flagged and refused when the expression runs.
 */
function secretReferences(ast: AstNode): Pick<CompiledExpression, 'secretNames' | 'readsSecretsByValue'> {
  const names = new Set<string>();
  let byValue = false;
  eachNode(ast, (record) => {
    if (record.type === 'path' && Array.isArray(record.steps)) {
      const steps = record.steps as Array<Record<string, unknown>>;
      const first = isRootVariable(steps[0]) ? 1 : 0;
      const head = steps[first];
      if (head?.type === 'name' && head.value === 'secrets') {
        const next = steps[first + 1];
        if (isBareStep(head) && next?.type === 'name' && typeof next.value === 'string')
          names.add(next.value);
        else byValue = true;
      }
    }
    return true;
  });
  return { secretNames: [...names], readsSecretsByValue: byValue };
}

/** Every string and number literal of the tree. */
function literalsOf(ast: AstNode): ReadonlySet<string | number> {
  const found = new Set<string | number>();
  eachNode(ast, (record) => {
    if ((record.type === 'string' || record.type === 'number') && typeof record.value !== 'object') {
      found.add(record.value as string | number);
    }
    return true;
  });
  return found;
}

function isRootVariable(step: Record<string, unknown> | undefined): boolean {
  return step?.type === 'variable' && (step.value === '$' || step.value === '');
}

/** A step with no filter, sort, group or binding attached (`secrets` and not `secrets[0]`). */
function isBareStep(step: Record<string, unknown>): boolean {
  return Object.keys(step).every((key) => key === 'type' || key === 'value' || key === 'position');
}
