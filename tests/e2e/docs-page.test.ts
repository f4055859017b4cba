/**
 * /docs in a real browser (Debian's Chromium, when installed): Redoc renders the document with its
 * operations and examples, every request the page makes stays on the server's origin, and the
 * Content-Security-Policy refuses nothing the page needs.
 */
import { describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { startServerInProcess, useServer } from '../support/server-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.LOG_LEVEL = 'WARN';

describe('/docs in a browser', () => {
  const server = useServer(() =>
    startServerInProcess({ FLOWRUNNER_API_KEYS: '' }, { examplesDir: undefined }),
  );

  it('renders the reference from the document, without leaving the origin or breaking the CSP', {
    timeout: 120_000,
  }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const origin = new URL(server.url).origin;
      const loaded: string[] = [];
      const problems: string[] = [];
      page.on('requestfinished', (request) => {
        if (/^https?:/.test(request.url())) loaded.push(request.url());
      });
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      const answer = await page.goto(`${server.url}/docs`);
      expect(answer?.status()).toBe(200);
      // Redoc has rendered when the operations' summaries and an example are on the page.
      await page.locator('h2', { hasText: 'Start a run' }).first().waitFor({ timeout: 60_000 });
      const text = await page.locator('body').innerText();
      expect(text).toContain('Answer the wait that owns a single-use token');
      expect(text).toContain('Idempotency-Key');
      expect(await page.locator('text=greeting').count()).toBeGreaterThan(0);
      expect(loaded.filter((url) => new URL(url).origin !== origin)).toEqual([]);
      expect(loaded).toEqual(
        expect.arrayContaining([
          `${origin}/docs`,
          `${origin}/docs/redoc.standalone.js`,
          `${origin}/openapi.json`,
        ]),
      );
      // Redoc's sidebar always asks cdn.redoc.ly for its logo: the CSP refuses it (and Redoc then
      // drops the image). Nothing else may be refused, and nothing may fail.
      const LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
      expect(problems.filter((p) => !p.includes(LOGO))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
