/**
 * The one redaction of everything that is logged (CONTRACT §10): resolved secret values, API keys,
 * callback tokens, credentials in headers and URLs, e-mail addresses, phone numbers, SSNs and card
 * numbers. Pure: the Lambda log formatter and the local log lines both go through `redactValue`.
 * The rules are documented in docs/observability.md; tests/unit/observability/redact.test.ts is
 * their corpus of what must go and what must stay.
 */
import { REDACTED } from '../expressions/redactor.js';

export { REDACTED };

/** What knows the secret values of this process: the engine's Redactor. */
export interface SecretScrubber {
  scrubText(text: string): string;
}

/** Keys whose value is a credential or personal data whatever it looks like: replaced whole. */
const SENSITIVE_KEY =
  /^(?:authorization|proxy-authorization|x-api-key|api[_-]?key|apikey|cookie|set-cookie|password|passwd|secret|client[_-]?secret|token|task[_-]?token|callback[_-]?token|access[_-]?token|refresh[_-]?token|id[_-]?token|ssn|card[_-]?number|cvv|cvc)$/i;

/**
 * `/v1/callbacks/{token}` and a personal link's `/console/tasks/{token}`: the path names a
 * single-use credential, whatever characters it happens to have (a token of letters only, about one
 * in 1,500, is not a bare token below).
 */
const CALLBACK_PATH = /(\/v1\/callbacks\/|\/console\/tasks\/)[^/?#\s"'<>]+/g;
/** A header written out as text: `Authorization: Bearer …`, `"x-api-key":"…"`, `Cookie: a=b`. */
const HEADER_TEXT =
  /\b(authorization|proxy-authorization|x-api-key|cookie|set-cookie)(["']?\s*[:=]\s*["']?)[^"'\r\n,}]+/gi;
/** An HTTP credential scheme and what follows it. */
const AUTH_SCHEME = /\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]{4,}/g;
/** Credentials in a query string. */
const QUERY_CREDENTIAL =
  /([?&](?:api[_-]?key|apikey|key|token|access_token|secret|password|signature|sig|code)=)[^&#\s"'<>]+/gi;
/** Key shapes of well-known services: OpenAI/Anthropic-style `sk-…`, AWS access key ids, GitHub, Slack. */
const KNOWN_KEYS =
  /\b(?:sk-(?:[A-Za-z0-9]+-)?[A-Za-z0-9_-]{16,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abprs]-[A-Za-z0-9-]{10,})/g;
/** A callback token on its own: 32 bytes in base64url (43 characters), as every token is. */
const BARE_TOKEN =
  /(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** 13–19 digits, maybe grouped by spaces or dashes; replaced only with a card prefix and a valid Luhn sum. */
const CARD_CANDIDATE = /(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w-]|\.\d)/g;
/** US SSN, dashed; the area, group and serial numbers no SSN has are left alone. */
const SSN = /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g;
/** International: a `+`, then 8–15 digits in groups. */
const PHONE_INTERNATIONAL = /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,5}(?![\w-]|\.\d)/g;
/** North American `555-123-4567`, `(555) 123-4567`, `555.123.4567`. */
const PHONE_NANP = /(?<![\w.-])(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-]|\.\d)/g;
/** National numbers with a trunk 0 in groups: `020 7946 0958`, `06-1234-5678`. */
const PHONE_TRUNK = /(?<![\w.-])0\d{1,4}[ -]\d{3,4}[ -]\d{3,4}(?![\w-]|\.\d)/g;

/** Card number prefixes (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro). */
const CARD_PREFIX =
  /^(?:4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5|4[4-9]|2)|3(?:0[0-5]|[68])|35(?:2[89]|[3-8]\d)|5[06-8]|6\d)/;

/** A string with every secret, credential and piece of personal data replaced by `[REDACTED]`. */
export function redactText(text: string, secrets?: SecretScrubber): string {
  let out = secrets ? secrets.scrubText(text) : text;
  if (out === REDACTED) return out;
  out = out
    .replace(CALLBACK_PATH, `$1${REDACTED}`)
    .replace(HEADER_TEXT, `$1$2${REDACTED}`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(QUERY_CREDENTIAL, `$1${REDACTED}`)
    .replace(KNOWN_KEYS, REDACTED)
    .replace(BARE_TOKEN, REDACTED)
    .replace(EMAIL, REDACTED)
    .replace(CARD_CANDIDATE, (match) => (isCardNumber(match.replace(/[ -]/g, '')) ? REDACTED : match))
    .replace(SSN, REDACTED)
    .replace(PHONE_INTERNATIONAL, (match) =>
      digitCount(match) >= 8 && digitCount(match) <= 15 ? REDACTED : match,
    )
    .replace(PHONE_NANP, REDACTED)
    .replace(PHONE_TRUNK, REDACTED);
  return out;
}

/**
 * A deep copy of a JSON-like value with every string redacted, and the whole value of a sensitive
 * key (`authorization`, `password`, `token`, …) replaced. Numbers, booleans and null stay; other
 * objects (an Error) become their JSON-like form first so that nothing escapes through them.
 */
export function redactValue<T>(value: T, secrets?: SecretScrubber): T {
  return copy(value, secrets, new WeakSet()) as T;
}

/** A URL path with its credentials taken out, for a request's log line. */
export function redactPath(path: string, secrets?: SecretScrubber): string {
  return redactText(path, secrets);
}

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

function copy(value: unknown, secrets: SecretScrubber | undefined, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => copy(item, secrets, seen));
  if (value instanceof Error) {
    const error: Record<string, unknown> = { name: value.name, message: value.message };
    if (value.stack !== undefined) error.stack = value.stack;
    for (const [key, item] of Object.entries(value)) error[key] = item;
    return copy(error, secrets, seen);
  }
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const safeKey = redactText(key, secrets);
    const redacted =
      isSensitiveKey(key) && item !== undefined && item !== null ? REDACTED : copy(item, secrets, seen);
    Object.defineProperty(out, safeKey, {
      value: redacted,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function digitCount(text: string): number {
  return text.replace(/\D/g, '').length;
}

/** A card number by its length, its issuer's prefix and the Luhn check digit. */
export function isCardNumber(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits) || !CARD_PREFIX.test(digits)) return false;
  return luhnValid(digits);
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
