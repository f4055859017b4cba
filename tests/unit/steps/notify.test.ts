/**
 * `notify` on forms and approvals: what the language accepts (placeholders included), who is told
 * (listed people, else an approval's approvers, each address once), what the notifier is given,
 * and that a failed notification is an event of a step that waits all the same.
 */
import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../../../shared/definition/validate.js';
import type { NotifyFailure, WaitNotice } from '../../../shared/ports/index.js';
import { approval } from '../../../shared/steps/approval.js';
import { form } from '../../../shared/steps/form.js';
import { notifiedPeople, notifyConfig } from '../../../shared/steps/notify.js';
import { NOW, stepContext } from './context.js';

const FIELDS = [{ key: 'email', type: 'string', required: true }];

function workflowWith(notify: unknown) {
  return {
    schema_version: '1.0',
    id: 'ask',
    steps: [{ id: 'review', type: 'approval', config: { approvers: ['lead@example.com'], notify } }],
  };
}

describe('notify: the language', () => {
  it('accepts addresses, placeholders for one or all of them, a webhook, a subject and a message', () => {
    for (const notify of [
      { email: ['a@example.com', '{{ inputs.manager }}'] },
      { email: '{{ inputs.people }}', webhook: '{{ static.hook }}' },
      { webhook: 'https://hooks.example.com/x', subject: 'Please look', message: 'Now' },
    ]) {
      expect(validateWorkflow(workflowWith(notify))).toMatchObject({ valid: true });
    }
  });

  it('refuses what cannot be an address or a URL, unknown keys and an empty list, each at its path', () => {
    const result = validateWorkflow(
      workflowWith({ email: ['not an address'], webhook: 'ftp://x', cc: ['b@example.com'] }),
    );
    expect(result.valid).toBe(false);
    const paths = result.errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^steps\[0\]\.config\.notify\.email/),
        expect.stringMatching(/^steps\[0\]\.config\.notify\.webhook/),
        expect.stringMatching(/^steps\[0\]\.config\.notify/),
      ]),
    );
    expect(notifyConfig.safeParse({ email: [] }).success).toBe(false);
  });

  it('tells the listed people, else the defaults, each address once whatever its case', () => {
    expect(notifiedPeople({ email: ['A@x.io', 'a@x.io ', 'b@x.io'] }, ['c@x.io'])).toEqual([
      'A@x.io',
      'b@x.io',
    ]);
    expect(notifiedPeople(undefined, ['c@x.io', 'C@X.io'])).toEqual(['c@x.io']);
    expect(notifiedPeople({ webhook: 'https://h.io' }, [])).toEqual([]);
  });
});

describe('notify: steps that open a wait', () => {
  function recorder(failures: NotifyFailure[] = []) {
    const notices: WaitNotice[] = [];
    return {
      notices,
      notifier: {
        async notifyWait(notice: WaitNotice) {
          notices.push(notice);
          return failures;
        },
      },
    };
  }

  it('gives an approval’s notifier its approvers by default, with the message and the deadline', async () => {
    const { notices, notifier } = recorder();
    const ctx = stepContext(
      approval,
      {
        approvers: ['lead@example.com', 'LEAD@example.com', 'cfo@example.com'],
        message: 'Ship?',
        timeout_s: 60,
      },
      { deps: { notifier } },
    );
    const result = await approval.execute(ctx);
    expect(result.status).toBe('waiting');
    expect(notices).toEqual([
      {
        kind: 'approval',
        approvers: ['lead@example.com', 'cfo@example.com'],
        message: 'Ship?',
        expires_at: new Date(NOW.getTime() + 60_000).toISOString(),
        run_id: 'run_1',
        workflow_id: 'wf',
        step_id: ctx.step.id,
        visit: 1,
        people: ['lead@example.com', 'cfo@example.com'],
        listed: false,
      },
    ]);
  });

  it('tells nobody for a form without notify, and the listed people with the form’s fields otherwise', async () => {
    const { notices, notifier } = recorder();
    await form.execute(stepContext(form, { fields: FIELDS }, { deps: { notifier } }));
    expect(notices).toEqual([]);
    await form.execute(
      stepContext(
        form,
        { fields: FIELDS, title: 'Details', notify: { email: ['ann@example.com'], subject: 'Hi' } },
        { deps: { notifier } },
      ),
    );
    expect(notices[0]).toMatchObject({
      kind: 'form',
      title: 'Details',
      subject: 'Hi',
      people: ['ann@example.com'],
      listed: true,
      fields: [{ key: 'email', type: 'string', required: true }],
    });
  });

  it('records what could not be delivered as step.notify_failed, and waits all the same', async () => {
    const failure = {
      person: 'lead@example.com',
      channel: 'email' as const,
      code: 'SmtpRefused',
      message: 'no',
      retry_at: 'later',
    };
    const notifier = { notifyWait: async () => [failure] };
    const ctx = stepContext(approval, { approvers: ['lead@example.com'] }, { deps: { notifier } });
    const result = await approval.execute(ctx);
    expect(result.status).toBe('waiting');
    expect(ctx.events).toEqual([{ type: 'step.notify_failed', data: failure }]);
  });
});
