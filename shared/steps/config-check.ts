/**
 * A step's rendered config checked against its type's schema. Most configs render the same shape
 * every time: a transform's `output` may be any value, and its other keys are literals. Once one
 * render of such a template fitted, and the check changed nothing of it, later renders fit too and
 * are not parsed again (the parse was a tenth of a transform step's cost).
 */
import { z } from 'zod';
import type { CompiledTemplate } from '../expressions/index.js';
import type { StepType } from './types.js';

/** Config templates whose renders are known to fit their step type's schema as they are. */
const fitting = new WeakMap<CompiledTemplate, true>();

export type ConfigCheck = { success: true; data: unknown } | { success: false; error: z.ZodError };

/** Whether every render of `template` is known to fit as it is: `checkConfig` would return it unchanged. */
export function alwaysFits(template: CompiledTemplate): boolean {
  return fitting.has(template);
}

export function checkConfig(type: StepType, template: CompiledTemplate, rendered: unknown): ConfigCheck {
  if (fitting.has(template)) return { success: true, data: rendered };
  const result = type.config.safeParse(rendered);
  if (
    result.success &&
    anyValueFits(type.config, template.templatedKeys) &&
    unchanged(result.data, rendered)
  ) {
    fitting.set(template, true);
  }
  return result;
}

/** Whether the schema is an object that takes any value at each key a placeholder renders. */
function anyValueFits(schema: z.ZodType, templatedKeys: readonly string[] | undefined): boolean {
  if (templatedKeys === undefined || !(schema instanceof z.ZodObject)) return false;
  const shape = schema.shape as Record<string, z.ZodType>;
  return templatedKeys.every((key) => shape[key] instanceof z.ZodUnknown || shape[key] instanceof z.ZodAny);
}

/** The parse returned the rendered value as it was: no default added, no key stripped, nothing transformed. */
function unchanged(parsed: unknown, rendered: unknown): boolean {
  if (typeof parsed !== 'object' || parsed === null || typeof rendered !== 'object' || rendered === null) {
    return false;
  }
  const keys = Object.keys(parsed);
  if (keys.length !== Object.keys(rendered).length) return false;
  return keys.every(
    (key) => (parsed as Record<string, unknown>)[key] === (rendered as Record<string, unknown>)[key],
  );
}
