/**
 * The little marshalling the DynamoDB adapters need (`@aws-sdk/util-dynamodb` is not installed):
 * items here hold strings, numbers, booleans, string sets and maps or lists of strings; documents
 * (states, events, definitions) are stored as JSON text, which also keeps their size predictable.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { StorageError } from '../../errors.js';

export type Item = Record<string, AttributeValue>;

export const S = (value: string): AttributeValue => ({ S: value });
export const N = (value: number): AttributeValue => ({ N: String(value) });

function corrupt(name: string, want: string): StorageError {
  return new StorageError('StorageCorrupt', `a stored item has no ${want} attribute '${name}'`);
}

export function optionalString(item: Item, name: string): string | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  if (value.S === undefined) throw corrupt(name, 'string');
  return value.S;
}

export function string(item: Item, name: string): string {
  const value = optionalString(item, name);
  if (value === undefined) throw corrupt(name, 'string');
  return value;
}

export function optionalNumber(item: Item, name: string): number | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  const parsed = value.N === undefined ? Number.NaN : Number(value.N);
  if (!Number.isFinite(parsed)) throw corrupt(name, 'number');
  return parsed;
}

export function number(item: Item, name: string): number {
  const value = optionalNumber(item, name);
  if (value === undefined) throw corrupt(name, 'number');
  return value;
}

/** A document stored as JSON text. */
export function json<T>(item: Item, name: string): T {
  return JSON.parse(string(item, name)) as T;
}

/** The strings of a map attribute (`{ key: S }`), by key. */
export function stringMap(item: Item, name: string): Map<string, string> {
  const entries = item[name]?.M ?? {};
  const result = new Map<string, string>();
  for (const [key, value] of Object.entries(entries)) {
    if (value.S === undefined) throw corrupt(`${name}.${key}`, 'string');
    result.set(key, value.S);
  }
  return result;
}

/** The strings of a list attribute (`[S, …]`). */
export function stringList(item: Item, name: string): string[] {
  return (item[name]?.L ?? []).map((value, i) => {
    if (value.S === undefined) throw corrupt(`${name}[${i}]`, 'string');
    return value.S;
  });
}

/** Numbers in keys are zero-padded so that string order is numeric order. */
export function padded(value: number, digits = 12): string {
  return String(value).padStart(digits, '0');
}

/** What DynamoDB counts for an item's size: attribute names and values in UTF-8, roughly. */
export function textBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
