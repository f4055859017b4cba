/**
 * A run's inputs: checked against the workflow's `inputs` JSON Schema when the run starts, and the
 * templates that make them (a listener's, a `workflow` step's) kept from copying secrets into them.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { WorkflowDefinition } from '../definition/schema.js';
import type { ErrorIssue } from '../errors.js';
import { checkExpression, referencesSecrets, templateExpressions } from '../expressions/index.js';
import { compileJsonSchema, SELF_REFERENCE } from '../json-schema/index.js';

/**
 * The most problems listed for a run's inputs, like the workflow validator's list (1,000 there): with
 * every error collected, a 50 KB body whose items each failed a long pattern answered 90 MB.
 */
export const MAX_INPUT_ISSUES = 100;
/** The most characters of a problem's path or message; a longer one is cut and ends with `…`. */
export const MAX_INPUT_ISSUE_LENGTH = 300;

const cut = (text: string) =>
  text.length > MAX_INPUT_ISSUE_LENGTH ? `${text.slice(0, MAX_INPUT_ISSUE_LENGTH)}…` : text;

/**
 * The problems with `inputs` (empty when they fit), each with a path such as `inputs.customer`: at
 * most MAX_INPUT_ISSUES, then one saying how many more there were.
 */
export function checkRunInputs(definition: WorkflowDefinition, inputs: unknown): ErrorIssue[] {
  if (!definition.inputs) return [];
  // The validator's Ajv configuration and bounded cache: a store hands out a new definition object
  // on every read, and two workflows may give their inputs schemas the same $id.
  // A schema that refers to itself without end fails to compile, or, when the loop is deeper than
  // the compile check reaches, overflows the stack here; a workflow stored before the validator
  // refused such schemas holds one. A problem with the inputs (422), where it was a 500.
  let validate: ValidateFunction;
  try {
    validate = compileJsonSchema(definition.inputs);
  } catch (error) {
    return [{ path: 'inputs', message: `could not be checked: ${cut((error as Error).message)}` }];
  }
  try {
    if (validate(inputs)) return [];
  } catch (error) {
    if (error instanceof RangeError)
      return [{ path: 'inputs', message: `could not be checked: ${SELF_REFERENCE}` }];
    throw error;
  }
  const errors = validate.errors ?? [];
  const issues = errors.slice(0, MAX_INPUT_ISSUES).map((e) => {
    const missing = e.keyword === 'required' ? `.${String(e.params.missingProperty)}` : '';
    const path = `inputs${e.instancePath.replaceAll('/', '.')}${missing}`;
    return { path: cut(path), message: missing ? 'is required' : cut(e.message ?? 'is not valid') };
  });
  const more = errors.length - issues.length;
  if (more > 0) issues.push({ path: 'inputs', message: `${more} more problems are not listed` });
  return issues;
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
