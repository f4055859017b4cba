/** What the API needs: the orchestrator's dependencies with every store, and its own settings. */
import type { OrchestratorDeps } from '../../shared/orchestration/orchestrator.js';
import type { Stores } from '../../shared/ports/index.js';

export type ApiOrchestratorDeps = OrchestratorDeps & { stores: Stores };

export interface ApiDeps {
  orchestrator: ApiOrchestratorDeps;
  /** The largest request body, in bytes (default 1 MB). */
  maxBodyBytes?: number;
  /** SHA-256 hex of the accepted API keys; undefined = no authentication (the local default). */
  apiKeys?: { hashes: string[] } | undefined;
  /** Origins allowed by CORS (default `*`). */
  corsOrigins?: string[];
  /** Where 500s are logged (default console.error); false for none. */
  logger?: ((message: string) => void) | false;
}
