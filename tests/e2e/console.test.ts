/**
 * The console in a real browser (Debian's Chromium through playwright-core) against `npm start`
 * with API keys: the key prompt, the onboarding example started from its form, found in the runs
 * list, its graph with the form waiting, the form answered (first wrong: the field says why), the
 * approver's personal link opened from the outbox in a browser without the key and approved, and
 * the run seen completing live. Screenshots of each view go to tests/e2e/.output/console/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { type HttpSink, startHttpSink } from '../support/http-sink.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const KEY = 'console-e2e-key-5d1c';
const OUTPUT = join('tests', 'e2e', '.output', 'console');
/** Generous bounds for a loaded machine; the test waits for states, never for a time. */
const STEP_MS = 30_000;

let server: ServerProcess;
let sink: HttpSink;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  sink = await startHttpSink();
  server = await startServerProcess({
    FLOWRUNNER_SECRET_MAIL_TOKEN: 'mail-token-console',
    // An operator's key (it names no principal: the local outbox shows it every person's link).
    FLOWRUNNER_API_KEYS: KEY,
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await sink?.close();
});

/** A page that fails the test on a script error or a CSP violation. */
async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of (401|404|409|422)/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.setDefaultTimeout(STEP_MS);
  return { page, problems };
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(OUTPUT, `${name}.png`) });

