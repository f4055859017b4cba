/**
 * A run's inputs: checked against the workflow's `inputs` JSON Schema when the run starts, and the
 * templates that make them (a listener's, a `workflow` step's) kept from copying secrets into them.
 */
import type { WorkflowDefinition } from '../definition/schema.js';
import type { ErrorIssue } from '../errors.js';
import { checkExpression, referencesSecrets, templateExpressions } from '../expressions/index.js';
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

/**
 * Problems with a listener's `inputs` template: placeholders that do not parse (nothing else checks
 * a listener's templates), and placeholders that read secrets. A run's inputs are stored as they
 * are, in its state, its context and its history, where no redaction reaches: the run reads
 * `{{ secrets.NAME }}` itself where it needs the secret. A `workflow` step's `inputs` are checked
 * for secrets only (`INPUTS_STORED`), as the validator parses every placeholder of a workflow.
 */
export function checkInputsTemplate(inputs: unknown, path = 'inputs'): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  for (const found of templateExpressions(inputs, path)) {
    const error = found.error ?? checkExpression(found.expression);
    if (error !== undefined) issues.push({ path: found.path, message: error });
  }
  return [...issues, ...secretReads(inputs, path, INPUTS_STORED)];
}

export const INPUTS_STORED =
  'must not read secrets: a run’s inputs are stored; the run can read {{ secrets.NAME }} itself';

/**
 * The placeholders of a template whose rendered value is stored as it is, out of reach of
 * redaction, that read secrets, each reported with `message` (one that does not parse is left to
 * the check of placeholders).
 */
export function secretReads(template: unknown, path: string, message: string): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  for (const found of templateExpressions(template, path)) {
    if (found.error === undefined && referencesSecrets(found.expression))
      issues.push({ path: found.path, message });
  }
  return issues;
}
