/**
 * `npm start` serves the console at /console: its files with their types and caching, every app
 * route answered with index.html, strict security headers (CSP, no framing, no Referer), nothing
 * outside the build, GET and HEAD only, and only to the Host names the server answers to.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type InProcessServer, startServerInProcess } from '../../support/server-process.js';

const build = mkdtempSync(join(tmpdir(), 'flowrunner-console-'));
mkdirSync(join(build, 'assets'));
writeFileSync(join(build, 'index.html'), '<!doctype html><div id="app"></div>');
writeFileSync(join(build, 'assets', 'index-abc.js'), 'console.log(1)');
writeFileSync(join(build, 'config.json'), '{"api_url":""}');
let server: InProcessServer | undefined;
let unbuilt: InProcessServer | undefined;

afterAll(async () => {
  await server?.stop();
  await unbuilt?.stop();
  rmSync(build, { recursive: true, force: true });
});

/** A raw request (fetch would refuse a Host header and normalize `..`). */
function get(base: string, path: string, options: { method?: string; host?: string } = {}) {
  const url = new URL(base);
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: { host: options.host ?? url.host },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('local server: the console’s files', () => {
  it('serves the app, its assets and config.json with their types, caching and strict headers', async () => {
    server = await startServerInProcess({}, { examplesDir: undefined, consoleDir: build });
    const page = await get(server.url, '/console/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const script = await get(server.url, '/console/assets/index-abc.js');
    expect(script).toMatchObject({ status: 200, body: 'console.log(1)' });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toContain('immutable');
    expect((await get(server.url, '/console/config.json')).headers['content-type']).toBe(
      'application/json; charset=utf-8',
    );
  });

  it('answers every app route (a personal link included) with the app, and a missing asset with 404', async () => {
    for (const path of [
      '/console/runs/run_1?step=collect',
      `/console/tasks/${'A'.repeat(43)}`,
      '/console/outbox',
    ]) {
      const answer = await get(server!.url, path);
      expect(answer).toMatchObject({ status: 200, body: '<!doctype html><div id="app"></div>' });
    }
    expect((await get(server!.url, '/console/assets/gone.js')).status).toBe(404);
  });

  it('sends / and /console to /console/, and serves nothing outside the build', async () => {
    for (const path of ['/', '/console']) {
      const answer = await get(server!.url, path);
      expect(answer.status).toBe(308);
      expect(answer.headers.location).toBe('/console/');
    }
    for (const path of [
      '/console/../package.json',
      '/console/..%2f..%2fpackage.json',
      '/console/%2e%2e/%2e%2e/etc/passwd',
    ]) {
      const answer = await get(server!.url, path);
      expect(answer.body).not.toContain('"name"');
      expect(answer.body).not.toContain('root:');
    }
  });

  it('answers a path with a NUL in it like any other name of no file (the connection was dropped)', async () => {
    const page = await get(server!.url, '/console/%00');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const asset = await get(server!.url, '/console/assets/app%00.js');
    expect(asset.status).toBe(404);
  });

  it('answers a path the file system cannot look up like any other name of no file, not with 500', async () => {
    const long = 'a'.repeat(5_000);
    for (const path of [`/console/tasks/${long}`, '/console/index.html/x', `/console/${'b'.repeat(300)}`]) {
      const page = await get(server!.url, path);
      expect(page.status, path.slice(0, 40)).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
    }
    expect((await get(server!.url, `/console/assets/${'c'.repeat(300)}.js`)).status).toBe(404);
    expect((await get(server!.url, '/console/config.json/x')).status).toBe(200);
  });

  it('reads with GET and HEAD only, and answers only the Host names the server answers to', async () => {
    expect((await get(server!.url, '/console/', { method: 'POST' })).status).toBe(405);
    const head = await get(server!.url, '/console/', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect((await get(server!.url, '/console/', { host: 'attacker.example:80' })).status).toBe(421);
  });

  it('says how to build the console when it is not built', async () => {
    unbuilt = await startServerInProcess({}, { examplesDir: undefined, consoleDir: join(build, 'missing') });
    const answer = await get(unbuilt.url, '/console/');
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('npm run build');
  });
});
