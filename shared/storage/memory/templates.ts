/** The PromptTemplateStore in memory: versions by id, listing by id. */
import { ConflictError, NotFoundError } from '../../errors.js';
import type {
  Page,
  PageRequest,
  PromptTemplate,
  PromptTemplateContent,
  PromptTemplateStore,
  PromptTemplateSummary,
} from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { compareKeys, pageLimit } from '../paging.js';
import {
  nextVersion,
  pinnedVersion,
  sameContent,
  TEMPLATES_SCOPE,
  templateContent,
  templateSummary,
} from '../template-rules.js';
import { jsonCopy } from './json-copy.js';

export class MemoryPromptTemplateStore implements PromptTemplateStore {
  /** Versions of each template, oldest first. */
  readonly #templates = new Map<string, PromptTemplate[]>();
  readonly #cursors: CursorCodec;

  constructor(cursors: CursorCodec) {
    this.#cursors = cursors;
  }

  async create(template: PromptTemplateContent, now: Date): Promise<PromptTemplate> {
    const content = templateContent(template);
    if (this.#templates.has(content.id)) throw new ConflictError(`Template '${content.id}' already exists`);
    const version = nextVersion(content, undefined, now);
    this.#templates.set(content.id, [version]);
    return jsonCopy(version);
  }

  async update(template: PromptTemplateContent, now: Date): Promise<PromptTemplate> {
    const content = templateContent(template);
    const versions = this.#templates.get(content.id);
    if (!versions) throw new NotFoundError('Template', content.id);
    const latest = versions.at(-1)!;
    if (sameContent(content, latest)) return jsonCopy(latest);
    const version = nextVersion(content, latest, now);
    versions.push(version);
    return jsonCopy(version);
  }

  async get(id: string, version?: number): Promise<PromptTemplate> {
    const versions = this.#templates.get(id) ?? [];
    const found = version === undefined ? versions.at(-1) : versions[version - 1];
    if (!found) throw new NotFoundError('Template', version === undefined ? id : `${id} v${version}`);
    return jsonCopy(found);
  }

  async pinned(id: string, startedAt: string): Promise<PromptTemplate> {
    const found = pinnedVersion([...(this.#templates.get(id) ?? [])].reverse(), startedAt);
    if (!found) throw new NotFoundError('Template', id);
    return jsonCopy(found);
  }

  async list(page?: PageRequest): Promise<Page<PromptTemplateSummary>> {
    const limit = pageLimit(page);
    const after =
      page?.cursor === undefined
        ? undefined
        : positionString(this.#cursors.decode(TEMPLATES_SCOPE, page.cursor), 'id');
    const ids = [...this.#templates.keys()]
      .filter((id) => after === undefined || compareKeys(id, after) > 0)
      .sort(compareKeys);
    const items = ids.slice(0, limit).map((id) => {
      const versions = this.#templates.get(id)!;
      return templateSummary(versions.at(-1)!, versions[0]!.created_at);
    });
    const result: Page<PromptTemplateSummary> = { items: jsonCopy(items) };
    if (ids.length > limit)
      result.next_cursor = this.#cursors.encode(TEMPLATES_SCOPE, { id: items.at(-1)!.id });
    return result;
  }
}
