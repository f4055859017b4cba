/** Prompt templates kept in memory: for tests and for the templates a local runtime loads at start. */
import { NotFoundError } from '../errors.js';
import type { PromptTemplate, PromptTemplateSource } from '../ports/index.js';

/** A template source over the given templates; without a version, `get` answers the highest one. */
export function createMemoryPromptTemplates(templates: Iterable<PromptTemplate>): PromptTemplateSource {
  const byId = new Map<string, PromptTemplate[]>();
  for (const template of templates) {
    const versions = byId.get(template.id) ?? [];
    versions.push(template);
    byId.set(template.id, versions);
  }
  return {
    async get(id, version) {
      const versions = byId.get(id) ?? [];
      const found =
        version === undefined
          ? versions.reduce<PromptTemplate | undefined>(
              (a, b) => (a && a.version >= b.version ? a : b),
              undefined,
            )
          : versions.find((t) => t.version === version);
      if (!found) throw new NotFoundError('Prompt template', version === undefined ? id : `${id}@${version}`);
      return found;
    },
  };
}
