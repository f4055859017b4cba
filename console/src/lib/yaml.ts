/**
 * JSON as YAML, for showing a stored workflow as people write it. The API keeps the definition (not
 * the text it came in), so comments are gone; the order of keys is kept. Strings are quoted whenever
 * plain YAML could read them as something else.
 */

const PLAIN = /^[A-Za-z_/.][A-Za-z0-9 _/.@()-]*$/;
const RESERVED = /^(?:true|false|yes|no|on|off|null|~|y|n)$/i;

export function toYaml(value: unknown): string {
  return `${lines(value, 0).join('\n')}\n`;
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  if (text !== '' && PLAIN.test(text) && !RESERVED.test(text) && !text.endsWith(' ')) return text;
  return JSON.stringify(text);
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== 'object';
}

function key(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) && !RESERVED.test(name) ? name : JSON.stringify(name);
}

function lines(value: unknown, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (isScalar(value)) return [`${pad}${scalar(value)}`];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}[]`];
    return value.flatMap((item) => {
      if (isScalar(item)) return [`${pad}- ${scalar(item)}`];
      const inner = lines(item, indent + 2);
      // The first line of the item goes after the dash.
      return [`${pad}- ${inner[0]!.trimStart()}`, ...inner.slice(1)];
    });
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return [`${pad}{}`];
  return entries.flatMap(([name, item]) => {
    if (isScalar(item)) return [`${pad}${key(name)}: ${scalar(item)}`];
    if (Array.isArray(item) && item.length === 0) return [`${pad}${key(name)}: []`];
    if (!Array.isArray(item) && Object.keys(item as object).length === 0) return [`${pad}${key(name)}: {}`];
    return [`${pad}${key(name)}:`, ...lines(item, indent + 2)];
  });
}
