/**
 * The four tables and their indexes, designed from the access patterns (docs/storage.md): the
 * definitions that `createTables` creates locally and that the CDK stack will reuse, so both places
 * hold the same keys.
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { StorageError } from '../../errors.js';
import { toStorageError } from './errors.js';

export interface TableNames {
  /** Workflow versions and one summary item per workflow. */
  workflows: string;
  /** Runs, their journal chunks (events and history) and their signal inboxes. */
  runs: string;
  /** Callback tokens and idempotency keys: short-lived items with a TTL. */
  tokens: string;
  listeners: string;
}

export function defaultTableNames(prefix = 'flowrunner'): TableNames {
  return {
    workflows: `${prefix}-workflows`,
    runs: `${prefix}-runs`,
    tokens: `${prefix}-tokens`,
    listeners: `${prefix}-listeners`,
  };
}

export const INDEXES = {
  /** workflows: every workflow's summary item, by id. */
  workflowsByKind: 'by_kind',
  /** runs: run items by status, newest first. */
  runsByStatus: 'by_status',
  /** runs: run items by `<workflow_id>#<status>`, newest first. */
  runsByWorkflowStatus: 'by_workflow_status',
  /** listeners: by the source that starts them (`s3#<bucket>`, `eventbridge…`, `schedule`: `sourceKey` in storage/rules.ts). */
  listenersBySource: 'by_source',
  /** listeners: all of them, by id. */
  listenersByKind: 'by_kind',
} as const;

/** The TTL attribute (epoch seconds) of expiring items; neither emulator deletes, so reads filter too. */
export const TTL_ATTRIBUTE = 'expires_at';

/** What a run summary needs from a run item, beside the index keys. */
const RUN_SUMMARY_ATTRIBUTES = ['workflow_id', 'workflow_version', 'created_at', 'updated_at'];

export interface TableDefinition {
  /** Which of the names this table is. */
  role: keyof TableNames;
  create: CreateTableCommandInput & { TableName: string };
  ttlAttribute?: string;
}

const keyed = (hash: string, range?: string) => [
  { AttributeName: hash, KeyType: 'HASH' as const },
  ...(range ? [{ AttributeName: range, KeyType: 'RANGE' as const }] : []),
];

const strings = (...names: string[]) =>
  names.map((name) => ({ AttributeName: name, AttributeType: 'S' as const }));