describe('the console in Chromium', () => {
  it('takes the onboarding run from its start form to completed, a person answering through their link', async () => {
    // The example sends its mail to a loopback sink in this test.
    const yaml = readFileSync('examples/onboarding.yaml', 'utf8').replace(
      'https://mail.example.com',
      sink.url,
    );
    const put = await fetch(`${server.url}/v1/workflows/onboarding`, {
      method: 'PUT',
      headers: { 'content-type': 'text/yaml', authorization: `Bearer ${KEY}` },
      body: yaml,
    });
    expect(put.status).toBe(200);

    const { page, problems } = await newPage();
    const response = await page.goto(`${server.url}/console/workflows/onboarding`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    // The server has keys: the console asks for one, and keeps it in this tab only.
    await page.getByLabel('API key').fill(KEY);
    await shot(page, 'key-prompt');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: /Customer onboarding/ }).waitFor();
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await shot(page, 'workflow');

    await page.getByRole('textbox', { name: 'customer' }).fill('Ada');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/console\/runs\/run_/);
    const runId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);

    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    const row = page.locator(`tr[data-run="${runId}"]`);
    await row.getByText('waiting for a person').waitFor();
    await shot(page, 'runs');
    await row.getByRole('link', { name: runId }).click();

    await page.locator('g.node[data-step="collect"][data-status="waiting"]').waitFor();
    await page.locator('g.node[data-step="draft"][data-status="pending"]').waitFor();
    await page.getByLabel(/E-mail/).fill('not-an-address');
    await page.getByRole('button', { name: 'Submit' }).click();
    const emailError = page.locator('#task-collect-email-error');
    await expect
      .poll(() => emailError.textContent(), { timeout: STEP_MS })
      .toMatch(/not in the expected format/);
    await shot(page, 'run-form-error');
    await page.getByLabel(/E-mail/).fill('ada@example.com');
    await page.getByLabel(/Plan/).selectOption({ label: 'pro' });
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('g.node[data-step="review"][data-status="waiting"]').waitFor();
    await page.locator('g.node[data-step="collect"]').click();
    await page.getByRole('heading', { name: /collect/ }).waitFor();
    await shot(page, 'run-waiting-approval');
    // A run under way has run until now: the figure grows while it waits (it stood at its last change).
    const runningFor = page.locator('dt:text-is("Running for") + dd');
    const ranFor = await runningFor.textContent();
    await expect.poll(() => runningFor.textContent(), { timeout: STEP_MS }).not.toBe(ranFor);
    // A refresh that fails says so, instead of showing the run as it was as if it were now.
    const seen = problems.length;
    await page.route('**/v1/executions/**', (route) => route.abort());
    await page.getByText('refresh failed, retrying').waitFor();
    await page.unroute('**/v1/executions/**');
    await page.getByText('refresh failed, retrying').waitFor({ state: 'detached' });
    // The aborted requests' own console errors are what was asked for.
    problems.splice(seen);

    // The list views: the approval waits in Tasks, the workflow is listed, and Listeners shows its
    // list or says there is none.
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    await page.locator('ul.cards li', { hasText: 'onboarding' }).first().waitFor();
    await page.getByRole('link', { name: 'Workflows', exact: true }).click();
    await page.locator('ul.cards li', { hasText: 'Customer onboarding' }).waitFor();
    await page.getByRole('link', { name: 'Listeners', exact: true }).click();
    await page.locator('section[aria-labelledby="listeners-title"] :is(table, .state.empty)').waitFor();

    await page.getByRole('link', { name: 'Outbox' }).click();
    const mail = page.locator('li[data-person="lead@example.com"][data-step="review"]');
    await mail.waitFor();
    await shot(page, 'outbox');
    const link = await mail.getByRole('link', { name: /link/ }).getAttribute('href');
    expect(link).toMatch(new RegExp(`^${server.url}/console/tasks/[A-Za-z0-9_-]{43}$`));

    // The approver has no key: a fresh browser context, only the link.
    const approver = await newPage();
    await approver.page.goto(link!);
    await approver.page.getByText('Deciding as').waitFor();
    await approver.page.getByLabel('Comment').fill('Looks good');
    await shot(approver.page, 'task-link');
    await approver.page.getByRole('button', { name: 'Approve' }).click();
    await approver.page.getByRole('heading', { name: 'Thank you' }).waitFor();
    // The link works once.
    await approver.page.goto(link!);
    await approver.page.getByRole('heading', { name: 'Link used' }).waitFor();
    expect(approver.problems).toEqual([]);

    // The operator's page shows the run completing without a reload.
    await page.goto(`${server.url}/console/runs/${encodeURIComponent(runId)}`);
    await page.locator('header .status', { hasText: 'completed' }).waitFor();
    await page.locator('g.node[data-step="send"][data-status="completed"]').waitFor();
    await shot(page, 'run-completed');
    const events = await fetch(`${server.url}/v1/executions/${runId}/events?limit=1000`, {
      headers: { authorization: `Bearer ${KEY}` },
    }).then(
      (r) =>
        r.json() as Promise<{
          events: Array<{ type: string; step_id?: string; data: Record<string, unknown> }>;
        }>,
    );
    const answers = events.events.filter(
      (e) => e.type === 'step.completed' && (e.step_id === 'collect' || e.step_id === 'review'),
    );
    expect(answers.map((e) => [e.step_id, e.data.by, e.data.via])).toEqual([
      ['collect', undefined, 'console'],
      ['review', 'lead@example.com', 'link'],
    ]);
    expect(sink.requests.filter((r) => r.path === '/v1/send')).toHaveLength(1);
    expect(problems).toEqual([]);

    // On a phone: nothing wider than the screen (tables scroll inside their frame), and the live
    // refresh moves nothing (layout shifts measured by Chromium over a refresh).
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const small = await phone.newPage();
    // Browser code as text: this file is compiled without the DOM's types.
    await small.addInitScript({
      content: `sessionStorage.setItem('flowrunner.api_key', ${JSON.stringify(KEY)});
        window.shifts = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.shifts += entry.value;
        }).observe({ type: 'layout-shift', buffered: true });`,
    });
    await small.goto(`${server.url}/console/runs`);
    await small.locator(`tr[data-run="${runId}"]`).waitFor();
    const timing = (await small.evaluate(`({
      dom_interactive_ms: Math.round(performance.getEntriesByType('navigation')[0].domInteractive),
      rows_shown_ms: Math.round(performance.now()),
    })`)) as { dom_interactive_ms: number; rows_shown_ms: number };
    const before = (await small.evaluate('window.shifts')) as number;
    await small.waitForTimeout(3500); // one live refresh of the list (every 3 s)
    const after = (await small.evaluate('window.shifts')) as number;
    expect(after - before).toBeLessThan(0.01);
    expect(await small.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await shot(small, 'runs-phone');
    writeFileSync(
      join(OUTPUT, 'timing.json'),
      `${JSON.stringify({ ...timing, layout_shift_on_refresh: after - before })}\n`,
    );
    await phone.close();
  }, 240_000);
});
