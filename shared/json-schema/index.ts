/**
 * JSON Schemas and the regular expressions of workflows: one Ajv configuration and compile cache
 * (ajv.ts), the formats (formats.ts), the linear-time regex engine that every user-supplied pattern
 * runs on (linear-regexp.ts), and the checks the validator makes of a schema's patterns (patterns.ts).
 * Pure: no `node:` module, no I/O.
 */
export { cachedValidatorCount, compileJsonSchema, metaSchemaErrors, SELF_REFERENCE } from './ajv.js';
export { checkJsonAnswer, type JsonAnswer, parseJsonText, type SchemaIssue, validatorFor } from './answer.js';
export {
  compileLenientPattern,
  compileLinearRegExp,
  LinearRegExp,
  LinearRegexEngine,
  linearRegExpProblem,
  PatternRefused,
} from './linear-regexp.js';
export {
  type SchemaPathSegment,
  type SchemaPattern,
  type SchemaPatternProblem,
  schemaPatternProblems,
  schemaPatterns,
} from './patterns.js';
