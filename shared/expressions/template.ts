/** The placeholder grammar: literal text and `{{ expr }}` placeholders inside strings, and finding them in a config. */
import { ExpressionError } from '../errors.js';
import { isPlainObject } from './json.js';

export type TemplatePart = { text: string } | { expression: string; offset: number };

const OPEN = '{{';

export function hasPlaceholder(value: string): boolean {
  return value.includes(OPEN);
}

/**
 * Splits a string into literal text and `{{ expr }}` placeholders. The expression is trimmed and
 * `offset` is where it starts in the string; it ends at the first `}}` outside a JSONata string
 * literal or backquoted name, so `{{ "}}" }}` works. Placeholders do not nest, and literal text may
 * hold single braces. Throws ExpressionError('ExpressionSyntaxError') for an unclosed `{{`.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let textStart = 0;
  for (let open = template.indexOf(OPEN); open !== -1; open = template.indexOf(OPEN, textStart)) {
    const close = findClose(template, open + OPEN.length);
    if (close === -1) {
      throw new ExpressionError(
        'ExpressionSyntaxError',
        `Unclosed placeholder: the "{{" at offset ${open} has no matching "}}" (or a quote inside it is not closed)`,
        template,
        { details: { position: open } },
      );
    }
    if (open > textStart) parts.push({ text: template.slice(textStart, open) });
    const inner = template.slice(open + OPEN.length, close);
    const leading = inner.length - inner.trimStart().length;
    parts.push({ expression: inner.trim(), offset: open + OPEN.length + leading });
    textStart = close + 2;
  }
  if (textStart < template.length) parts.push({ text: template.slice(textStart) });
  return parts;
}

/** The index of the `}}` that ends a placeholder whose expression starts at `from`, or -1. */
function findClose(template: string, from: number): number {
  for (let i = from; i < template.length; i++) {
    const char = template[i];
    if (char === '"' || char === "'" || char === '`') {
      i = endOfQuoted(template, i);
      if (i === -1) return -1;
    } else if (char === '}' && template[i + 1] === '}') {
      return i;
    }
  }
  return -1;
}

/** The index of the quote that closes the literal opened at `start`; backquoted names have no escapes. */
function endOfQuoted(template: string, start: number): number {
  const quote = template[start];
  for (let i = start + 1; i < template.length; i++) {
    const char = template[i];
    if (char === '\\' && quote !== '`') i++;
    else if (char === quote) return i;
  }
  return -1;
}

/** The path of a child in the notation of validation errors: `config.body.to`, `config.approvers[0]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Every expression inside placeholders in a nested JSON value, with the path of the string that
 * holds it, e.g. `config.body.to`. For the validator. Never throws; an unclosed placeholder is
 * reported as {path, expression: <the string>, error: message}.
 */
export function templateExpressions(
  value: unknown,
  path: string,
): Array<{ path: string; expression: string; error?: string }> {
  const found: Array<{ path: string; expression: string; error?: string }> = [];
  const visit = (item: unknown, at: string): void => {
    if (typeof item === 'string') {
      if (!hasPlaceholder(item)) return;
      try {
        for (const part of parseTemplate(item)) {
          if ('expression' in part) found.push({ path: at, expression: part.expression });
        }
      } catch (error) {
        found.push({ path: at, expression: item, error: (error as Error).message });
      }
    } else if (Array.isArray(item)) {
      item.forEach((child, index) => {
        visit(child, childPath(at, index));
      });
    } else if (isPlainObject(item)) {
      for (const [key, child] of Object.entries(item)) visit(child, childPath(at, key));
    }
  };
  visit(value, path);
  return found;
}
