/** `/v1/workflows`: create, list, read, new version, retire, validate. YAML (`text/yaml`) or JSON. */
import { z } from 'zod';
import { parseDocument } from '../../../shared/definition/parse.js';
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import { templateReferenceProblems } from '../../../shared/definition/template-references.js';
import { type ValidationResult, validateWorkflow } from '../../../shared/definition/validate.js';
import { type ErrorIssue, ValidationError } from '../../../shared/errors.js';
import { definitionText } from '../../../shared/storage/rules.js';
import type { ApiDeps } from '../deps.js';
import { badRequest, unprocessable } from '../http-error.js';
import { queryParams } from '../params.js';
import type { ApiRequest } from '../request.js';
import { type ApiResult, empty, json } from '../response.js';
import type { Router } from '../router.js';

/** Query schemas are strict: an unknown query parameter is 422 (CONTRACT §9). */
export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

export const versionQuery = z.strictObject({ version: z.coerce.number().int().min(1).optional() });

/** `GET /v1/workflows/{id}/versions`: pages like the list. */
export const versionsQuery = listQuery;

export function workflowRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const workflows = o.stores.workflows;

  /**
   * The body validated as a workflow, including the size a version may be stored at and the prompt
   * templates it names, so validate refuses exactly what create and PUT refuse; 400 when it cannot
   * be read at all.
   */
  const validateBody = async (request: ApiRequest): Promise<ValidationResult> => {
    const result = storable(readAndValidate(request));
    if (!result.valid || !result.workflow) return result;
    const problems = await templateReferenceProblems(result.workflow, o.stores.templates);
    return problems.length === 0 ? result : { valid: false, errors: [...result.errors, ...problems] };
  };

  const readAndValidate = (request: ApiRequest): ValidationResult => {
    const body = request.body;
    const registry = o.registry;
    if (body.kind === 'none') throw badRequest('The body is empty: send the workflow as JSON or text/yaml');
    if (body.kind === 'yaml') {
      const parsed = parseDocument(body.text, 'yaml');
      if (parsed.value === undefined) {
        throw badRequest(
          `The body is not valid YAML${parsed.issues[0] ? `: ${parsed.issues[0].message}` : ''}`,
          parsed.issues,
        );
      }
      return validateWorkflow(body.text, { format: 'yaml', registry });
    }
    return validateWorkflow(body.value, { registry });
  };

  const valid = (result: ValidationResult): WorkflowDefinition => {
    if (result.valid && result.workflow) return result.workflow;
    throw unprocessable(`The workflow is not valid: ${result.errors.length} problem(s)`, result.errors);
  };

  router.on('POST', '/v1/workflows/validate', async (request) => {
    const result = await validateBody(request);
    return json(200, { valid: result.valid, errors: result.errors });
  });

  router.on('POST', '/v1/workflows/{id}/validate', async (request) => {
    const id = request.params.id!;
    await workflows.summary(id);
    const result = await validateBody(request);
    const errors: ErrorIssue[] = [...result.errors];
    if (result.workflow && result.workflow.id !== id) errors.push(idMismatch(id, result.workflow.id));
    return json(200, { valid: errors.length === 0, errors });
  });

  router.on('POST', '/v1/workflows', async (request) => {
    const definition = valid(await validateBody(request));
    const created = await workflows.create(definition, o.clock.now());
    return json(201, versionView(created), { location: `/v1/workflows/${encodeURIComponent(created.id)}` });
  });

  router.on('GET', '/v1/workflows', async (request) => {
    const query = queryParams(request, listQuery);
    const page = await workflows.list(query);
    return json(200, { items: page.items, next_cursor: page.next_cursor ?? null });
  });

  router.on('GET', '/v1/workflows/{id}', async (request) => {
    const { version } = queryParams(request, versionQuery);
    const found = await workflows.get(request.params.id!, version);
    return json(200, versionView(found));
  });

  router.on('GET', '/v1/workflows/{id}/versions', async (request) => {
    const query = queryParams(request, versionsQuery);
    const page = await workflows.versions(request.params.id!, query);
    return json(200, { items: page.items, next_cursor: page.next_cursor ?? null });
  });

  // A PUT whose content equals the latest version's adds none: 200 with that version (CONTRACT §9).
  router.on('PUT', '/v1/workflows/{id}', async (request) => {
    const id = request.params.id!;
    const definition = valid(await validateBody(request));
    if (definition.id !== id) {
      throw unprocessable('The workflow id does not match the path', [idMismatch(id, definition.id)]);
    }
    const updated = await workflows.update(definition, o.clock.now());
    return json(200, versionView(updated));
  });

  router.on('DELETE', '/v1/workflows/{id}', async (request): Promise<ApiResult> => {
    await workflows.retire(request.params.id!, o.clock.now());
    return empty(204);
  });
}

/** The stores' own size rule (one limit, wherever it is checked), as validation errors. */
function storable(result: ValidationResult): ValidationResult {
  if (!result.valid || !result.workflow) return result;
  try {
    definitionText(result.workflow);
    return result;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    // The document-wide issue says the limit; the error's message also says the size.
    const issues = error.issues.map((issue) =>
      issue.path ? issue : { ...issue, path: '(root)', message: error.message },
    );
    return { valid: false, errors: [...result.errors, ...issues] };
  }
}

function idMismatch(path: string, body: string): ErrorIssue {
  return { path: 'id', message: `the id is '${body}' but the path names '${path}'` };
}

function versionView(v: { id: string; version: number; definition: WorkflowDefinition; created_at: string }) {
  return { id: v.id, version: v.version, created_at: v.created_at, definition: v.definition };
}
