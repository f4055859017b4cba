/**
 * A loopback EventBridge (node:http on 127.0.0.1) that speaks PutEvents as the SDK sends it (awsJson1_1,
 * `X-Amz-Target: AWSEvents.PutEvents`), keeps each entry put, and gives the event EventBridge would hand
 * a rule's target for it — written from AWS's documentation of the event envelope, not from the code
 * under test, so the cloud path of a parity test has its own reference.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A PutEvents request entry as it travels on the wire (Time in epoch seconds). */
export interface WireEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: number;
}

export interface PutEntry {
  entry: WireEntry;
  /** The id EventBridge gave the event. */
  eventId: string;
  /** When the put arrived (the event's time when the entry has none). */
  receivedAt: Date;
}

export interface FakeEventBridge {
  /** `http://127.0.0.1:<port>`: the client's `endpoint`. */
  endpoint: string;
  /** Every entry put, in order. */
  put: PutEntry[];
  /**
   * The event a rule's target receives for a put entry ("Amazon EventBridge events" in the user guide):
   * `version` "0", EventBridge's id, the time to the second in UTC, the bus's account and region, the
   * entry's resources (none: `[]`) and its detail parsed.
   */
  delivered(put: PutEntry): Record<string, unknown>;
  close(): Promise<void>;
}

export const FAKE_ACCOUNT = '123456789012';

export async function startFakeEventBridge(region = 'eu-west-1'): Promise<FakeEventBridge> {
  const put: PutEntry[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown, type?: string) => {
        response.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          ...(type ? { 'x-amzn-errortype': type } : {}),
        });
        response.end(JSON.stringify(body));
      };
      if (request.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        reply(
          400,
          { message: `unknown operation ${request.headers['x-amz-target']}` },
          'UnknownOperationException',
        );
        return;
      }
      const { Entries } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries: WireEntry[] };
      const receivedAt = new Date();
      const answers = Entries.map((entry) => {
        const eventId = randomUUID();
        put.push({ entry, eventId, receivedAt });
        return { EventId: eventId };
      });
      reply(200, { FailedEntryCount: 0, Entries: answers });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    put,
    delivered({ entry, eventId, receivedAt }) {
      const time = entry.Time === undefined ? receivedAt : new Date(entry.Time * 1000);
      return {
        version: '0',
        id: eventId,
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: FAKE_ACCOUNT,
        time: `${time.toISOString().slice(0, 19)}Z`,
        region,
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail) as unknown,
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
