/**
 * Host side, imported once by the composition root (and by vitest's setupFiles): lets V8 switch a
 * regex that backtracks excessively to its linear-time engine, for the whole process.
 *
 * Workflow patterns no longer depend on it: JSON Schema patterns, form field patterns and JSONata
 * regex literals run on the linear-time engine of shared/json-schema. It still covers the regexes
 * JSONata builds by itself (`$toMillis` pictures) and any other library's, when they have neither
 * the `u` nor the `i` flag (V8's fallback leaves those out).
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
