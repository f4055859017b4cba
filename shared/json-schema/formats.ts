/**
 * The `format`s JSON Schemas may use: ajv-formats' full set, with `url` replaced by a linear-time
 * twin. Formats run their own regular expressions on data (a run's inputs, a model's answer), not
 * on patterns from workflows; each was measured on adversarial text of 5,000 and 20,000 characters,
 * and only ajv-formats' `url` grows faster than the text: its `\S+(?::\S*)?@` tries every split of
 * a long run of `a:`, about 0.7 s at 20,000 characters and a minute at 200,000.
 */
import type { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { compileLinearRegExp } from './linear-regexp.js';

/** An octet of ajv-formats' `url` IPv4 host, and the first and last octets (no 0, no multicast, no .255). */
const OCTET = '(?:1?\\d{1,2}|2[0-4]\\d|25[0-5])';
const LAST_OCTET = '(?:[1-9]\\d?|1\\d\\d|2[0-4]\\d|25[0-4])';
const TAIL = `(?:\\.${OCTET})(?:\\.${LAST_OCTET})`;

/**
 * ajv-formats' IPv4 host is `(?!10.|127.)(?!169.254.|192.168.)(?!172.16-31.)` then four octets.
 * RE2 has no lookahead, so the excluded networks are taken out of the first two octets instead:
 * the same addresses, written as alternatives. (Each octet is a whole run of digits there, since
 * a dot, a port, a path or the end follows it, so comparing octet texts is the lookaheads' test.)
 */
const PUBLIC_IPV4 = [
  // First octets 1–223 except 10, 127, 169, 172 and 192.
  `(?:[1-9]|1[1-9]|[2-9]\\d|1[01]\\d|12[0-689]|1[3-5]\\d|16[0-8]|17[013-9]|18\\d|19[013-9]|2[01]\\d|22[0-3])(?:\\.${OCTET})${TAIL}`,
  // 169.x except 169.254, 192.x except 192.168, 172.x except 172.16–172.31.
  `169\\.(?:1?\\d{1,2}|2[0-4]\\d|25[0-35])${TAIL}`,
  `192\\.(?:\\d{1,2}|1[0-57-9]\\d|16[0-79]|2[0-4]\\d|25[0-5])${TAIL}`,
  `172\\.(?:\\d|0\\d|1[0-5]|3[2-9]|[4-9]\\d|1\\d\\d|2[0-4]\\d|25[0-5])${TAIL}`,
].join('|');

const LABEL = '(?:[a-z0-9\\u{00a1}-\\u{ffff}]+-)*[a-z0-9\\u{00a1}-\\u{ffff}]+';

/**
 * ajv-formats 3.0.1's `url` (dperini's), the same language without lookaheads. Its userinfo
 * `\S+(?::\S*)?@` is `\S+@` (`:` is itself `\S`), which is also what a linear engine makes of it.
 */
const URL_PATTERN =
  `^(?:https?|ftp):\\/\\/(?:\\S+(?::\\S*)?@)?` +
  `(?:${PUBLIC_IPV4}|(?:${LABEL})(?:\\.${LABEL})*(?:\\.(?:[a-z\\u{00a1}-\\u{ffff}]{2,})))` +
  `(?::\\d{2,5})?(?:\\/[^\\s]*)?$`;

/**
 * Compiled when a schema first checks a `url`: RE2 case-folds the pattern's Unicode ranges, about
 * 45 ms of CPU that every cold start paid at import (docs/architecture.md, "What a cold start costs").
 */
let url: ReturnType<typeof compileLinearRegExp> | undefined;

/** Adds the formats to an Ajv instance. */
export function addJsonSchemaFormats(ajv: Ajv): void {
  addFormats.default(ajv);
  ajv.addFormat('url', {
    type: 'string',
    validate: (text: string) => {
      url ??= compileLinearRegExp(URL_PATTERN, 'iu');
      return url.test(text);
    },
  });
}
