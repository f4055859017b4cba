/**
 * What a path parameter may hold, decided by the collection it names (`/v1/executions/{id}` holds a
 * run id). The router checks every parameter before a route runs, so a malformed or 10,000-character
 * id is a 404 that states the rule, and never reaches a store (DynamoDB refuses long keys with a
 * ValidationException, which would be a 500).
 */

export interface PathParamRule {
  /** What the parameter names, for the answer: "run", "workflow". */
  what: string;
  pattern: RegExp;
  maxLength: number;
  /** The rule in words. */
  rule: string;
}

// C0 and C1 control characters: never part of an id or a name.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f]+$/;
const URL_SAFE = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

/** CONTRACT §1: workflow ids. */
const workflowId: PathParamRule = {
  what: 'workflow',
  pattern: /^[a-z0-9][a-z0-9_-]*$/,
  maxLength: 64,
  rule: "a workflow id is 1 to 64 lower-case letters, digits, '_' and '-', starting with a letter or digit",
};

/** Run ids are URL-safe (`Ids.next`, child runs); the artifact store applies the same rule. */
const runId: PathParamRule = {
  what: 'run',
  pattern: URL_SAFE,
  maxLength: 128,
  rule: "a run id is 1 to 128 letters, digits, '_', '-', '.' and '~'",
};

const listenerId: PathParamRule = {
  what: 'listener',
  pattern: URL_SAFE,
  maxLength: 128,
  rule: "a listener id is 1 to 128 letters, digits, '_', '-', '.' and '~'",
};

/** Tokens are base64url today; the bound leaves room for other shapes without letting a store see junk. */
const callbackToken: PathParamRule = {
  what: 'callback token',
  pattern: URL_SAFE,
  maxLength: 256,
  rule: "a callback token is 1 to 256 letters, digits, '_', '-', '.' and '~'",
};

/** The artifact store names the rest of its rules (folders, `..`) itself. */
const artifactName: PathParamRule = {
  what: 'artifact',
  pattern: PRINTABLE,
  maxLength: 256,
  rule: 'an artifact name is 1 to 256 characters without control characters',
};

/** Any other parameter: bounded and printable, so nothing unbounded reaches a store. */
const anyParam: PathParamRule = {
  what: 'resource',
  pattern: PRINTABLE,
  maxLength: 256,
  rule: 'a path parameter is 1 to 256 characters without control characters',
};

/** CONTRACT §7: template ids follow the workflow id rule. */
const templateId: PathParamRule = {
  what: 'template',
  pattern: workflowId.pattern,
  maxLength: workflowId.maxLength,
  rule: "a template id is 1 to 64 lower-case letters, digits, '_' and '-', starting with a letter or digit",
};

const BY_COLLECTION: Record<string, PathParamRule> = {
  workflows: workflowId,
  templates: templateId,
  executions: runId,
  listeners: listenerId,
  hooks: listenerId,
  callbacks: callbackToken,
  artifacts: artifactName,
};

/** The rule of the parameter that follows `collection` in a route pattern (`executions` → run id). */
export function pathParamRule(collection: string | undefined): PathParamRule {
  return (collection !== undefined && BY_COLLECTION[collection]) || anyParam;
}

/** Undefined when `value` keeps the rule; otherwise the 404 detail that says why nothing can be there. */
export function pathParamProblem(rule: PathParamRule, value: string): string | undefined {
  if (value.length > 0 && value.length <= rule.maxLength && rule.pattern.test(value)) return undefined;
  const shown = value.length > 64 ? `'${value.slice(0, 64)}…' (${value.length} characters)` : `'${value}'`;
  return `No ${rule.what} ${shown}: ${rule.rule}`;
}
