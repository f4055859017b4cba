/**
 * Remembers resolved secret values, and values computed from them, and replaces them with
 * `[REDACTED]` in text and in JSON-like values.
 */
import { isPlainObject, setOwn } from './json.js';

export const REDACTED = '[REDACTED]';

/**
 * A secret shorter than this is replaced only when it is a whole string: replacing every `on` or
 * `42` inside ordinary text would blank out outputs and still reveal the secret by its gaps.
 */
const MIN_INNER_LENGTH = 4;

interface Known {
  /** The secrets as added. */
  secrets: Set<string>;
  /** Forms replaced wherever they occur, and forms replaced only as a whole string. */
  inner: Set<string>;
  whole: Set<string>;
  /** Numbers computed from a secret, replaced where they are a whole value. */
  numbers: Set<number>;
}

function newKnown(): Known {
  return { secrets: new Set(), inner: new Set(), whole: new Set(), numbers: new Set() };
}

export class Redactor {
  /**
   * The secrets as added (what `size` counts and `values()` hands on to another redactor), their
   * forms and those of the values computed from them. Made with the first secret: every step
   * attempt makes a redactor, and most resolve no secret at all.
   */
  #known: Known | undefined;
  /** All inner forms as one alternation, longest first; rebuilt after `add` and `addDerived`. */
  #pattern: RegExp | undefined;

  add(secret: string): void {
    if (typeof secret !== 'string' || secret === '' || this.#known?.secrets.has(secret)) return;
    this.#known ??= newKnown();
    this.#known.secrets.add(secret);
    this.#addForms(secret);
  }

  /**
   * A value computed from a secret (a string or number that a placeholder reading a secret
   * rendered: `$base64encode(secrets.user & ':' & secrets.pass)`, `$uppercase(secrets.token)`): it is
   * replaced as a secret is, a number also where it is a whole value. It stays with this redactor:
   * `values()` does not hand it on, so a longer-lived redactor does not grow with every value
   * computed from a secret in every run. Strings and numbers shorter than 4 characters are not
   * tracked: `yes`, `EUR` or `1` tell little, and replacing them everywhere would break the steps
   * that read them.
   */
  addDerived(value: string | number): void {
    if (typeof value === 'number') {
      const text = String(value);
      if (!Number.isFinite(value) || text.length < MIN_INNER_LENGTH) return;
      this.#known ??= newKnown();
      this.#known.numbers.add(value);
      this.#addForms(text);
    } else if (value.length >= MIN_INNER_LENGTH) {
      this.#known ??= newKnown();
      this.#addForms(value);
    }
  }

  #addForms(secret: string): void {
    const known = this.#known!;
    for (const form of encodedForms(secret)) {
      // Forms shorter than MIN_INNER_LENGTH are replaced only when they are the whole string.
      if (form.length < MIN_INNER_LENGTH) known.whole.add(form);
      else if (!known.inner.has(form)) {
        known.inner.add(form);
        this.#pattern = undefined;
      }
    }
  }

  /** Whether `text` is one of the secrets added (not a value computed from one). */
  isSecret(text: string): boolean {
    return this.#known?.secrets.has(text) ?? false;
  }

  get size(): number {
    return this.#known?.secrets.size ?? 0;
  }

  /** The secret values, e.g. to pass them on to a longer-lived redactor. */
  values(): IterableIterator<string> {
    return (this.#known?.secrets ?? new Set<string>()).values();
  }

  scrubText(text: string): string {
    const known = this.#known;
    if (known === undefined) return text;
    if (known.whole.has(text)) return REDACTED;
    if (known.inner.size === 0) return text;
    this.#pattern ??= alternation(known.inner);
    return text.replace(this.#pattern, REDACTED);
  }

  /**
   * A deep copy of a JSON-like value (plain objects and arrays) with every secret replaced in
   * strings and object keys; other values (numbers, class instances) are returned as they are.
   */
  scrub<T>(value: T): T {
    return this.#copy(value) as T;
  }

  #copy(value: unknown): unknown {
    if (typeof value === 'string') return this.scrubText(value);
    if (typeof value === 'number') return this.#known?.numbers.has(value) ? REDACTED : value;
    if (Array.isArray(value)) return value.map((item) => this.#copy(item));
    if (!isPlainObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) setOwn(out, this.scrubText(key), this.#copy(item));
    return out;
  }
}

/**
 * The secret and the forms it takes when it travels inside JSON text or a URL, so that an echoed
 * request body or query string does not give it away.
 */
function encodedForms(secret: string): string[] {
  const escaped = JSON.stringify(secret).slice(1, -1);
  const forms = [
    secret,
    // As case-folding systems give it back: a URL's host is lower-cased (`getaddrinfo ENOTFOUND
    // s3cr3tvalue.invalid`), some headers and codes are upper-cased.
    secret.toLowerCase(),
    secret.toUpperCase(),
    escaped,
    // JSON as encoders that escape `/` write it (PHP's json_encode, some Java ones)…
    escaped.replaceAll('/', '\\/'),
    // …and as Go's writes it, `&`, `<` and `>` as \u0026, \u003c and \u003e.
    escaped.replace(/[&<>]/g, (char) => `\\u00${char.charCodeAt(0).toString(16)}`),
  ];
  try {
    const encoded = encodeURIComponent(secret);
    // Percent-encoding in either case: `%2F` and `%2f` are the same byte.
    forms.push(
      encoded,
      encoded.replace(/%[0-9A-F]{2}/g, (code) => code.toLowerCase()),
    );
    // As a form (application/x-www-form-urlencoded, URLSearchParams) writes it: a space is `+`.
    forms.push(new URLSearchParams({ v: secret }).toString().slice(2));
    // As a URL's path shows it (`new URL(…).pathname`, which error messages quote).
    forms.push(pathEncoded(secret));
  } catch {
    // A lone surrogate cannot be URL-encoded, so the secret cannot appear in that form either.
  }
  return [...new Set(forms)];
}

/**
 * The secret as a URL's path writes it: what the WHATWG path percent-encode set names (controls,
 * space, `"#<>?\`{}`) and every non-ASCII character percent-encoded, the rest as it is. Throws
 * URIError for a lone surrogate, as encodeURIComponent does.
 */
function pathEncoded(secret: string): string {
  let out = '';
  for (const char of secret) {
    const code = char.codePointAt(0)!;
    out += code <= 0x20 || code >= 0x7f || PATH_SPECIAL.has(char) ? encodeURIComponent(char) : char;
  }
  return out;
}

const PATH_SPECIAL = new Set(['"', '#', '<', '>', '?', '`', '{', '}']);

function alternation(forms: Set<string>): RegExp {
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
}