export function tableDefinitions(names: TableNames): TableDefinition[] {
  return [
    {
      role: 'workflows',
      create: {
        TableName: names.workflows,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: strings('id', 'sk', 'kind'),
        KeySchema: keyed('id', 'sk'),
        GlobalSecondaryIndexes: [
          {
            IndexName: INDEXES.workflowsByKind,
            KeySchema: keyed('kind', 'id'),
            Projection: {
              ProjectionType: 'INCLUDE',
              NonKeyAttributes: [
                'latest_version',
                'name',
                'description',
                'created_at',
                'updated_at',
                'retired',
              ],
            },
          },
        ],
      },
    },
    {
      role: 'runs',
      create: {
        TableName: names.runs,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: strings('pk', 'sk', 'status', 'workflow_status', 'order_key'),
        KeySchema: keyed('pk', 'sk'),
        GlobalSecondaryIndexes: [
          {
            IndexName: INDEXES.runsByStatus,
            KeySchema: keyed('status', 'order_key'),
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: RUN_SUMMARY_ATTRIBUTES },
          },
          {
            IndexName: INDEXES.runsByWorkflowStatus,
            KeySchema: keyed('workflow_status', 'order_key'),
            Projection: {
              ProjectionType: 'INCLUDE',
              NonKeyAttributes: [...RUN_SUMMARY_ATTRIBUTES, 'status'],
            },
          },
        ],
      },
    },
    {
      role: 'tokens',
      create: {
        TableName: names.tokens,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: strings('pk'),
        KeySchema: keyed('pk'),
      },
      ttlAttribute: TTL_ATTRIBUTE,
    },
    {
      role: 'listeners',
      create: {
        TableName: names.listeners,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: strings('id', 'source_key', 'kind'),
        KeySchema: keyed('id'),
        GlobalSecondaryIndexes: [
          {
            IndexName: INDEXES.listenersBySource,
            KeySchema: keyed('source_key', 'id'),
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: INDEXES.listenersByKind,
            KeySchema: keyed('kind', 'id'),
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    },
  ];
}

export interface CreateTablesOptions {
  /** How long to wait for one table or index (default 5 minutes; AWS takes seconds to minutes). */
  timeoutMs?: number;
}

/**
 * Creates every table, index and TTL setting that is missing; what exists is left alone, so it is
 * safe on every start. Emulators without TTL support are fine: every read filters expired items.
 */
export async function createTables(
  client: DynamoDBClient,
  names: TableNames,
  options: CreateTablesOptions = {},
): Promise<void> {
  await Promise.all(tableDefinitions(names).map((definition) => ensureTable(client, definition, options)));
}

async function ensureTable(
  client: DynamoDBClient,
  definition: TableDefinition,
  options: CreateTablesOptions,
) {
  const name = definition.create.TableName;
  let table = await describe(client, name);
  if (!table) {
    try {
      await client.send(new CreateTableCommand(definition.create));
    } catch (error) {
      // Another process created it meanwhile: what it created is the same definition.
      if ((error as { name?: unknown }).name !== 'ResourceInUseException') {
        throw toStorageError(error, { operation: 'create table', table: name });
      }
    }
    table = await waitUntilActive(client, name, options);
  }
  for (const index of definition.create.GlobalSecondaryIndexes ?? []) {
    if (table.GlobalSecondaryIndexes?.some((known) => known.IndexName === index.IndexName)) continue;
    table = await addIndex(client, name, index, definition, options);
  }
  if (definition.ttlAttribute) await enableTtl(client, name, definition.ttlAttribute);
}

/** A table created before an index was designed gets it added (one index per update, as DynamoDB allows). */
async function addIndex(
  client: DynamoDBClient,
  name: string,
  index: GlobalSecondaryIndex,
  definition: TableDefinition,
  options: CreateTablesOptions,
): Promise<TableDescription> {
  const keyNames = new Set(index.KeySchema?.map((key) => key.AttributeName));
  const cannot = (cause?: unknown) =>
    new StorageError(
      'StorageUnavailable',
      `table '${name}' lacks the index '${index.IndexName}' and this DynamoDB could not add it: ` +
        'recreate the table (locally: remove the data directory)',
      { cause, details: { table: name, index: index.IndexName } },
    );
  try {
    await client.send(
      new UpdateTableCommand({
        TableName: name,
        AttributeDefinitions: definition.create.AttributeDefinitions?.filter((a) =>
          keyNames.has(a.AttributeName),
        ),
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  } catch (error) {
    // dynalite refuses to create an index on an on-demand table.
    if ((error as { name?: unknown }).name === 'ValidationException') throw cannot(error);
    throw toStorageError(error, { operation: 'add index', table: name });
  }
  const table = await waitUntilActive(client, name, options);
  if (!table.GlobalSecondaryIndexes?.some((known) => known.IndexName === index.IndexName)) throw cannot();
  return table;
}

async function enableTtl(client: DynamoDBClient, name: string, attribute: string): Promise<void> {
  try {
    const answer = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    const status = answer.TimeToLiveDescription?.TimeToLiveStatus;
    if (status === 'ENABLED' || status === 'ENABLING') return;
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (error) {
    // dynalite has no UpdateTimeToLive; reads filter expired items, so nothing depends on deletion.
    if ((error as { name?: unknown }).name === 'UnknownOperationException') return;
    throw toStorageError(error, { operation: 'enable TTL', table: name });
  }
}

async function describe(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if ((error as { name?: unknown }).name === 'ResourceNotFoundException') return undefined;
    throw toStorageError(error, { operation: 'describe table', table: name });
  }
}

/** Asks again after 10 ms, then ever less often up to once a second: emulators are ready at once, AWS is not. */
async function waitUntilActive(
  client: DynamoDBClient,
  name: string,
  { timeoutMs = 300_000 }: CreateTablesOptions,
): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 10; ; pause = Math.min(pause * 2, 1000)) {
    const table = await describe(client, name);
    const ready =
      table?.TableStatus === 'ACTIVE' &&
      (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (table && ready) return table;
    if (Date.now() > deadline) {
      throw new StorageError(
        'StorageUnavailable',
        `table '${name}' did not become active in ${timeoutMs} ms`,
        {
          retryable: true,
          details: { table: name },
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
