/** Checks a run's inputs against the workflow's `inputs` JSON Schema when the run starts. */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { WorkflowDefinition } from '../definition/schema.js';
import type { ErrorIssue } from '../errors.js';

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
const compiled = new WeakMap<WorkflowDefinition, ValidateFunction>();

/** The problems with `inputs` (empty when they fit), each with a path such as `inputs.customer`. */
export function checkRunInputs(definition: WorkflowDefinition, inputs: unknown): ErrorIssue[] {
  if (!definition.inputs) return [];
  let validate = compiled.get(definition);
  if (!validate) {
    validate = ajv.compile(definition.inputs);
    compiled.set(definition, validate);
  }
  if (validate(inputs)) return [];
  return (validate.errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? `.${String(e.params.missingProperty)}` : '';
    const path = `inputs${e.instancePath.replaceAll('/', '.')}${missing}`;
    return { path, message: missing ? 'is required' : (e.message ?? 'is not valid') };
  });
}
