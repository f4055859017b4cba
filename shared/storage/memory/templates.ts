/** The PromptTemplateStore in memory: versions by id, listing by id. */
import { NotFoundError } from '../../errors.js';
import type {
  Page,
  PageRequest,
  PromptTemplate,
  PromptTemplateContent,
  PromptTemplateStore,
  PromptTemplateSummary,
} from '../../ports/index.js';
import type { CursorCodec } from '../cursor.js';
import {
  nextVersion,
  pinnedVersion,
  sameContent,
  TEMPLATES_SCOPE,
  templateContent,
  templateSummary,
} from '../template-rules.js';
import { jsonCopy } from './json-copy.js';
import { MemoryVersions, type Versions } from './versioned.js';

export class MemoryPromptTemplateStore implements PromptTemplateStore {
  readonly #templates: MemoryVersions<PromptTemplate, Versions<PromptTemplate>>;

  constructor(cursors: CursorCodec) {
    this.#templates = new MemoryVersions('Template', TEMPLATES_SCOPE, cursors);
  }

  async create(template: PromptTemplateContent, now: Date): Promise<PromptTemplate> {
    const content = templateContent(template);
    const version = nextVersion(content, undefined, now);
    this.#templates.add(content.id, { versions: [version] });
    return jsonCopy(version);
  }

  async update(template: PromptTemplateContent, now: Date): Promise<PromptTemplate> {
    const content = templateContent(template);
    const { versions } = this.#templates.entry(content.id);
    const latest = versions.at(-1)!;
    if (sameContent(content, latest)) return jsonCopy(latest);
    const version = nextVersion(content, latest, now);
    versions.push(version);
    return jsonCopy(version);
  }

  async get(id: string, version?: number): Promise<PromptTemplate> {
    return this.#templates.get(id, version);
  }

  async pinned(id: string, startedAt: string): Promise<PromptTemplate> {
    const found = pinnedVersion([...this.#templates.entry(id).versions].reverse(), startedAt);
    if (!found) throw new NotFoundError('Template', id);
    return jsonCopy(found);
  }

  async list(page?: PageRequest): Promise<Page<PromptTemplateSummary>> {
    return this.#templates.list(page, ({ versions }) =>
      templateSummary(versions.at(-1)!, versions[0]!.created_at),
    );
  }
}
