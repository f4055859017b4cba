/**
 * Templates compiled once. A nested JSON value with `{{ }}` placeholders (a step's config, a run's
 * output) becomes the list of its placeholders in document order, each with its parsed expression,
 * and a small tree of data (`Part`) from which the rendered value is assembled. Rendering then
 * parses nothing and looks nothing up: placeholders whose fast path answers (paths and a little
 * arithmetic, see fast-path.ts) are answered synchronously, and only the first one that needs
 * JSONata's evaluator or a secret makes the rest of the render asynchronous.
 *
 * A render means exactly what rendering the value placeholder by placeholder means: the same
 * order of evaluation, so the same first error; errors of a string that does not parse are raised
 * when the render reaches it, not when it is compiled; the same size limit on template text.
 */
import type { Awaitable } from '../awaitable.js';
import { ExpressionError } from '../errors.js';
import type { RunContext } from '../steps/types.js';
import { BudgetExceeded, dataSize, MAX_STRING_LENGTH, MAX_VALUE_SIZE } from './budget.js';
import { type CompiledExpression, compile, quote, readsSecrets } from './compile.js';
import { LIMIT_CODE } from './evaluate.js';
import { answer, type FastExpression, SLOW } from './fast-path.js';
import { isPlainObject, setOwn, templateText } from './json.js';
import type { RenderOptions } from './render-scope.js';
import { RenderScope } from './render-scope.js';
import { childPath, hasPlaceholder, parseTemplate } from './template.js';

const LITERAL = 0;
const ANSWER = 1;
const TEXT = 2;
const LIST = 3;
const RECORD = 4;

/**
 * How the rendered value (or a part of it) is put together from the answers of the placeholders:
 * data that one `build` function interprets, so that it is optimised once for every template (a
 * closure per part would start cold in each of a workflow's steps). One object shape for all.
 */
/** The pieces or parts of a part that has none: one array for all (a 1,000-step workflow has thousands of parts). */
const NONE: readonly never[] = Object.freeze([]);

class Part {
  private constructor(
    readonly kind: typeof LITERAL | typeof ANSWER | typeof TEXT | typeof LIST | typeof RECORD,
    /** LITERAL: the value; ANSWER: the index of the placeholder. */
    readonly value: unknown,
    /** TEXT: literal text and placeholder indexes, in order; RECORD: the keys. */
    readonly pieces: ReadonlyArray<string | number>,
    /** LIST: the items; RECORD: the value of each key. */
    readonly parts: readonly Part[],
  ) {}

  static literal(value: unknown): Part {
    return new Part(LITERAL, value, NONE, NONE);
  }

  static answer(index: number): Part {
    return new Part(ANSWER, index, NONE, NONE);
  }

  static text(pieces: ReadonlyArray<string | number>): Part {
    return new Part(TEXT, undefined, pieces, NONE);
  }

  static list(items: readonly Part[]): Part {
    return new Part(LIST, undefined, NONE, items);
  }

  static record(keys: readonly string[], values: readonly Part[]): Part {
    return new Part(RECORD, undefined, keys, values);
  }
}

function build(part: Part, answers: readonly unknown[]): unknown {
  switch (part.kind) {
    case LITERAL:
      return part.value;
    case ANSWER:
      return answers[part.value as number];
    case TEXT: {
      let out = '';
      for (const piece of part.pieces) out += typeof piece === 'string' ? piece : (answers[piece] as string);
      return out;
    }
    case LIST: {
      const items = part.parts;
      const out = new Array<unknown>(items.length);
      for (let index = 0; index < items.length; index++) out[index] = build(items[index]!, answers) ?? null;
      return out;
    }
    case RECORD: {
      const { pieces: keys, parts: values } = part;
      const out: Record<string, unknown> = {};
      for (let index = 0; index < keys.length; index++) {
        const rendered = build(values[index]!, answers);
        if (rendered !== undefined) setOwn(out, keys[index] as string, rendered);
      }
      return out;
    }
  }
}

/** Where a placeholder sits inside a template string with text around it, for the size limit. */
interface TextSlot {
  /** The whole template string, for the message. */
  template: string;
  /** The first placeholder of its string: the running length starts again. */
  first: boolean;
  /** Characters of literal text between the previous placeholder (or the start) and this one. */
  before: number;
  /** Characters of literal text after this placeholder when it is the last of its string, else -1. */
  after: number;
}

interface Placeholder {
  /** The path of the string that holds it (`body.to`), which prefixes its errors. */
  path: string;
  /** Undefined when the string or the expression does not parse: `error` says why. */
  expression: CompiledExpression | undefined;
  error: ExpressionError | undefined;
  /** The fast path, when the expression reads no secrets (those are known only inside a render). */
  fast: FastExpression | undefined;
  /** Set for a placeholder inside text: its answer is the text it contributes. */
  text: TextSlot | undefined;
}

