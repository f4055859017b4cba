/**
 * The DynamoDB template store where only DynamoDB can fail: a writer that died between a version and
 * its summary (the next write of the template mends the list), and the store's items beside the
 * workflows in one table. On dynalite.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../shared/errors.js';
import { testDynamoDbStores, useDynalite } from '../../support/stores.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const dynamo = useDynalite();
const at = new Date('2026-01-01T00:00:00.000Z');

describe('DynamoDB prompt template store', () => {
  it('lists a template whose creator died after writing version 1, once someone writes it again', async () => {
    const client = dynamo.client();
    const tables = await dynamo.freshTables(client);
    const { templates } = testDynamoDbStores(client, tables);
    // What a create leaves when its process dies between the version and the summary.
    const version = { id: 'orphan', version: 1, text: 'Hi {{ name }}', created_at: at.toISOString() };
    await client.send(
      new PutItemCommand({
        TableName: tables.workflows,
        Item: {
          id: { S: 'template#orphan' },
          sk: { S: 'v#0000000001' },
          version: { N: '1' },
          template: { S: JSON.stringify(version) },
          created_at: { S: version.created_at },
        },
      }),
    );
    expect(await templates.get('orphan')).toEqual(version);
    expect((await templates.list()).items).toEqual([]);
    // The client's retry of the create: the id is taken, and the list shows it from now on.
    await expect(templates.create({ id: 'orphan', text: 'Hi {{ name }}' }, at)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await templates.list()).items).toEqual([
      { id: 'orphan', latest_version: 1, created_at: version.created_at, updated_at: version.created_at },
    ]);
    // An update mends it too, and moves the summary forward.
    const two = await templates.update(
      { id: 'orphan', text: 'Hello {{ name }}' },
      new Date(at.getTime() + 1000),
    );
    expect((await templates.list()).items).toEqual([
      { id: 'orphan', latest_version: 2, created_at: version.created_at, updated_at: two.created_at },
    ]);
  });
});
