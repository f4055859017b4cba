/**
 * The local S3 endpoint takes any key, and a write there fires the bucket's `s3` listeners: it must
 * answer programs on this machine only. A web page in the user's browser could write to it with an
 * HTML form (a multipart POST is sent cross-origin without asking first), and so start runs with its
 * own content; a name rebound to 127.0.0.1 could read it. Both were accepted before.
 */
import { request } from 'node:http';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { useLocalS3 } from '../../support/stores.js';

const BUCKET = 'inbox';
const s3 = useLocalS3(BUCKET);

async function exists(key: string): Promise<boolean> {
  try {
    await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** An upload as an HTML form on another site sends it: multipart, with the page's Origin. */
function formUpload(key: string, headers: Record<string, string>) {
  const form = new FormData();
  form.set('key', key);
  form.set('file', new Blob(['{"from":"a web page"}'], { type: 'application/json' }), 'evil.json');
  return fetch(`${s3.endpoint}/${BUCKET}`, { method: 'POST', body: form, headers });
}

describe('the local S3 endpoint', () => {
  it('refuses a form upload from a web page: nothing is stored, so no listener fires', async () => {
    const refused = await formUpload('incoming/evil.json', { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('<Code>AccessDenied</Code>');
    expect(await exists('incoming/evil.json')).toBe(false);
    // The same upload from a program (no Origin) is stored: the refusal is the page's origin alone.
    expect((await formUpload('incoming/tool.json', {})).status).toBe(204);
    expect(await exists('incoming/tool.json')).toBe(true);
  });

  it('refuses a request addressed to another name (DNS rebinding), reads and writes alike', async () => {
    const { hostname, port } = new URL(s3.endpoint);
    for (const method of ['GET', 'PUT']) {
      // node:http, which sends the Host it is given (fetch sets its own).
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const sent = request(
          {
            hostname,
            port,
            method,
            path: `/${BUCKET}/incoming/rebound.json`,
            headers: { host: `rebound.example:${port}` },
          },
          (answer) => {
            answer.resume();
            resolve(answer.statusCode);
          },
        );
        sent.on('error', reject);
        sent.end(method === 'PUT' ? '{}' : undefined);
      });
      expect(status).toBe(403);
    }
    expect(await exists('incoming/rebound.json')).toBe(false);
  });

  it('serves the SDK as before, on 127.0.0.1 and localhost alike', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a.json', Body: '{"a":1}' }));
    const got = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a.json' }));
    expect(await got.Body!.transformToString()).toBe('{"a":1}');
    const viaLocalhost = await fetch(`${s3.endpoint.replace('127.0.0.1', 'localhost')}/${BUCKET}/a.json`);
    expect(viaLocalhost.status).toBe(200);
  });

  it('refuses a key it cannot keep as files with 400, and goes on serving (it used to crash the server)', async () => {
    const put = async (key: string) => {
      try {
        await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
        return 'stored';
      } catch (error) {
        return (error as { name?: string; $metadata?: { httpStatusCode?: number } }).name;
      }
    };
    expect(await put(`incoming/${'k'.repeat(300)}.json`)).toBe('KeyTooLongError');
    expect(await put(`${'d'.repeat(256)}/a.json`)).toBe('KeyTooLongError');
    expect(await put('k'.repeat(1_025))).toBe('KeyTooLongError');
    // `..` as the SDK would not send it: node:http sends the path as given.
    const { hostname, port } = new URL(s3.endpoint);
    const dots = await new Promise<number | undefined>((resolve, reject) => {
      const sent = request(
        { hostname, port, method: 'PUT', path: `/${BUCKET}/a/../../../escape.json` },
        (answer) => {
          answer.resume();
          resolve(answer.statusCode);
        },
      );
      sent.on('error', reject);
      sent.end('{}');
    });
    expect(dots).toBe(400);
    // A form upload names its key in the body: refused the same way.
    const form = await formUpload(`incoming/${'f'.repeat(300)}.json`, {});
    expect(form.status).toBe(400);
    expect(await form.text()).toContain('<Code>KeyTooLongError</Code>');
    // Still serving, and a long key that fits is kept.
    expect(await put(`incoming/${'k'.repeat(200)}.json`)).toBe('stored');
    expect(await exists(`incoming/${'k'.repeat(200)}.json`)).toBe(true);
  });
});
