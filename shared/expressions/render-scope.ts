/**
 * What the placeholders of one render share once one of them needs more than its fast path: the
 * sandboxed view of the context, the secrets fetched so far and the redactor that learns them.
 */
import { ConfigurationError, ExpressionError } from '../errors.js';
import type { SecretSource } from '../ports/index.js';
import type { RunContext } from '../steps/types.js';
import { type CompiledExpression, quote } from './compile.js';
import { type EvaluateOptions, run } from './evaluate.js';
import { answer, SLOW } from './fast-path.js';
import { eachLeaf, isPlainObject, setOwn } from './json.js';
import { Redactor } from './redactor.js';
import { view } from './sandbox.js';

export interface RenderOptions extends EvaluateOptions {
  /** Resolves `{{ secrets.NAME }}`; without it, an expression that reads secrets fails. */
  secrets?: SecretSource;
  /** Receives every resolved secret value, and scrubs them from error messages. */
  redactor?: Redactor;
  /** Top-level object keys left untouched (expression fields such as `when`). */
  skipKeys?: readonly string[];
}

/** Strings and numbers one expression that reads a secret may render (each is redacted like the secret). */
export const MAX_DERIVED_VALUES = 1_000;
/** Shorter values are not tracked (the redactor would not replace them inside text either). */
const MIN_DERIVED_LENGTH = 4;

export class RenderScope {
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

  /**
   * The value of one expression: its fast path when that answers (over the context, with the
   * secrets it names), else JSONata in the sandbox, within the budget of the options.
   */
  async evaluate(compiled: CompiledExpression): Promise<unknown> {
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
      return run(compiled, this.#plain, this.#options, this.#redactor);
    }
    const secrets: Record<string, unknown> = Object.create(null);
    const values = await Promise.all(secretNames.map((name) => this.#secret(name, expression)));
    for (const [index, name] of secretNames.entries()) setOwn(secrets, name, values[index]);
    const data = { ...this.#context, secrets };
    const fast = compiled.fast === undefined ? SLOW : answer(compiled.fast, data);
    const value = fast === SLOW ? await run(compiled, view(data), this.#options, this.#redactor) : fast;
    this.#derived(value, compiled);
    return value;
  }

  /**
   * `candidates` less those the run context holds (what the run shows anyway): one walk of the
   * context, which stops once every candidate was found, keeping nothing but the candidates.
   */
  #notShown(candidates: Set<string | number>): Set<string | number> {
    eachLeaf(this.#context, (leaf) => {
      candidates.delete(leaf);
      return candidates.size > 0;
    });
    return candidates;
  }

  /**
   * What an expression that reads a secret computed is redacted as the secret is: a Basic
   * credential (`$base64encode(secrets.user & ':' & secrets.pass)`), a secret upper-cased or cut in
   * two would otherwise be stored as it is. Each string and number in the value counts, except what
   * tells nobody anything: values shorter than 4 characters, literals written in the expression,
   * copies of what the run context holds, and booleans and null (every `true` of the output would go).
   */
  #derived(value: unknown, compiled: CompiledExpression): void {
    const { expression, literals } = compiled;
    const redactor = this.#redactor;
    const leaves = new Set<string | number>();
    eachLeaf(value, (leaf) => {
      const tellsNothing =
        String(leaf).length < MIN_DERIVED_LENGTH ||
        literals.has(leaf) ||
        (typeof leaf === 'string' && redactor?.isSecret(leaf));
      if (!tellsNothing) leaves.add(leaf);
      return true;
    });
    if (leaves.size === 0) return;
    const derived = this.#notShown(leaves);
    if (derived.size > MAX_DERIVED_VALUES) {
      throw new ExpressionError(
        'ExpressionError',
        `Expression ${quote(expression)} reads a secret and renders more than ${MAX_DERIVED_VALUES} strings and numbers, each of which would be redacted as the secret is; compute the part that needs the secret on its own`,
        expression,
      );
    }
    this.#redactor ??= new Redactor();
    for (const leaf of derived) this.#redactor.addDerived(leaf);
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
