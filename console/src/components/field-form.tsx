/** A form rendered from fields (a form step's, or a workflow's inputs schema), with errors per field. */
import { useState } from 'preact/hooks';
import { type FormField, type FormValues, initialValues, toInputs } from '../lib/form-model.js';

export function FieldForm({
  fields,
  errors,
  submitLabel,
  busy,
  onSubmit,
  idPrefix,
}: {
  fields: readonly FormField[];
  /** Errors by field key; `''` for the form as a whole. */
  errors: Record<string, string>;
  submitLabel: string;
  busy: boolean;
  onSubmit: (inputs: Record<string, unknown>) => void;
  idPrefix: string;
}) {
  const [values, setValues] = useState<FormValues>(() => initialValues(fields));
  const [local, setLocal] = useState<Record<string, string>>({});
  const shown = { ...errors, ...local };
  const submit = (event: Event) => {
    event.preventDefault();
    const made = toInputs(fields, values);
    if ('errors' in made) {
      setLocal(made.errors);
      return;
    }
    setLocal({});
    onSubmit(made.inputs);
  };
  return (
    <form class="field-form" onSubmit={submit} noValidate>
      {fields.map((field) => {
        const id = `${idPrefix}-${field.key}`;
        const error = shown[field.key];
        const set = (value: string | boolean) => setValues((v) => ({ ...v, [field.key]: value }));
        const described = error ? `${id}-error` : field.description ? `${id}-help` : undefined;
        const common = {
          id,
          name: field.key,
          'aria-invalid': error ? true : undefined,
          'aria-describedby': described,
          'aria-required': field.required ? true : undefined,
        };
        return (
          <div class={`field ${error ? 'invalid' : ''}`} key={field.key}>
            <label for={id}>
              {field.label ?? field.key}
              {field.required ? <span aria-hidden="true"> *</span> : null}
            </label>
            {field.type === 'boolean' ? (
              <input
                {...common}
                type="checkbox"
                checked={values[field.key] === true}
                onChange={(e) => set(e.currentTarget.checked)}
              />
            ) : field.enum ? (
              <select
                {...common}
                value={String(values[field.key] ?? '')}
                onChange={(e) => set(e.currentTarget.value)}
              >
                {field.required && field.default !== undefined ? null : <option value="">—</option>}
                {field.enum.map((option) => (
                  <option key={JSON.stringify(option)} value={JSON.stringify(option)}>
                    {typeof option === 'string' ? option : JSON.stringify(option)}
                  </option>
                ))}
              </select>
            ) : field.type === 'object' || field.type === 'array' ? (
              <textarea
                {...common}
                rows={4}
                value={String(values[field.key] ?? '')}
                onInput={(e) => set(e.currentTarget.value)}
              />
            ) : field.type === 'number' || field.type === 'integer' ? (
              <input
                {...common}
                type="number"
                step={field.type === 'integer' ? 1 : 'any'}
                value={String(values[field.key] ?? '')}
                onInput={(e) => set(e.currentTarget.value)}
              />
            ) : (
              <input
                {...common}
                type="text"
                value={String(values[field.key] ?? '')}
                onInput={(e) => set(e.currentTarget.value)}
              />
            )}
            {field.description && !error ? <small id={`${id}-help`}>{field.description}</small> : null}
            {field.pattern && !error ? <small class="hint">Pattern: {field.pattern}</small> : null}
            <p class="error" id={`${id}-error`} role={error ? 'alert' : undefined}>
              {error ?? ''}
            </p>
          </div>
        );
      })}
      {shown[''] ? (
        <p class="error" role="alert">
          {shown['']}
        </p>
      ) : null}
      <button type="submit" disabled={busy}>
        {busy ? 'Sending…' : submitLabel}
      </button>
    </form>
  );
}
