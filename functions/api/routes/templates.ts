/**
 * `/v1/templates` (CONTRACT §7): prompt templates for `ai_generate`. `POST` creates version 1, `PUT`
 * adds a version (the same content again adds none), `GET` lists them or reads the latest or one
 * version. Every placeholder must parse, so a broken template is refused here and not at run time.
 */
import { z } from 'zod';
import type { ErrorIssue } from '../../../shared/errors.js';
import { checkExpression, templateExpressions } from '../../../shared/expressions/index.js';
import type { PromptTemplateContent } from '../../../shared/ports/index.js';
import { TEMPLATE_ID } from '../../../shared/storage/template-rules.js';
import type { ApiDeps } from '../deps.js';
import { unprocessable } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { jsonBody, queryParams } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { page, promptTemplate, promptTemplateSummary } from '../schemas.js';
import { listQuery, versionQuery } from './workflows.js';

const content = {
  /** The prompt: `{{ }}` placeholders over the step's `variables`. */
  text: z.string().min(1).max(100_000),
  system: z.string().min(1).max(100_000).optional(),
  /** The model when a step names none. */
  model: z.string().min(1).max(200).optional(),
  description: z.string().max(1_000).optional(),
};

export const createTemplateBody = z.strictObject({
  id: z
    .string()
    .regex(
      TEMPLATE_ID,
      'must be 1 to 64 lower-case letters, digits, _ and -, starting with a letter or digit',
    ),
  ...content,
});

/** The path names the template; an `id` in the body must be the same. */
export const updateTemplateBody = z.strictObject({ id: z.string().optional(), ...content });

export { listQuery as templateListQuery, versionQuery as templateVersionQuery };

/** Every placeholder of the text and the system text must parse. */
function placeholderIssues(template: PromptTemplateContent): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  for (const field of ['text', 'system'] as const) {
    for (const placeholder of templateExpressions(template[field], field)) {
      const error = placeholder.error ?? checkExpression(placeholder.expression);
      if (error === undefined) continue;
      issues.push({
        path: field,
        message:
          placeholder.error === undefined
            ? `the placeholder {{ ${placeholder.expression} }} does not parse: ${error}`
            : error,
      });
    }
  }
  return issues;
}

function checked(template: PromptTemplateContent): PromptTemplateContent {
  const issues = placeholderIssues(template);
  if (issues.length > 0) throw unprocessable('The template is not valid', issues);
  return template;
}

const TEMPLATE = {
  id: 'welcome-mail',
  version: 2,
  text: 'Write a short welcome mail to {{ name }} for the {{ plan }} plan.',
  system: 'You write friendly, short mails.',
  created_at: '2026-01-05T09:30:00.000Z',
};
const NO_TEMPLATE = 'No such template, or no such version';

const docs = {
  create: {
    operationId: 'createTemplate',
    tag: 'Templates',
    summary: 'Create a prompt template: version 1',
    body: { schema: createTemplateBody, example: { ...TEMPLATE, version: undefined, created_at: undefined } },
    replies: {
      201: { description: 'Created', schema: promptTemplate, example: { ...TEMPLATE, version: 1 } },
    },
    refusals: {
      409: 'A template with this id exists',
      422: 'The body is not valid, or a placeholder does not parse',
    },
  },
  list: {
    operationId: 'listTemplates',
    tag: 'Templates',
    summary: 'List prompt templates by id',
    query: listQuery,
    replies: {
      200: {
        description: 'A page of templates',
        schema: page(promptTemplateSummary, 'PromptTemplatePage'),
        example: {
          items: [
            {
              id: TEMPLATE.id,
              latest_version: 2,
              created_at: TEMPLATE.created_at,
              updated_at: TEMPLATE.created_at,
            },
          ],
          next_cursor: null,
        },
      },
    },
  },
  get: {
    operationId: 'getTemplate',
    tag: 'Templates',
    summary: 'Read the latest version of a template, or the given one',
    query: versionQuery,
    replies: { 200: { description: 'The template', schema: promptTemplate, example: TEMPLATE } },
    refusals: { 404: NO_TEMPLATE },
  },
  update: {
    operationId: 'updateTemplate',
    tag: 'Templates',
    summary: 'Add a version of a template (the same content again adds none)',
    body: { schema: updateTemplateBody, example: { text: TEMPLATE.text, system: TEMPLATE.system } },
    replies: {
      200: {
        description: 'The new version, or the latest when nothing changed',
        schema: promptTemplate,
        example: TEMPLATE,
      },
    },
    refusals: {
      404: 'No such template',
      422: "The body is not valid, its id is not the path's, or a placeholder does not parse",
    },
  },
} satisfies Record<string, OperationDoc>;

export function templateRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const templates = o.stores.templates;

  router.on(
    'POST',
    '/v1/templates',
    async (request) => {
      const body = checked(jsonBody(request, createTemplateBody));
      const created = await templates.create(body, o.clock.now());
      return json(201, created, { location: `/v1/templates/${encodeURIComponent(created.id)}` });
    },
    docs.create,
  );

  router.on(
    'GET',
    '/v1/templates',
    async (request) => {
      const found = await templates.list(queryParams(request, listQuery));
      return json(200, { items: found.items, next_cursor: found.next_cursor ?? null });
    },
    docs.list,
  );

  router.on(
    'GET',
    '/v1/templates/{id}',
    async (request) => {
      const { version } = queryParams(request, versionQuery);
      return json(200, await templates.get(request.params.id!, version));
    },
    docs.get,
  );

  router.on(
    'PUT',
    '/v1/templates/{id}',
    async (request) => {
      const id = request.params.id!;
      const { id: bodyId, ...rest } = jsonBody(request, updateTemplateBody);
      if (bodyId !== undefined && bodyId !== id) {
        throw unprocessable('The template id does not match the path', [
          { path: 'id', message: `the id is '${bodyId}' but the path names '${id}'` },
        ]);
      }
      return json(200, await templates.update(checked({ id, ...rest }), o.clock.now()));
    },
    docs.update,
  );
}
