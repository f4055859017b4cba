/**
 * The DynamoDB listener store's writes, seen from the SDK: a fire is one atomic UpdateItem that
 * cannot recreate a deleted listener, and a PATCH that keeps losing its race ends in ConflictError
 * (a stand-in never loses ten races in a row on demand).
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../shared/errors.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { DynamoDbListenerStore } from '../../../shared/storage/dynamodb/listeners.js';
import { failure } from '../../support/failure.js';

const client = new DynamoDBClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const mock = mockClient(client);
afterEach(() => mock.reset());

const store = new DynamoDbListenerStore({
  client,
  table: 'listeners',
  cursors: new CursorCodec('k'.repeat(32)),
});
const definition = {
  id: 'l1',
  type: 's3',
  workflow_id: 'wf',
  match: { bucket: 'uploads' },
  enabled: true,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};

describe('DynamoDbListenerStore writes', () => {
  it('counts a started fire with one ADD, conditional on the listener still existing', async () => {
    mock.on(UpdateItemCommand).resolves({});
    await store.recordFire('l1', { outcome: 'started', at: '2026-01-01T00:01:00.000Z', run_id: 'run_1' });
    const [call] = mock.commandCalls(UpdateItemCommand);
    expect(call!.args[0].input).toEqual({
      TableName: 'listeners',
      Key: { id: { S: 'l1' } },
      UpdateExpression: 'ADD fired :one SET last_fired_at = :at, last_run_id = :run',
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeValues: {
        ':one': { N: '1' },
        ':at': { S: '2026-01-01T00:01:00.000Z' },
        ':run': { S: 'run_1' },
      },
    });
    // A listener deleted meanwhile: the refused condition is no error.
    mock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    await store.recordFire('l1', { outcome: 'skipped', at: '2026-01-01T00:02:00.000Z' });
    await store.setNextFire('l1', undefined);
  });

  it('gives up a change with ConflictError after losing ten races, never overwriting the other writer', async () => {
    mock
      .on(GetItemCommand)
      .resolves({ Item: { id: { S: 'l1' }, listener: { S: JSON.stringify(definition) } } });
    mock
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} }));
    const error = await failure(store.update('l1', { enabled: false }, new Date('2026-01-01T00:03:00.000Z')));
    expect(error).toBeInstanceOf(ConflictError);
    const updates = mock.commandCalls(UpdateItemCommand);
    expect(updates).toHaveLength(10);
    for (const update of updates) {
      expect(update.args[0].input).toMatchObject({
        ConditionExpression: 'listener = :old',
        ExpressionAttributeValues: { ':old': { S: JSON.stringify(definition) } },
      });
    }
  });
});
