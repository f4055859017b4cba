/** What the API needs: the orchestrator's dependencies (composeOrchestrator's), and its own settings. */

import type { OrchestratorDeps } from '../../shared/orchestration/orchestrator.js';
import type { EventBus, Schedules } from '../../shared/ports/index.js';
import type { ApiKey } from './middleware/api-key-auth.js';

export interface ApiDeps {
  orchestrator: OrchestratorDeps;
  /** The largest request body, in bytes (default 1 MB). */
  maxBodyBytes?: number;
  /** SHA-256 hex of the accepted API keys; undefined = no authentication (the local default). */
  apiKeys?: { keys: readonly ApiKey[] } | undefined;
  /** Origins allowed by CORS (default `*`). */
  corsOrigins?: string[];
  /** Where 500s are logged (default console.error); false for none. */
  logger?: ((message: string) => void) | false;
  /** Told after each change of a schedule listener (CONTRACT §6); none: the host fires no schedules. */
  schedules?: Schedules;
  /** Behind `POST /v1/events`; none: 503 (the host has no event bus). */
  bus?: EventBus;
}
