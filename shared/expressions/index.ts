/** Flowrunner's expressions: JSONata in `{{ }}` placeholders, evaluated in a sandbox, with secrets and their redaction. */
export { checkExpression, expressionCacheSize, referencesSecrets, stepsRead } from './compile.js';
export { type CompiledTemplate, compileTemplate, render } from './compiled-template.js';
export { type EvaluateOptions, evaluate } from './evaluate.js';
export { REDACTED, Redactor } from './redactor.js';
export type { RenderOptions } from './render-scope.js';
export { hasPlaceholder, parseTemplate, type TemplatePart, templateExpressions } from './template.js';
