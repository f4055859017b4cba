import { performance } from 'node:perf_hooks';
import { GetItemCommand, QueryCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startTestDynamoDb } from '/work/wt-durable/tests/support/stores.ts';
import { mkdtemp } from 'node:fs/promises'; import { tmpdir } from 'node:os'; import { join } from 'node:path';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const dynamo = await startTestDynamoDb({ path: await mkdtemp(join(tmpdir(), 'qg-')) });
const c = dynamo.client(); const t = await dynamo.freshTables(c);
for (let r = 0; r < 200; r++) for (const sk of ['c#000000000000#000000000000', 'c#000000000003#000000000001', 'run']) await c.send(new PutItemCommand({ TableName: t.runs, Item: { pk: { S: `r${r}` }, sk: { S: sk }, x: { S: 'y'.repeat(2000) } } }));
for (const round of [1, 2]) {
  let s = performance.now();
  for (let i = 0; i < 300; i++) await c.send(new GetItemCommand({ TableName: t.runs, Key: { pk: { S: `r${i % 200}` }, sk: { S: 'run' } }, ConsistentRead: true }));
  const g = (performance.now() - s) / 300;
  s = performance.now();
  for (let i = 0; i < 300; i++) await c.send(new QueryCommand({ TableName: t.runs, KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':pk': { S: `r${i % 200}` }, ':a': { S: 'c#' }, ':b': { S: 'run' } }, ScanIndexForward: false, Limit: 24, ConsistentRead: true }));
  const q = (performance.now() - s) / 300;
  console.log('get ms', g.toFixed(2), 'query ms', q.toFixed(2));
}
await dynamo.close();
