/** Checks a run's inputs against the workflow's `inputs` JSON Schema when the run starts. */
import type { WorkflowDefinition } from '../definition/schema.js';
import type { ErrorIssue } from '../errors.js';
import { compileJsonSchema } from '../json-schema/index.js';

/** The problems with `inputs` (empty when they fit), each with a path such as `inputs.customer`. */
export function checkRunInputs(definition: WorkflowDefinition, inputs: unknown): ErrorIssue[] {
  if (!definition.inputs) return [];
  // The validator's Ajv configuration and bounded cache: a store hands out a new definition object
  // on every read, and two workflows may give their inputs schemas the same $id.
  const validate = compileJsonSchema(definition.inputs);
  if (validate(inputs)) return [];
  return (validate.errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? `.${String(e.params.missingProperty)}` : '';
    const path = `inputs${e.instancePath.replaceAll('/', '.')}${missing}`;
    return { path, message: missing ? 'is required' : (e.message ?? 'is not valid') };
  });
}
