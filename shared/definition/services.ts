/** A step's effective config: the settings of its `service` as defaults, the step's own config on top. */
import type { CompensateAction, StepDefinition, WorkflowDefinition } from './schema.js';

export function mergeServiceDefaults(
  workflow: WorkflowDefinition,
  step: Pick<StepDefinition | CompensateAction, 'service' | 'config'>,
): Record<string, unknown> {
  const defaults = step.service ? workflow.services?.[step.service] : undefined;
  return defaults ? (deepMerge(defaults, step.config) as Record<string, unknown>) : step.config;
}

/** Objects merge key by key, `over` winning; anything else (arrays included) is replaced by `over`. */
export function deepMerge(under: unknown, over: unknown): unknown {
  if (!isPlainObject(under) || !isPlainObject(over)) return over === undefined ? under : over;
  const merged: Record<string, unknown> = { ...under };
  for (const [key, value] of Object.entries(over)) merged[key] = deepMerge(under[key], value);
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
