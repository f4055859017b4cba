/** Every store but artifacts, in memory: for unit tests, the harness and the conformance suite. */
import { randomBytes } from 'node:crypto';
import type { Stores } from '../../ports/index.js';
import { CallbackTokenKey } from '../callback-token.js';
import { CursorCodec } from '../cursor.js';
import { MemoryCallbackTokens } from './callbacks.js';
import { MemoryIdempotencyKeys } from './idempotency.js';
import { MemorySignalInbox } from './inbox.js';
import { MemoryListenerStore } from './listeners.js';
import { MemoryOutbox } from './outbox.js';
import { MemoryRunStore } from './runs.js';
import { MemoryPromptTemplateStore } from './templates.js';
import { MemoryRunTrees } from './trees.js';
import { MemoryWorkflowStore } from './workflows.js';

export type RecordStores = Omit<Stores, 'artifacts'>;

export interface MemoryStoreOptions {
  /** Signs list cursors; a random key unless given (cursors never outlive the process anyway). */
  cursorKey?: string | Uint8Array;
  /** Derives callback tokens; a random key unless given. */
  tokenKey?: string | Uint8Array;
}

/** The in-memory stores by their classes, so in-process drivers can use what only memory offers (`runs.inspect`). */
export interface MemoryStores extends RecordStores {
  workflows: MemoryWorkflowStore;
  runs: MemoryRunStore;
}

export function createMemoryStores(options: MemoryStoreOptions = {}): MemoryStores {
  const cursors = new CursorCodec(options.cursorKey ?? randomBytes(32));
  return {
    workflows: new MemoryWorkflowStore(cursors),
    templates: new MemoryPromptTemplateStore(cursors),
    runs: new MemoryRunStore(cursors),
    inbox: new MemorySignalInbox(),
    callbacks: new MemoryCallbackTokens(new CallbackTokenKey(options.tokenKey ?? randomBytes(32))),
    idempotency: new MemoryIdempotencyKeys(),
    trees: new MemoryRunTrees(),
    listeners: new MemoryListenerStore(cursors),
    outbox: new MemoryOutbox(cursors),
  };
}
