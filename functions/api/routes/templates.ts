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
import { jsonBody, queryParams } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
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

export function templateRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const templates = o.stores.templates;

  router.on('POST', '/v1/templates', async (request) => {
    const body = checked(jsonBody(request, createTemplateBody));
    const created = await templates.create(body, o.clock.now());
    return json(201, created, { location: `/v1/templates/${encodeURIComponent(created.id)}` });
  });

  router.on('GET', '/v1/templates', async (request) => {
    const page = await templates.list(queryParams(request, listQuery));
    return json(200, { items: page.items, next_cursor: page.next_cursor ?? null });
  });

  router.on('GET', '/v1/templates/{id}', async (request) => {
    const { version } = queryParams(request, versionQuery);
    return json(200, await templates.get(request.params.id!, version));
  });

  router.on('PUT', '/v1/templates/{id}', async (request) => {
    const id = request.params.id!;
    const { id: bodyId, ...rest } = jsonBody(request, updateTemplateBody);
    if (bodyId !== undefined && bodyId !== id) {
      throw unprocessable('The template id does not match the path', [
        { path: 'id', message: `the id is '${bodyId}' but the path names '${id}'` },
      ]);
    }
    return json(200, await templates.update(checked({ id, ...rest }), o.clock.now()));
  });
}
