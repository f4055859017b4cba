/** `/v1/workflows`: create, list, read, new version, retire, validate. YAML (`text/yaml`) or JSON. */
import { z } from 'zod';
import { parseDocument } from '../../../shared/definition/parse.js';
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import { templateReferenceProblems } from '../../../shared/definition/template-references.js';
import { type ValidationResult, validateWorkflow } from '../../../shared/definition/validate.js';
import { type ErrorIssue, ValidationError } from '../../../shared/errors.js';
import { definitionText } from '../../../shared/storage/rules.js';
import type { ApiDeps } from '../deps.js';
import { VERSION_INFO, WORKFLOW, WORKFLOW_SUMMARY, WORKFLOW_VERSION } from '../examples.js';
import { badRequest, unprocessable } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { queryParams } from '../params.js';
import type { ApiRequest } from '../request.js';
import { type ApiResult, empty, json } from '../response.js';
import type { Router } from '../router.js';
import { page, validation, workflowSummary, workflowVersion, workflowVersionInfo } from '../schemas.js';

/** Query schemas are strict: an unknown query parameter is 422 (CONTRACT §9). */
export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

export const versionQuery = z.strictObject({ version: z.coerce.number().int().min(1).optional() });

/** `GET /v1/workflows/{id}/versions`: pages like the list. */
export const versionsQuery = listQuery;

const BAD_WORKFLOW =
  'The workflow is not valid (`errors[]` has the path, and for YAML the line, of each problem)';
const MALFORMED = 'Empty, or not readable as JSON or YAML';
const VALIDATION_EXAMPLE = {
  valid: false,
  errors: [{ path: 'steps[1].next', message: "unknown step 'send'", line: 14, column: 11 }],
};

const docs = {
  validate: {
    operationId: 'validateWorkflow',
    tag: 'Workflows',
    summary: 'Check a workflow without saving it',
    body: { schema: 'workflow', example: WORKFLOW },
    replies: {
      200: {
        description: 'Whether it is valid, and every problem',
        schema: validation,
        example: VALIDATION_EXAMPLE,
      },
    },
    refusals: { 400: MALFORMED },
  },
  validateVersion: {
    operationId: 'validateWorkflowVersion',
    tag: 'Workflows',
    summary: 'Check a new version of a workflow without saving it',
    description: 'Also checks that the id in the body is the one in the path.',
    body: { schema: 'workflow', example: WORKFLOW },
    replies: {
      200: {
        description: 'Whether it is valid, and every problem',
        schema: validation,
        example: VALIDATION_EXAMPLE,
      },
    },
    refusals: { 400: MALFORMED, 404: 'No such workflow' },
  },
  create: {
    operationId: 'createWorkflow',
    tag: 'Workflows',
    summary: 'Register a workflow: version 1',
    description: 'The body is the workflow as JSON, or as YAML with `content-type: text/yaml`.',
    body: { schema: 'workflow', example: WORKFLOW },
    replies: {
      201: { description: 'Created', schema: workflowVersion, example: { ...WORKFLOW_VERSION, version: 1 } },
    },
    refusals: { 400: MALFORMED, 409: 'A workflow with this id exists (retired ones too)', 422: BAD_WORKFLOW },
  },
  list: {
    operationId: 'listWorkflows',
    tag: 'Workflows',
    summary: 'List workflows, by id',
    query: listQuery,
    replies: {
      200: {
        description: 'A page of workflows',
        schema: page(workflowSummary, 'WorkflowPage'),
        example: { items: [WORKFLOW_SUMMARY], next_cursor: null },
      },
    },
  },
  get: {
    operationId: 'getWorkflow',
    tag: 'Workflows',
    summary: 'Read the latest version of a workflow, or one version',
    query: versionQuery,
    replies: { 200: { description: 'The version', schema: workflowVersion, example: WORKFLOW_VERSION } },
    refusals: { 404: 'No such workflow or version' },
  },
  versions: {
    operationId: 'listWorkflowVersions',
    tag: 'Workflows',
    summary: 'Every version of a workflow, newest first',
    query: versionsQuery,
    replies: {
      200: {
        description: 'A page of versions, each with when it was made and a hash of its content',
        schema: page(workflowVersionInfo, 'WorkflowVersionPage'),
        example: { items: [VERSION_INFO, { ...VERSION_INFO, version: 1 }], next_cursor: null },
      },
    },
    refusals: { 404: 'No such workflow' },
  },
  update: {
    operationId: 'updateWorkflow',
    tag: 'Workflows',
    summary: 'Add a version of a workflow',
    description:
      'Content equal to the latest version adds none (200 with that version). On a retired workflow the ' +
      'PUT always adds a version and revives it.',
    body: { schema: 'workflow', example: WORKFLOW },
    replies: {
      200: {
        description: 'The new (or unchanged latest) version',
        schema: workflowVersion,
        example: WORKFLOW_VERSION,
      },
    },
    refusals: {
      400: MALFORMED,
      404: 'No such workflow',
      422: `${BAD_WORKFLOW}, or its id is not the one in the path`,
    },
  },
  retire: {
    operationId: 'retireWorkflow',
    tag: 'Workflows',
    summary: 'Retire a workflow: it starts no new runs',
    description: 'Runs under way finish. The workflow stays readable; a PUT of a new version revives it.',
    replies: { 204: { description: 'Retired' } },
    refusals: { 404: 'No such workflow' },
  },
} satisfies Record<string, OperationDoc>;

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
      return tooLargeToStore(parsed.value) ?? validateWorkflow(body.text, { format: 'yaml', registry });
    }
    return tooLargeToStore(body.value) ?? validateWorkflow(body.value, { registry });
  };

  const valid = (result: ValidationResult): WorkflowDefinition => {
    if (result.valid && result.workflow) return result.workflow;
    throw unprocessable(`The workflow is not valid: ${result.errors.length} problem(s)`, result.errors);
  };

  router.on(
    'POST',
    '/v1/workflows/validate',
    async (request) => {
      const result = await validateBody(request);
      return json(200, { valid: result.valid, errors: result.errors });
    },
    docs.validate,
  );

  router.on(
    'POST',
    '/v1/workflows/{id}/validate',
    async (request) => {
      const id = request.params.id!;
      await workflows.summary(id);
      const result = await validateBody(request);
      const errors: ErrorIssue[] = [...result.errors];
      if (result.workflow && result.workflow.id !== id) errors.push(idMismatch(id, result.workflow.id));
      return json(200, { valid: errors.length === 0, errors });
    },
    docs.validateVersion,
  );

  router.on(
    'POST',
    '/v1/workflows',
    async (request) => {
      const definition = valid(await validateBody(request));
      const created = await workflows.create(definition, o.clock.now());
      return json(201, versionView(created, false), {
        location: `/v1/workflows/${encodeURIComponent(created.id)}`,
      });
    },
    docs.create,
  );

  router.on(
    'GET',
    '/v1/workflows',
    async (request) => {
      const query = queryParams(request, listQuery);
      const found = await workflows.list(query);
      return json(200, { items: found.items, next_cursor: found.next_cursor ?? null });
    },
    docs.list,
  );

  router.on(
    'GET',
    '/v1/workflows/{id}',
    async (request) => {
      const { version } = queryParams(request, versionQuery);
      const id = request.params.id!;
      const [summary, found] = await Promise.all([workflows.summary(id), workflows.get(id, version)]);
      return json(200, versionView(found, summary.retired === true));
    },
    docs.get,
  );

  router.on(
    'GET',
    '/v1/workflows/{id}/versions',
    async (request) => {
      const query = queryParams(request, versionsQuery);
      const found = await workflows.versions(request.params.id!, query);
      return json(200, { items: found.items, next_cursor: found.next_cursor ?? null });
    },
    docs.versions,
  );

  // A PUT whose content equals the latest version's adds none: 200 with that version; on a retired
  // workflow it adds one, which revives it (CONTRACT §9).
  router.on(
    'PUT',
    '/v1/workflows/{id}',
    async (request) => {
      const id = request.params.id!;
      const definition = valid(await validateBody(request));
      if (definition.id !== id) {
        throw unprocessable('The workflow id does not match the path', [idMismatch(id, definition.id)]);
      }
      const updated = await workflows.update(definition, o.clock.now());
      return json(200, versionView(updated, false));
    },
    docs.update,
  );

  router.on(
    'DELETE',
    '/v1/workflows/{id}',
    async (request): Promise<ApiResult> => {
      await workflows.retire(request.params.id!, o.clock.now());
      return empty(204);
    },
    docs.retire,
  );
}

