/**
 * Every port through which the core reaches the world, in one place: the services steps use
 * (clock, ids, secrets, HTTP, AI, child runs, prompt templates), the stores, and the state machine.
 * Each has an in-memory adapter for tests and real adapters beside it; the core imports no vendor SDK.
 */

export * from './notifications.js';
export type * from './orchestration.js';
export type * from './services.js';
export * from './storage.js';
export type * from './telemetry.js';
export type * from './triggers.js';
