/**
 * A form as the console renders it: the text each control holds, the values they make for the API
 * (numbers parsed, JSON for objects and lists, optional empties left out), and the server's 422
 * errors placed on their fields. Patterns and required fields are the server's to judge: the errors
 * people see are the ones the engine gives.
 */

export interface FormField {
  key: string;
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';
  required?: boolean;
  pattern?: string;
  enum?: unknown[];
  min?: number;
  max?: number;
  default?: unknown;
  label?: string;
  description?: string;
}

export type FormValues = Record<string, string | boolean>;

export function initialValues(fields: readonly FormField[]): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    const value = field.default;
    if (field.type === 'boolean') values[field.key] = value === true;
    else if (field.enum) values[field.key] = value === undefined ? '' : JSON.stringify(value);
    else if (value === undefined) values[field.key] = '';
    else values[field.key] = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  }
  return values;
}

/** The values for the API, or the fields whose text cannot be a value of their type. */
export function toInputs(
  fields: readonly FormField[],
  values: FormValues,
): { inputs: Record<string, unknown> } | { errors: Record<string, string> } {
  const inputs: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const raw = values[field.key];
    if (field.type === 'boolean') {
      inputs[field.key] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (text.trim() === '') continue; // the server says whether it was required
    if (field.enum) {
      inputs[field.key] = JSON.parse(text);
      continue;
    }
    switch (field.type ?? 'string') {
      case 'number':
      case 'integer': {
        const number = Number(text.trim());
        if (!Number.isFinite(number)) errors[field.key] = 'must be a number';
        else inputs[field.key] = number;
        break;
      }
      case 'object':
      case 'array':
        try {
          inputs[field.key] = JSON.parse(text);
        } catch {
          errors[field.key] = `must be JSON (${field.type === 'array' ? 'a list' : 'an object'})`;
        }
        break;
      default:
        inputs[field.key] = text;
    }
  }
  return Object.keys(errors).length > 0 ? { errors } : { inputs };
}

export interface ProblemIssue {
  path: string;
  message: string;
}

/**
 * The server's issues by field (`inputs.email` and `email` both name `email`); what names no field
 * is kept under `''`, for the form as a whole.
 */
export function fieldErrors(
  fields: readonly FormField[],
  issues: readonly ProblemIssue[],
): Record<string, string> {
  const keys = new Set(fields.map((f) => f.key));
  const errors: Record<string, string> = {};
  for (const issue of issues) {
    const path = issue.path.replace(/^inputs\.?/, '');
    const key = path.split(/[.[]/)[0] ?? '';
    const at = keys.has(key) ? key : '';
    errors[at] = errors[at] ? `${errors[at]}; ${issue.message}` : issue.message;
  }
  return errors;
}

/** A workflow's `inputs` JSON Schema as form fields (its top-level properties). */
export function schemaFields(schema: unknown): FormField[] {
  if (!schema || typeof schema !== 'object') return [];
  const { properties, required } = schema as { properties?: Record<string, unknown>; required?: unknown };
  if (!properties || typeof properties !== 'object') return [];
  const needed = new Set(Array.isArray(required) ? required.filter((r) => typeof r === 'string') : []);
  return Object.entries(properties).map(([key, raw]) => {
    const property = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const type =
      typeof property.type === 'string' ? property.type : Array.isArray(property.enum) ? 'string' : 'object';
    const field: FormField = {
      key,
      type: (['string', 'number', 'integer', 'boolean', 'object', 'array'].includes(type)
        ? type
        : 'object') as FormField['type'],
      required: needed.has(key),
    };
    if (Array.isArray(property.enum)) field.enum = property.enum;
    if (property.default !== undefined) field.default = property.default;
    if (typeof property.pattern === 'string') field.pattern = property.pattern;
    if (typeof property.title === 'string') field.label = property.title;
    if (typeof property.description === 'string') field.description = property.description;
    return field;
  });
}
