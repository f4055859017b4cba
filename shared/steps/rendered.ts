/**
 * Checks of config values that `{{ }}` placeholders produced when the step ran: the schema only saw
 * the placeholder, so a step checks the value it got before it relies on it.
 */
import { isPlaceholderString } from '../definition/schema.js';
import { StepError } from '../errors.js';

/** True for a string that still holds a `{{ }}` placeholder (as written in a workflow, before rendering). */
export function hasPlaceholder(value: unknown): boolean {
  return typeof value === 'string' && isPlaceholderString(value);
}

export interface NumberLimits {
  /** Least allowed value. */
  min?: number;
  /** Whether `min` itself is refused (for "positive"). */
  exclusiveMin?: boolean;
  max?: number;
  /** The error code for a value that does not fit; default `InvalidConfig`. */
  code?: string;
}

/** The rendered value of a numeric config field, or a non-retryable StepError naming the field. */
export function renderedNumber(value: unknown, field: string, limits: NumberLimits = {}): number {
  const code = limits.code ?? 'InvalidConfig';
  const refuse = (what: string) =>
    new StepError(code, `${field} must be ${what}, got ${describe(value)}`, {
      retryable: false,
      details: { field },
    });
  if (typeof value !== 'number' || !Number.isFinite(value)) throw refuse('a number');
  const { min, max } = limits;
  if (min !== undefined) {
    if (limits.exclusiveMin && value <= min) throw refuse(`greater than ${min}`);
    if (value < min) throw refuse(`at least ${min}`);
  }
  if (max !== undefined && value > max) throw refuse(`at most ${max}`);
  return value;
}

/** `until` for a wait that lasts the rendered `timeout_s`, or undefined when there is none. */
export function waitDeadline(now: Date, timeoutS: unknown): string | undefined {
  if (timeoutS === undefined || timeoutS === null) return undefined;
  const seconds = renderedNumber(timeoutS, 'timeout_s', { min: 0, exclusiveMin: true });
  return new Date(now.getTime() + Math.round(seconds * 1000)).toISOString();
}

/** Text for people or a model: strings as they are, other values (a whole-placeholder object) as JSON. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? '';
}

/** A short, safe description of a value for an error message (its type, never its content). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return String(value);
  return `a value of type ${typeof value}`;
}