/** The stores' own size rule (one limit, wherever it is checked), as validation errors. */
function storable(result: ValidationResult): ValidationResult {
  if (!result.valid || !result.workflow) return result;
  const issues = sizeIssues(result.workflow);
  return issues.length === 0 ? result : { valid: false, errors: [...result.errors, ...issues] };
}

/**
 * A document the stores would refuse for its size, refused before it is checked: checking compiles
 * each JSON Schema in it, which held the process for 10 s on a document of 1 MB (8,000 inputs with
 * `anyOf`) before the store refused it. What is stored (with the defaults filled in) is never
 * smaller than what was sent.
 */
function tooLargeToStore(document: unknown): ValidationResult | undefined {
  const issues = sizeIssues(document);
  return issues.length === 0 ? undefined : { valid: false, errors: issues };
}

function sizeIssues(definition: unknown): ErrorIssue[] {
  try {
    definitionText(definition as WorkflowDefinition);
    return [];
  } catch (error) {
    // A document that is no JSON at all (a YAML alias inside itself) is the validator's to report.
    if (error instanceof TypeError) return [];
    if (!(error instanceof ValidationError)) throw error;
    // The document-wide issue says the limit; the error's message also says the size.
    return error.issues.map((issue) =>
      issue.path ? issue : { ...issue, path: '(root)', message: error.message },
    );
  }
}

function idMismatch(path: string, body: string): ErrorIssue {
  return { path: 'id', message: `the id is '${body}' but the path names '${path}'` };
}

function versionView(
  v: { id: string; version: number; definition: WorkflowDefinition; created_at: string },
  retired: boolean,
): z.input<typeof workflowVersion> {
  return { id: v.id, version: v.version, created_at: v.created_at, retired, definition: v.definition };
}
