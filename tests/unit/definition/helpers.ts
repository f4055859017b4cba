/** Shared fixtures of the definition tests: the CONTRACT §1 onboarding workflow and small builders. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { type ValidateOptions, validateWorkflow } from '../../../shared/definition/validate.js';
import type { ErrorIssue } from '../../../shared/errors.js';

/** The example of CONTRACT.md §1, verbatim. */
export const onboardingYaml = readFileSync(new URL('./fixtures/onboarding.yaml', import.meta.url), 'utf8');

/** A fresh copy of the onboarding workflow as data, to change in one test without touching another. */
export function onboarding(): Record<string, unknown> & { steps: Array<Record<string, unknown>> } {
  return parse(onboardingYaml);
}

/** A workflow around the given steps. */
export function workflowWith(steps: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schema_version: '1.0', id: 'test', ...extra, steps };
}

/** A step that always succeeds, with the given next. */
export function transformStep(id: string, next?: unknown): Record<string, unknown> {
  return next === undefined
    ? { id, type: 'transform', config: { output: 1 } }
    : { id, type: 'transform', config: { output: 1 }, next };
}

export function errorsOf(input: unknown, options?: ValidateOptions): ErrorIssue[] {
  return validateWorkflow(input, options).errors;
}

/** The errors as `path: message` lines, easy to match with `toContainEqual(expect.stringMatching(...))`. */
export function problemsOf(input: unknown, options?: ValidateOptions): string[] {
  return errorsOf(input, options).map((e) => `${e.path}: ${e.message}`);
}