export interface CompiledTemplate {
  /** Renders against a run context; see `render`. */
  render(context: RunContext, options?: RenderOptions): Promise<unknown>;
  /**
   * `render`, answered synchronously when the fast path answers every placeholder (the value is
   * returned, an error thrown), and a Promise only from the first placeholder that needs JSONata's
   * evaluator or a secret. Rendered values are JSON data, never a Promise.
   */
  renderNow(context: RunContext, options?: RenderOptions): Awaitable<unknown>;
  /**
   * For a template that is an object: its top-level keys whose values hold a placeholder (every
   * other key renders to the same value each time). Undefined for any other template.
   */
  readonly templatedKeys: readonly string[] | undefined;
}

/**
 * Resolves every placeholder in a nested JSON value (strings in objects and arrays; keys are not
 * rendered). A string that is exactly one placeholder keeps the value's type (number, object, ...);
 * otherwise values are stringified (objects as JSON, undefined/null as ''). An object key whose
 * value renders to undefined is left out, and an array item becomes null, as in JSON. The value is
 * copied, never changed; `skipKeys` (top-level keys of an object) are left as they are.
 */
export function render(value: unknown, context: RunContext, options: RenderOptions = {}): Promise<unknown> {
  return compileTemplate(value, options.skipKeys).render(context, options);
}

/**
 * Compiles a value once for many renders. The template keeps what it read of the value: change
 * the value afterwards and the template still renders the value as it was (workflow versions never
 * change). Never throws: what does not parse fails the renders that reach it.
 */
export function compileTemplate(value: unknown, skipKeys: readonly string[] = []): CompiledTemplate {
  const placeholders: Placeholder[] = [];
  const templatedKeys = isPlainObject(value) ? ([] as string[]) : undefined;
  const compiled = compileValue(value, '', placeholders, skipKeys, templatedKeys);
  // Copies of the exact length: an array grown by push keeps room for more, which a template
  // kept for every step of a workflow version would hold for good.
  return new Template(placeholders.slice(), compiled, templatedKeys?.slice());
}

class Template implements CompiledTemplate {
  readonly #placeholders: readonly Placeholder[];
  readonly #value: Part;
  readonly templatedKeys: readonly string[] | undefined;

  constructor(
    placeholders: readonly Placeholder[],
    value: Part,
    templatedKeys: readonly string[] | undefined,
  ) {
    this.#placeholders = placeholders;
    this.#value = value;
    this.templatedKeys = templatedKeys;
  }

  async render(context: RunContext, options: RenderOptions = {}): Promise<unknown> {
    return this.renderNow(context, options);
  }

