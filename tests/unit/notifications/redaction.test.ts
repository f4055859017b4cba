/** Personal links never reach a log line: the token in a console path, an API path or a message is redacted. */
import { describe, expect, it } from 'vitest';
import { redactPath, redactText } from '../../../shared/observability/redact.js';
import { CallbackTokenKey } from '../../../shared/storage/callback-token.js';

const token = new CallbackTokenKey('k'.repeat(32)).personal(
  { run_id: 'run_1', step_id: 'review', visit: 1 },
  'lead@example.com',
);

describe('notifications: links in logs', () => {
  it('redacts a personal token in the console’s task path, the callback path and free text', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const line of [
      redactPath(`/console/tasks/${token}`),
      redactPath(`/v1/callbacks/${token}`),
      redactText(`sent https://flow.example.com/console/tasks/${token} to lead@example.com`),
      redactText(JSON.stringify({ link: `http://127.0.0.1:3000/console/tasks/${token}` })),
    ]) {
      expect(line).not.toContain(token);
      expect(line).not.toContain('lead@example.com');
    }
  });
});
