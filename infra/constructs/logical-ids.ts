/**
 * Logical ids as CDK makes them (`makeUniqueId` in aws-cdk-lib/core/lib/private/uniqueid.ts, which
 * can never change: every deployed stack depends on it), with some constructs left out of the path.
 */
import { createHash } from 'node:crypto';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** CDK leaves `Default` out of ids entirely, and `Resource` out of their readable part (not of the hash). */
const HIDDEN = 'Default';
const HIDDEN_FROM_HUMAN = 'Resource';
const MAX_HUMAN_LENGTH = 240;
const MAX_LENGTH = 255;

/**
 * The element's logical id as if the scopes for which `skip` is true were not in its path: a
 * construct that groups resources can be added above them without renaming, hence replacing, them.
 */
export function logicalIdWithout(element: CfnElement, skip: (scope: IConstruct) => boolean): string {
  const scopes = element.node.scopes;
  const components = scopes
    .slice(scopes.indexOf(element.stack) + 1)
    .filter((scope) => scope === element || !skip(scope))
    .map((scope) => scope.node.id)
    .filter((id) => id !== HIDDEN);
  if (components.length === 0)
    throw new Error(`no logical id for ${element.node.path}: every part is hidden`);
  if (components.length === 1) {
    const candidate = alphanumeric(components[0]!);
    if (candidate.length <= MAX_LENGTH) return candidate;
  }
  // CDK's md5hash, without importing its internals (not an ESM export: `npm run synth` under tsx failed).
  const hash = createHash('md5').update(components.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human = withoutRepeats(components)
    .filter((id) => id !== HIDDEN_FROM_HUMAN)
    .map(alphanumeric)
    .join('')
    .slice(0, MAX_HUMAN_LENGTH);
  return human + hash;
}

function alphanumeric(id: string): string {
  return id.replace(/[^A-Za-z0-9]/g, '');
}

/** Drops a component that the one before it ends with (`Bucket` after `DataBucket`), as CDK does. */
function withoutRepeats(components: string[]): string[] {
  const kept: string[] = [];
  for (const component of components) {
    if (kept.length === 0 || !kept[kept.length - 1]!.endsWith(component)) kept.push(component);
  }
  return kept;
}
