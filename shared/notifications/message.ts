/**
 * What a notification says: its subject and text made from the wait (no I/O), and the mail and
 * webhook bodies made from an outbox entry and the person's link when it is delivered.
 */
import type { OutboxEntry, WaitNotice } from '../ports/index.js';

const MAX_SUBJECT = 300;

/** The subject: `notify.subject`, else one that names what is asked and of which workflow. */
export function subjectOf(notice: WaitNotice): string {
  if (notice.subject) return oneLine(notice.subject).slice(0, MAX_SUBJECT);
  const what = notice.title ?? notice.step_id;
  const asked = notice.kind === 'approval' ? 'Approval needed' : 'Please fill in';
  return oneLine(`${asked}: ${what} (${notice.workflow_id})`).slice(0, MAX_SUBJECT);
}

/** The body without the link: the message, what is asked (fields or the decision), the deadline. */
export function textOf(notice: WaitNotice): string {
  const lines: string[] = [];
  if (notice.message) lines.push(notice.message, '');
  if (notice.kind === 'approval') {
    lines.push('You are asked to approve or reject.');
    if (notice.approvers && notice.approvers.length > 1) {
      lines.push(`Approvers: ${notice.approvers.join(', ')}`);
    }
  } else {
    lines.push('The form asks for:');
    for (const field of notice.fields ?? []) lines.push(`  - ${describeField(field)}`);
  }
  if (notice.expires_at) lines.push('', `Answer by ${notice.expires_at}.`);
  lines.push('', `Workflow ${notice.workflow_id}, run ${notice.run_id}, step ${notice.step_id}.`);
  return lines.join('\n');
}

/** What a webhook receives besides the link. */
export function detailsOf(notice: WaitNotice): Record<string, unknown> {
  return {
    ...(notice.title ? { title: notice.title } : {}),
    ...(notice.message ? { message: notice.message } : {}),
    ...(notice.fields ? { fields: notice.fields } : {}),
    ...(notice.approvers ? { approvers: notice.approvers } : {}),
  };
}

function describeField(field: Record<string, unknown>): string {
  const label = typeof field.label === 'string' ? `${field.label} (${String(field.key)})` : String(field.key);
  const parts = [String(field.type ?? 'string')];
  if (field.required === true) parts.push('required');
  if (Array.isArray(field.enum)) parts.push(`one of ${field.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  return `${label}: ${parts.join(', ')}`;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** The e-mail of an entry, with the person's link. */
export function mailOf(entry: OutboxEntry, link: string): RenderedMail {
  const action = entry.kind === 'approval' ? 'Open the approval' : 'Open the form';
  const text = `${entry.text}\n\n${action}: ${link}\n\nThis link is yours and works once.\n`;
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">',
    `<pre style="font-family:inherit;white-space:pre-wrap">${escapeHtml(entry.text)}</pre>`,
    `<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:.6em 1.2em;background:#1f5fbf;color:#fff;border-radius:4px;text-decoration:none">${action}</a></p>`,
    '<p style="color:#555;font-size:.9em">This link is yours and works once.</p>',
    '</body></html>',
  ].join('');
  return { subject: entry.subject, text, html };
}

/** The JSON a webhook receives: the wait, who it is for, and their link. */
export function webhookBodyOf(entry: OutboxEntry, link: string): Record<string, unknown> {
  return {
    type: 'flowrunner.wait',
    id: entry.id,
    run_id: entry.run_id,
    workflow_id: entry.workflow_id,
    step_id: entry.step_id,
    visit: entry.visit,
    kind: entry.kind,
    person: entry.person,
    subject: entry.subject,
    ...entry.details,
    ...(entry.expires_at ? { expires_at: entry.expires_at } : {}),
    link,
  };
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
