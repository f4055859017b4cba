/**
 * `flowrunner validate`'s warnings about AI answers: a step's `json_schema` that strict structured
 * output cannot take is sent with `strict: false` (OpenAI) or as a tool's input schema (Bedrock), so
 * the model is not held to it by the provider; the answer is still validated, and a violation costs a
 * feedback retry. The warning names what stops strict mode, to help rewrite the schema if wanted.
 */
import type { PathSegment } from '../definition/paths.js';
import type { WorkflowDefinition } from '../definition/schema.js';
import { toStrictSchema } from './strict-schema.js';

export interface StrictSchemaWarning {
  path: PathSegment[];
  message: string;
}

/** The most reasons a warning lists. */
const LISTED = 5;

export function strictSchemaWarnings(workflow: WorkflowDefinition): StrictSchemaWarning[] {
  const warnings: StrictSchemaWarning[] = [];
  const visit = (action: { type: string; config?: Record<string, unknown> }, base: PathSegment[]) => {
    const schema = action.config?.json_schema;
    if (action.type !== 'ai_generate' || typeof schema !== 'object' || schema === null) return;
    const plan = toStrictSchema(schema as Record<string, unknown>);
    if (plan.strict) return;
    const reasons = plan.problems.slice(0, LISTED).join('; ');
    const more = plan.problems.length > LISTED ? `; and ${plan.problems.length - LISTED} more` : '';
    warnings.push({
      path: [...base, 'config', 'json_schema'],
      message: `is sent with strict: false, so the model is not held to it (the answer is still validated): ${reasons}${more}`,
    });
  };
  workflow.steps.forEach((step, index) => {
    visit(step, ['steps', index]);
    if (step.compensate) visit(step.compensate, ['steps', index, 'compensate']);
  });
  return warnings;
}
