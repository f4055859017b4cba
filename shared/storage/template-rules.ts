/**
 * What the prompt template stores accept and how they number, date and pin versions, shared by the
 * in-memory and the DynamoDB adapters so both answer alike (CONTRACT §7).
 */
import { ValidationError } from '../errors.js';
import type { PromptTemplate, PromptTemplateContent, PromptTemplateSummary } from '../ports/index.js';
import { canonicalJson } from './content-hash.js';

/** The same rule as a workflow id: it appears in paths and keys. */
export const TEMPLATE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A version is one DynamoDB item (400 KB); this leaves room for its keys and attributes. */
export const MAX_TEMPLATE_BYTES = 350 * 1024;

/** Cursor scope of the template list. */
export const TEMPLATES_SCOPE: unknown[] = ['templates'];

/** The content as stored (no undefined fields), refused when its id or size cannot be stored. */
export function templateContent(template: PromptTemplateContent): PromptTemplateContent {
  if (!TEMPLATE_ID.test(template.id)) {
    throw new ValidationError(`'${template.id}' is not a template id`, [
      { path: 'id', message: `must match ${TEMPLATE_ID.source}` },
    ]);
  }
  const content: PromptTemplateContent = {
    id: template.id,
    text: template.text,
    ...(template.system === undefined ? {} : { system: template.system }),
    ...(template.model === undefined ? {} : { model: template.model }),
    ...(template.description === undefined ? {} : { description: template.description }),
  };
  const bytes = Buffer.byteLength(JSON.stringify(content), 'utf8');
  if (bytes > MAX_TEMPLATE_BYTES) {
    throw new ValidationError(`The template is ${bytes} bytes as JSON; the limit is ${MAX_TEMPLATE_BYTES}`, [
      { path: '', message: `must be at most ${MAX_TEMPLATE_BYTES} bytes as JSON` },
    ]);
  }
  return content;
}

/** Does `content` say the same as the stored version (a PUT of it adds no version)? */
export function sameContent(content: PromptTemplateContent, stored: PromptTemplate): boolean {
  const { version: _v, created_at: _c, ...storedContent } = stored;
  return canonicalJson(content) === canonicalJson(storedContent);
}

/**
 * The next version after `previous`. Its `created_at` never goes back (a host whose clock is behind
 * the one that stored the previous version takes that one's time): `pinned` relies on it.
 */
export function nextVersion(
  content: PromptTemplateContent,
  previous: PromptTemplate | undefined,
  now: Date,
): PromptTemplate {
  const at = now.toISOString();
  return {
    ...content,
    version: (previous?.version ?? 0) + 1,
    created_at: previous && previous.created_at > at ? previous.created_at : at,
  };
}

/** Of versions sorted newest first: the one a run started at `startedAt` uses (see PromptTemplateSource.pinned). */
export function pinnedVersion<T extends { version: number; created_at: string }>(
  newestFirst: readonly T[],
  startedAt: string,
): T | undefined {
  const at = new Date(startedAt).toISOString();
  return newestFirst.find((v) => v.created_at <= at) ?? newestFirst.at(-1);
}

export function templateSummary(latest: PromptTemplate, createdAt: string): PromptTemplateSummary {
  return {
    id: latest.id,
    latest_version: latest.version,
    ...(latest.description === undefined ? {} : { description: latest.description }),
    created_at: createdAt,
    updated_at: latest.created_at,
  };
}
