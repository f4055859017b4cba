/**
 * Answering a wait: a form rendered from its fields, or an approval's approve/reject with a comment.
 * The same component answers through a personal link (no key: the token is the credential) and
 * through the API from the inbox (`x-flowrunner-via: console`).
 */
import { useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { type FormField, fieldErrors } from '../lib/form-model.js';
import { when } from '../lib/format.js';
import { FieldForm } from './field-form.js';

export interface TaskView {
  step_id: string;
  type: string;
  title?: string;
  message?: string;
  fields?: FormField[];
  approvers?: string[];
  expires_at?: string;
  /** Who answers: the link's person; asked for otherwise. */
  person?: string;
}

export function Task({
  task,
  answer,
  onAnswered,
}: {
  task: TaskView;
  /** Sends the answer's body (`{inputs}` or `{decision, comment, approver?}`). */
  answer: (body: Record<string, unknown>) => Promise<unknown>;
  onAnswered: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [comment, setComment] = useState('');
  const [approver, setApprover] = useState(task.person ?? task.approvers?.[0] ?? '');
  const send = async (body: Record<string, unknown>) => {
    setBusy(true);
    try {
      await answer(body);
      setErrors({});
      onAnswered();
    } catch (error) {
      if (error instanceof ApiError) {
        const issues = error.problem.errors ?? [];
        setErrors(
          issues.length > 0
            ? fieldErrors(task.fields ?? [], issues)
            : { '': error.problem.detail ?? error.problem.title },
        );
      } else {
        setErrors({ '': String(error) });
      }
    } finally {
      setBusy(false);
    }
  };
  const prefix = `task-${task.step_id}`;
  return (
    <section class="task" aria-labelledby={`${prefix}-title`}>
      <h2 id={`${prefix}-title`}>{task.title ?? task.step_id}</h2>
      {task.message ? <p class="message">{task.message}</p> : null}
      {task.expires_at ? <p class="muted">Answer by {when(task.expires_at)}</p> : null}
      {task.type === 'approval' ? (
        <form
          class="field-form"
          onSubmit={(e) => {
            e.preventDefault();
          }}
        >
          {task.person ? (
            <p>
              Deciding as <strong>{task.person}</strong>
            </p>
          ) : (
            <div class="field">
              <label for={`${prefix}-approver`}>Approver</label>
              <select
                id={`${prefix}-approver`}
                value={approver}
                onChange={(e) => setApprover(e.currentTarget.value)}
              >
                {(task.approvers ?? []).map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div class="field">
            <label for={`${prefix}-comment`}>Comment</label>
            <textarea
              id={`${prefix}-comment`}
              rows={3}
              maxLength={4000}
              value={comment}
              onInput={(e) => setComment(e.currentTarget.value)}
            />
          </div>
          <p class="error" role={errors[''] ? 'alert' : undefined}>
            {errors[''] ?? errors.approver ?? errors.decision ?? ''}
          </p>
          <div class="actions">
            {(['approve', 'reject'] as const).map((decision) => (
              <button
                key={decision}
                type="button"
                class={decision === 'reject' ? 'danger' : 'primary'}
                disabled={busy}
                onClick={() =>
                  send({
                    decision,
                    ...(comment.trim() ? { comment: comment.trim() } : {}),
                    ...(task.person ? {} : { approver }),
                  })
                }
              >
                {decision === 'approve' ? 'Approve' : 'Reject'}
              </button>
            ))}
          </div>
        </form>
      ) : (
        <FieldForm
          fields={task.fields ?? []}
          errors={errors}
          busy={busy}
          submitLabel="Submit"
          idPrefix={prefix}
          onSubmit={(inputs) => send({ inputs })}
        />
      )}
    </section>
  );
}