  renderNow(context: RunContext, options: RenderOptions = {}): Awaitable<unknown> {
    const placeholders = this.#placeholders;
    const answers = new Array<unknown>(placeholders.length);
    const length = { text: 0 };
    for (let index = 0; index < placeholders.length; index++) {
      const placeholder = placeholders[index]!;
      const fast = placeholder.fast === undefined ? SLOW : answer(placeholder.fast, context);
      if (fast === SLOW) return this.#finish(index, answers, length, context, options);
      answers[index] = placeholder.text === undefined ? fast : contribute(placeholder, fast, length);
    }
    checkRenderedSize(answers);
    return build(this.#value, answers);
  }

  /** Answers the placeholders from `from` on, through JSONata and secrets where their fast path cannot. */
  async #finish(
    from: number,
    answers: unknown[],
    length: { text: number },
    context: RunContext,
    options: RenderOptions,
  ): Promise<unknown> {
    const placeholders = this.#placeholders;
    const scope = new RenderScope(context, options);
    for (let index = from; index < placeholders.length; index++) {
      const placeholder = placeholders[index]!;
      let value = placeholder.fast === undefined ? SLOW : answer(placeholder.fast, context);
      if (value === SLOW) {
        if (placeholder.text !== undefined) checkLength(placeholder, textBefore(placeholder.text, length));
        try {
          if (placeholder.error !== undefined) throw placeholder.error;
          value = await scope.evaluate(placeholder.expression!);
        } catch (error) {
          throw located(error, placeholder.path);
        }
      }
      answers[index] = placeholder.text === undefined ? value : contribute(placeholder, value, length);
    }
    checkRenderedSize(answers);
    return build(this.#value, answers);
  }
}

/**
 * Checks that the answers together stay within MAX_VALUE_SIZE characters of JSON, as each one
 * does: a config of 600 placeholders of a million characters each rendered a 600 MB output, which
 * no store could take (JSON.stringify refused it: "Invalid string length"), so every Advance of the
 * run failed and the run stayed running for ever. The literal text around them is bounded by the
 * size of a definition. Strings and numbers (nearly every answer) cost an addition each.
 */
function checkRenderedSize(answers: readonly unknown[]): void {
  let total = 0;
  for (let index = 0; index < answers.length; index++) {
    const value = answers[index];
    if (typeof value === 'string') total += value.length + 2;
    else if (typeof value === 'object' && value !== null) total += answerSize(value);
    else total += 8;
    if (total > MAX_VALUE_SIZE) {
      throw new ExpressionError(
        LIMIT_CODE,
        `The template rendered more than ${MAX_VALUE_SIZE} characters of JSON, its placeholders together`,
        '',
        { details: { limit: 'size' } },
      );
    }
  }
}

/** An object or list answer's size; past the limit on its own, more than the limit. */
function answerSize(value: object): number {
  try {
    return dataSize(value);
  } catch (error) {
    if (error instanceof BudgetExceeded) return MAX_VALUE_SIZE + 1;
    throw error;
  }
}

/**
 * The text a placeholder adds to its string, after checking that the string so far (text before
 * it included) stays within MAX_STRING_LENGTH: each value is bounded, but a template may hold many.
 */
function contribute(placeholder: Placeholder, value: unknown, length: { text: number }): string {
  const slot = placeholder.text!;
  const start = textBefore(slot, length);
  checkLength(placeholder, start);
  const text = templateText(value);
  length.text = start + text.length;
  checkLength(placeholder, length.text);
  if (slot.after >= 0) checkLength(placeholder, length.text + slot.after);
  return text;
}

/** The length of its string up to a placeholder: the text rendered so far and the literal text before it. */
function textBefore(slot: TextSlot, length: { text: number }): number {
  return (slot.first ? 0 : length.text) + slot.before;
}

function checkLength(placeholder: Placeholder, length: number): void {
  if (length <= MAX_STRING_LENGTH) return;
  const template = placeholder.text!.template;
  throw located(
    new ExpressionError(
      LIMIT_CODE,
      `The template ${quote(template)} rendered more than ${MAX_STRING_LENGTH} characters`,
      template,
      { details: { limit: 'size' } },
    ),
    placeholder.path,
  );
}

/** `templatedKeys`, for the top level: told each key whose value holds a placeholder. */
function compileValue(
  value: unknown,
  path: string,
  placeholders: Placeholder[],
  skipKeys: readonly string[] = [],
  templatedKeys?: string[],
): Part {
  if (typeof value === 'string') return compileString(value, path, placeholders);
  if (Array.isArray(value)) {
    return Part.list(value.map((item, index) => compileValue(item, childPath(path, index), placeholders)));
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    return Part.record(
      keys,
      keys.map((key) => {
        if (skipKeys.includes(key)) return Part.literal(value[key]);
        const before = placeholders.length;
        const part = compileValue(value[key], childPath(path, key), placeholders);
        if (placeholders.length > before) templatedKeys?.push(key);
        return part;
      }),
    );
  }
  return Part.literal(value);
}

function compileString(text: string, path: string, placeholders: Placeholder[]): Part {
  if (!hasPlaceholder(text)) return Part.literal(text);
  let parts: ReturnType<typeof parseTemplate>;
  try {
    parts = parseTemplate(text);
  } catch (error) {
    return Part.answer(placeholders.push(failed(error, path)) - 1);
  }
  const [only] = parts;
  if (parts.length === 1 && only !== undefined && 'expression' in only) {
    return Part.answer(placeholders.push(placeholder(only.expression, path, undefined)) - 1);
  }
  // Literal text and the answers (already text) of the placeholders, in order.
  const pieces: Array<string | number> = [];
  let before = 0;
  let first = true;
  let last: TextSlot | undefined;
  for (const part of parts) {
    if ('text' in part) {
      pieces.push(part.text);
      before += part.text.length;
      continue;
    }
    last = { template: text, first, before, after: -1 };
    pieces.push(placeholders.push(placeholder(part.expression, path, last)) - 1);
    first = false;
    before = 0;
  }
  if (last !== undefined) last.after = before;
  return Part.text(pieces.slice());
}

function placeholder(expression: string, path: string, text: TextSlot | undefined): Placeholder {
  let compiled: CompiledExpression;
  try {
    compiled = compile(expression);
  } catch (error) {
    return { ...failed(error, path), text };
  }
  return {
    path,
    expression: compiled,
    error: undefined,
    fast: readsSecrets(compiled) ? undefined : compiled.fast,
    text,
  };
}

function failed(error: unknown, path: string): Placeholder {
  return {
    path,
    expression: undefined,
    error: error as ExpressionError,
    fast: undefined,
    text: undefined,
  };
}

/** Prefixes an expression error with where it happened (`body.to: ...`); other errors pass unchanged. */
function located(error: unknown, path: string): unknown {
  if (path === '' || !(error instanceof ExpressionError)) return error;
  return new ExpressionError(error.code, `${path}: ${error.message}`, error.expression, {
    ...(error.details ? { details: error.details } : {}),
  });
}
