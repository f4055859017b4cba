/**
 * The local DynamoDB endpoint (dynalite) answers the Flowrunner server on this machine only.
 * dynalite itself answers any web page's CORS preflight with `Access-Control-Allow-Origin: *`, so a
 * page in the user's browser could read and write every table, or crash the server with a request
 * nested too deeply for dynalite's validation. Both were possible before.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLocalDynamoDbClient,
  type LocalDynamoDb,
  startDynalite,
} from '../../../shared/storage/local/dynalite.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let dynamo: LocalDynamoDb;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

const SIGNED = {
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-target': 'DynamoDB_20120810.ListTables',
  authorization:
    'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
  'x-amz-date': '20260101T000000Z',
};

/** A request as node:http sends it: with the Host it is given. */
function send(method: string, headers: Record<string, string>, body = '') {
  const { hostname, port } = new URL(dynamo.endpoint);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const sent = request({ hostname, port, method, path: '/', headers }, (answer) => {
        let text = '';
        answer.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        answer.on('end', () => resolve({ status: answer.statusCode!, headers: answer.headers, body: text }));
      });
      sent.on('error', reject);
      sent.end(body);
    },
  );
}

describe('the local DynamoDB endpoint', () => {
  it('refuses a web page: its preflight and its request, with no CORS header to read the answer by', async () => {
    const origin = 'https://evil.example';
    const preflight = await send('OPTIONS', {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'x-amz-target,content-type,authorization,x-amz-date',
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const post = await send('POST', { ...SIGNED, origin }, '{}');
    expect(post.status).toBe(403);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(post.body)).toMatchObject({ __type: expect.stringMatching(/AccessDeniedException$/) });
  });

  it('refuses a request addressed to another name (DNS rebinding)', async () => {
    const { port } = new URL(dynamo.endpoint);
    const rebound = await send('POST', { ...SIGNED, host: `rebound.example:${port}` }, '{}');
    expect(rebound.status).toBe(403);
  });

  it('survives a client that goes away in the middle of a request (dynalite rethrew it: the server died)', async () => {
    const { hostname, port } = new URL(dynamo.endpoint);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST / HTTP/1.1\r\nHost: ${hostname}:${port}\r\ncontent-type: application/x-amz-json-1.0\r\n` +
            'x-amz-target: DynamoDB_20120810.ListTables\r\ncontent-length: 1000\r\n\r\n{"a":',
        );
        setTimeout(() => {
          socket.resetAndDestroy();
          resolve();
        }, 100);
      });
      socket.on('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await send('POST', SIGNED, '{}')).status).toBe(200);
  });

  it('serves the SDK as before', async () => {
    const client = createLocalDynamoDbClient({ endpoint: dynamo.endpoint });
    expect(await client.send(new ListTablesCommand({}))).toMatchObject({ TableNames: [] });
    client.destroy();
    // And a request of a program on this machine, without an Origin.
    expect((await send('POST', SIGNED, '{}')).status).toBe(200);
  });
});
