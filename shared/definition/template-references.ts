/**
 * The check the validator can only make with the template store at hand: every `ai_generate` step's
 * `template_id` (and `template_version`) names a stored prompt template. Kept apart from the
 * synchronous, pure validation (validate.ts): callers that reach a store (the API, `flowrunner
 * validate` against a server) add these problems to its result.
 */
import { type ErrorIssue, NotFoundError } from '../errors.js';
import { hasPlaceholder } from '../expressions/index.js';
import type { PromptTemplateSource } from '../ports/index.js';
import { formatPath, type PathSegment } from './paths.js';
import type { WorkflowDefinition } from './schema.js';

interface Reference {
  path: PathSegment[];
  id: string;
  version?: number;
}

/** The templates a workflow names with a fixed id (an id made by a placeholder is known only at run time). */
export function templateReferences(workflow: WorkflowDefinition): Reference[] {
  const found: Reference[] = [];
  const visit = (action: { type: string; config?: Record<string, unknown> }, base: PathSegment[]) => {
    const config = action.config ?? {};
    const id = config.template_id;
    if (action.type !== 'ai_generate' || typeof id !== 'string' || hasPlaceholder(id)) return;
    const version = config.template_version;
    found.push({
      path: [...base, 'config'],
      id,
      ...(typeof version === 'number' ? { version } : {}),
    });
  };
  workflow.steps.forEach((step, index) => {
    visit(step, ['steps', index]);
    if (step.compensate) visit(step.compensate, ['steps', index, 'compensate']);
  });
  return found;
}

/**
 * A problem for each reference to a template or version the store does not have. Each template is
 * read once. Any failure other than NotFound (the store cannot be reached) is thrown to the caller.
 */
export async function templateReferenceProblems(
  workflow: WorkflowDefinition,
  templates: Pick<PromptTemplateSource, 'get'>,
): Promise<ErrorIssue[]> {
  const latest = new Map<string, Promise<number | undefined>>();
  const latestOf = (id: string) => {
    let known = latest.get(id);
    if (!known) {
      known = templates.get(id).then(
        (t) => t.version,
        (error: unknown) => {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        },
      );
      latest.set(id, known);
    }
    return known;
  };
  const problems: ErrorIssue[] = [];
  for (const reference of templateReferences(workflow)) {
    const version = await latestOf(reference.id);
    if (version === undefined) {
      problems.push({
        path: formatPath([...reference.path, 'template_id']),
        message: `unknown prompt template '${reference.id}'; create it first (POST /v1/templates)`,
      });
    } else if (reference.version !== undefined && reference.version > version) {
      problems.push({
        path: formatPath([...reference.path, 'template_version']),
        message: `prompt template '${reference.id}' has no version ${reference.version}; its latest is ${version}`,
      });
    }
  }
  return problems;
}
