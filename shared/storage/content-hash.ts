/**
 * The content hash of a workflow version: SHA-256 (hex) of the definition as canonical JSON (object
 * keys sorted by code point at every level, no whitespace, undefined fields left out), so the same
 * content has the same hash whatever order its fields were written or stored in.
 */
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}

export function contentHash(definition: unknown): string {
  return createHash('sha256').update(canonicalJson(definition), 'utf8').digest('hex');
}

/** The scope a `versions` cursor is signed with: valid for the versions of this workflow only. */
export function workflowVersionsScope(id: string): unknown[] {
  return ['workflow-versions', id];
}
