/** Every store but artifacts on DynamoDB, as a runtime's wiring module builds them. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LargePayloads, Stores } from '../../ports/index.js';
import { CallbackTokenKey } from '../callback-token.js';
import { CursorCodec } from '../cursor.js';
import { DynamoDbCallbackTokens } from './callbacks.js';
import { DynamoDbIdempotencyKeys } from './idempotency.js';
import { DynamoDbSignalInbox } from './inbox.js';
import { DynamoDbListenerStore } from './listeners.js';
import { DynamoDbOutbox } from './outbox.js';
import { DynamoDbRunStore } from './runs.js';
import type { TableNames } from './tables.js';
import { DynamoDbPromptTemplateStore } from './templates.js';
import { DynamoDbRunTrees } from './trees.js';
import { DynamoDbWorkflowStore } from './workflows.js';

export interface DynamoDbStoreOptions {
  client: DynamoDBClient;
  tables: TableNames;
  /** Signs list cursors (a config secret, ≥ 16 bytes): the same in every process serving one API. */
  cursorKey: string | Uint8Array;
  /** Derives callback tokens (a config secret, ≥ 16 bytes; may be the cursor key: uses are separated). */
  tokenKey: string | Uint8Array;
  /** Claim checks for large states, events, outputs and signals (S3). */
  largePayloads?: LargePayloads;
  /** See DynamoDbRunStore: a snapshot at least every this many commits (default 100). */
  snapshotEvery?: number;
  /** See DynamoDbRunStore: the least bytes of deltas before a snapshot (default 16 KB). */
  snapshotMinBytes?: number;
}

export function createDynamoDbStores(
  options: DynamoDbStoreOptions,
): Omit<Stores, 'artifacts' | 'runs'> & { runs: DynamoDbRunStore } {
  const { client, tables, largePayloads } = options;
  const cursors = new CursorCodec(options.cursorKey);
  return {
    workflows: new DynamoDbWorkflowStore({ client, table: tables.workflows, cursors }),
    templates: new DynamoDbPromptTemplateStore({ client, table: tables.workflows, cursors }),
    runs: new DynamoDbRunStore({
      client,
      table: tables.runs,
      cursors,
      ...(largePayloads ? { largePayloads } : {}),
      ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }),
      ...(options.snapshotMinBytes === undefined ? {} : { snapshotMinBytes: options.snapshotMinBytes }),
    }),
    inbox: new DynamoDbSignalInbox({
      client,
      table: tables.runs,
      ...(largePayloads ? { largePayloads } : {}),
    }),
    callbacks: new DynamoDbCallbackTokens({
      client,
      table: tables.tokens,
      key: new CallbackTokenKey(options.tokenKey),
    }),
    idempotency: new DynamoDbIdempotencyKeys({ client, table: tables.tokens }),
    trees: new DynamoDbRunTrees({ client, table: tables.tokens }),
    listeners: new DynamoDbListenerStore({ client, table: tables.listeners, cursors }),
    outbox: new DynamoDbOutbox({ client, table: tables.runs, cursors }),
  };
}
