/**
 * The renderer as it was before templates were compiled (commit 79eaa89): it walks the value and
 * parses, looks up and awaits every placeholder, one after the other. Kept only as the reference
 * that compiled templates are checked against (template-equivalence.test.ts).
 */
import { ConfigurationError, ExpressionError } from '../../../shared/errors.js';
import { MAX_STRING_LENGTH } from '../../../shared/expressions/budget.js';
import { type CompiledExpression, compile, quote } from '../../../shared/expressions/compile.js';
import { LIMIT_CODE, run } from '../../../shared/expressions/evaluate.js';
import { answer, SLOW } from '../../../shared/expressions/fast-path.js';
import { isPlainObject, setOwn, templateText } from '../../../shared/expressions/json.js';
import { Redactor } from '../../../shared/expressions/redactor.js';
import type { RenderOptions } from '../../../shared/expressions/render-scope.js';
import { view } from '../../../shared/expressions/sandbox.js';
import { childPath, hasPlaceholder, parseTemplate } from '../../../shared/expressions/template.js';
import type { RunContext } from '../../../shared/steps/types.js';

export async function referenceRender(
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

class Renderer {
  readonly #context: RunContext;
  readonly #options: RenderOptions;
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
    // The fast path was then left out for expressions that read secrets.
    if (compiled.fast && compiled.secretNames.length === 0 && !compiled.readsSecretsByValue) {
      const fast = answer(compiled.fast, this.#context);
      if (fast !== SLOW) return fast;
    }
    return run(compiled, await this.#data(compiled), this.#options, this.#redactor);
  }

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

  #remember(raw: string): unknown {
    this.#redactor ??= new Redactor();
    const redactor = this.#redactor;
    redactor.add(raw);
    let parsed: unknown;
    try {
      parsed = raw.trimStart().startsWith('{') ? JSON.parse(raw) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!isPlainObject(parsed)) return raw;
    const addStrings = (value: unknown): void => {
      if (typeof value === 'string') redactor.add(value);
      else if (value !== null && typeof value === 'object')
        for (const item of Object.values(value)) addStrings(item);
    };
    addStrings(parsed);
    return parsed;
  }
}

function located(error: unknown, path: string): unknown {
  if (path === '' || !(error instanceof ExpressionError)) return error;
  return new ExpressionError(error.code, `${path}: ${error.message}`, error.expression, {
    ...(error.details ? { details: error.details } : {}),
  });
}
