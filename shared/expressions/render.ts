/** Resolves the placeholders of a step's config (or a run's output) against the run context, secrets included. */
import { ConfigurationError, ExpressionError } from '../errors.js';
import type { SecretSource } from '../ports/index.js';
import type { RunContext } from '../steps/types.js';
import { MAX_STRING_LENGTH } from './budget.js';
import { type CompiledExpression, compile, quote } from './compile.js';
import { type EvaluateOptions, LIMIT_CODE, run } from './evaluate.js';
import { SLOW } from './fast-path.js';
import { isPlainObject, setOwn, templateText } from './json.js';
import { Redactor } from './redactor.js';
import { view } from './sandbox.js';
import { childPath, hasPlaceholder, parseTemplate } from './template.js';

export interface RenderOptions extends EvaluateOptions {
  /** Resolves `{{ secrets.NAME }}`; without it, an expression that reads secrets fails. */
  secrets?: SecretSource;
  /** Receives every resolved secret value, and scrubs them from error messages. */
  redactor?: Redactor;
  /** Top-level object keys left untouched (expression fields such as `when`). */
  skipKeys?: readonly string[];
}

/**
 * Resolves every placeholder in a nested JSON value (strings in objects and arrays; keys are not
 * rendered). A string that is exactly one placeholder keeps the value's type (number, object, ...);
 * otherwise values are stringified (objects as JSON, undefined/null as ''). An object key whose
 * value renders to undefined is left out, and an array item becomes null, as in JSON.
 */
export async function render(
  value: unknown,
  context: RunContext,
  options: RenderOptions = {},
): Promise<unknown> {
  const renderer = new Renderer(context, options);
  const skip = options.skipKeys ?? [];
  if (skip.length === 0 || !isPlainObject(value)) return renderer.value(value, '');
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const rendered = skip.includes(key) ? item : await renderer.value(item, key);
    if (rendered !== undefined) setOwn(out, key, rendered);
  }
  return out;
}

/** The state of one render: views of the context and the secrets fetched so far, shared by its placeholders. */
class Renderer {
  readonly #context: RunContext;
  readonly #options: RenderOptions;
  /** The caller's redactor, or one made when the first secret is resolved: error messages need scrubbing either way. */
  #redactor: Redactor | undefined;
  readonly #secrets = new Map<string, Promise<unknown>>();
  #plain: unknown;

  constructor(context: RunContext, options: RenderOptions) {
    this.#context = context;
    this.#options = options;
    this.#redactor = options.redactor;
  }

  async value(value: unknown, path: string): Promise<unknown> {
    if (typeof value === 'string') return this.#string(value, path);
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let index = 0; index < value.length; index++) {
        out.push((await this.value(value[index], childPath(path, index))) ?? null);
      }
      return out;
    }
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const rendered = await this.value(item, childPath(path, key));
        if (rendered !== undefined) setOwn(out, key, rendered);
      }
      return out;
    }
    return value;
  }

  async #string(text: string, path: string): Promise<unknown> {
    if (!hasPlaceholder(text)) return text;
    try {
      const parts = parseTemplate(text);
      const [only] = parts;
      if (parts.length === 1 && only !== undefined && 'expression' in only)
        return await this.#evaluate(only.expression);
      let out = '';
      for (const part of parts) {
        out += 'text' in part ? part.text : templateText(await this.#evaluate(part.expression));
        // Each value is bounded, but a template may hold many of them.
        if (out.length > MAX_STRING_LENGTH) {
          throw new ExpressionError(
            LIMIT_CODE,
            `The template ${quote(text)} rendered more than ${MAX_STRING_LENGTH} characters`,
            text,
            { details: { limit: 'size' } },
          );
        }
      }
      return out;
    } catch (error) {
      throw located(error, path);
    }
  }

  async #evaluate(expression: string): Promise<unknown> {
    const compiled = compile(expression);
    if (compiled.fast) {
      const answer = compiled.fast(this.#context);
      if (answer !== SLOW) return answer;
    }
    return run(compiled, await this.#data(compiled), this.#options, this.#redactor);
  }

  /** The data an expression sees: the context, plus `secrets` with only the names it reads. */
  async #data(compiled: CompiledExpression): Promise<unknown> {
    const { expression, secretNames } = compiled;
    if (compiled.readsSecretsByValue) {
      throw new ExpressionError(
        'ExpressionError',
        `Expression ${quote(expression)} reads secrets as a whole; name each secret, as secrets.NAME`,
        expression,
      );
    }
    if (secretNames.length === 0) {
      this.#plain ??= view(this.#context);
      return this.#plain;
    }
    const secrets: Record<string, unknown> = Object.create(null);
    const values = await Promise.all(secretNames.map((name) => this.#secret(name, expression)));
    for (const [index, name] of secretNames.entries()) setOwn(secrets, name, values[index]);
    return view({ ...this.#context, secrets });
  }

  #secret(name: string, expression: string): Promise<unknown> {
    let resolved = this.#secrets.get(name);
    if (resolved === undefined) {
      const source = this.#options.secrets;
      if (source === undefined) {
        throw new ConfigurationError(
          `Expression ${quote(expression)} reads secrets.${name}, but no secret source is configured`,
          { code: 'SecretsUnavailable' },
        );
      }
      resolved = source.get(name).then((raw) => this.#remember(raw));
      this.#secrets.set(name, resolved);
    }
    return resolved;
  }

  /** Registers a secret with the redactor: the raw string and, for a JSON object, each string in it. */
  #remember(raw: string): unknown {
    this.#redactor ??= new Redactor();
    const redactor = this.#redactor;
    redactor.add(raw);
    const parsed = parseJsonObject(raw);
    if (parsed === undefined) return raw;
    const addStrings = (value: unknown): void => {
      if (typeof value === 'string') redactor.add(value);
      else if (value !== null && typeof value === 'object')
        for (const item of Object.values(value)) addStrings(item);
    };
    addStrings(parsed);
    return parsed;
  }
}

function parseJsonObject(raw: string): Record<string, unknown> | undefined {
  if (!raw.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Prefixes an expression error with where it happened (`body.to: ...`); other errors pass unchanged. */
function located(error: unknown, path: string): unknown {
  if (path === '' || !(error instanceof ExpressionError)) return error;
  return new ExpressionError(error.code, `${path}: ${error.message}`, error.expression, {
    ...(error.details ? { details: error.details } : {}),
  });
}
