/**
 * dynalite (DynamoDB in Node, on LevelDB) started in-process, and the DynamoDB client that talks to
 * it, so the production DynamoDB adapters run unchanged on one machine.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../dynamodb/client.js';

/** The part of dynalite's options (it ships no types) that is used here. */
interface DynaliteOptions {
  path?: string;
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}

// dynalite is CommonJS without types; loading it through require keeps the typing in this file.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: DynaliteOptions) => Server;

export const LOCAL_DYNAMODB_REGION = 'us-east-1';
/** Any key pair works: dynalite checks no signature, and static keys keep the SDK off the network. */
export const LOCAL_DYNAMODB_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface StartDynaliteOptions {
  /** A directory for the LevelDB files (data survives a restart); in memory when undefined. */
  path?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Stops the server and closes the database (flushed to disk); safe to call twice. */
  close(): Promise<void>;
}

export async function startDynalite({ path, port = 0 }: StartDynaliteOptions = {}): Promise<LocalDynamoDb> {
  // Tables are usable at once: nothing local waits for a table to become active.
  const server = dynalite({
    ...(path === undefined ? {} : { path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive sockets of SDK clients would otherwise hold the close open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export interface LocalDynamoDbClientOptions {
  endpoint: string;
  /** Attempts per request (default: the production client's). */
  maxAttempts?: number;
}

/** A client for a local endpoint (dynalite or DynamoDB Local): fixed region and keys, no credential lookups. */
export function createLocalDynamoDbClient({
  endpoint,
  maxAttempts,
}: LocalDynamoDbClientOptions): DynamoDBClient {
  return createDynamoDbClient({
    endpoint,
    region: LOCAL_DYNAMODB_REGION,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}
