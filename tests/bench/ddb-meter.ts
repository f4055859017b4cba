/**
 * Counts what a DynamoDB client sends, as AWS would bill it: every call by command, and for every
 * write the write units of its item, 1 per started KB of the larger of the item before and after
 * (refused conditional writes are billed too). A middleware on the real SDK client does it; the
 * sizes before and after are read through a second client, which is not counted.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
} from '@aws-sdk/client-dynamodb';

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);
/** The key attributes of the project's tables (runs: pk/sk, workflows: id/sk, tokens: pk, listeners: id). */
const KEY_NAMES = ['pk', 'sk', 'id'];

export interface DynamoDbMeter {
  readonly calls: number;
  readonly byCommand: Readonly<Record<string, number>>;
  readonly writeUnits: number;
  /** Sizes of the items written by puts, in the order written, with their sort key. */
  readonly puts: ReadonlyArray<{ sk: string; bytes: number }>;
  reset(): void;
}

/** DynamoDB's item size: attribute names plus values (strings and binaries in bytes, numbers ~ digits / 2 + 1). */
export function itemBytes(item: Record<string, AttributeValue> | undefined): number {
  if (!item) return 0;
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + valueBytes({ N: n }), 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  if (value.M) return 3 + itemBytes(value.M) + Object.keys(value.M).length;
  return 0;
}

export function meterDynamoDb(client: DynamoDBClient, reader: DynamoDBClient): DynamoDbMeter {
  let calls = 0;
  let writeUnits = 0;
  let byCommand: Record<string, number> = {};
  let puts: Array<{ sk: string; bytes: number }> = [];
  const read = async (table: string, key: Record<string, AttributeValue>) => {
    const answer: GetItemCommandOutput = await reader.send(
      new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    return itemBytes(answer.Item);
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context as { commandName?: string }).commandName ?? 'unknown';
      calls += 1;
      byCommand[name] = (byCommand[name] ?? 0) + 1;
      if (!WRITES.has(name)) return next(args);
      const input = args.input as {
        TableName: string;
        Key?: Record<string, AttributeValue>;
        Item?: Record<string, AttributeValue>;
      };
      const key =
        input.Key ??
        Object.fromEntries(
          Object.entries(input.Item ?? {}).filter(([attribute]) => KEY_NAMES.includes(attribute)),
        );
      const before = await read(input.TableName, key);
      const bill = (after: number) => {
        writeUnits += Math.max(1, Math.ceil(Math.max(before, after) / 1024));
      };
      try {
        const result = await next(args);
        const after = name === 'PutItemCommand' ? itemBytes(input.Item) : await read(input.TableName, key);
        bill(after);
        if (name === 'PutItemCommand') puts.push({ sk: input.Item?.sk?.S ?? '', bytes: after });
        return result;
      } catch (error) {
        bill(0);
        throw error;
      }
    },
    { step: 'initialize', name: 'flowrunnerMeter' },
  );
  return {
    get calls() {
      return calls;
    },
    get byCommand() {
      return { ...byCommand };
    },
    get writeUnits() {
      return writeUnits;
    },
    get puts() {
      return puts;
    },
    reset() {
      calls = 0;
      writeUnits = 0;
      byCommand = {};
      puts = [];
    },
  };
}
