/** The storage contract against the in-memory adapters (one process: a peer is the same stores). */
import { createMemoryStores } from '../../../shared/storage/memory/stores.js';
import { describeStoreConformance } from './conformance.js';

describeStoreConformance('in memory', async () => {
  const stores = createMemoryStores();
  return { stores, peer: () => stores, close: async () => {} };
});
