/**
 * `/docs`: the API reference, rendered in the browser by Redoc from `/openapi.json`. The page and
 * Redoc's script are served by the API itself — no CDN — under a Content-Security-Policy that
 * allows scripts from this origin only. The script is read once per process: beside the Lambda
 * bundle (infra copies it there, see `DOCS_SCRIPT_FILE`), else from the installed `redoc` package.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { HttpError } from './http-error.js';
import type { ApiResult } from './response.js';

/** The file the API Lambda's bundle carries beside its code. */
export const DOCS_SCRIPT_FILE = 'redoc.standalone.js';
/** Where the installed package keeps it (redoc is pinned in package.json). */
export const DOCS_SCRIPT_MODULE = `redoc/bundles/${DOCS_SCRIPT_FILE}`;
export const DOCS_SCRIPT_PATH = `/docs/${DOCS_SCRIPT_FILE}`;

/**
 * Redoc injects its styles (styled-components), fetches the document, and runs its search in a
 * worker it makes from a blob; everything else is refused.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': DOCS_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

// Relative links: the page works wherever the API is mounted (`/docs` → `openapi.json`, `docs/…`).
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flowrunner API reference</title>
<link rel="icon" href="data:,">
</head>
<body>
<noscript>The reference needs JavaScript. The document itself is at <a href="openapi.json">openapi.json</a>.</noscript>
<redoc spec-url="openapi.json" expand-responses="200,201,202" required-props-first="true" path-in-middle-panel="true"></redoc>
<script src="docs/${DOCS_SCRIPT_FILE}"></script>
</body>
</html>
`;

export function docsPage(): ApiResult {
  return {
    statusCode: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...SECURITY_HEADERS },
    body: PAGE,
  };
}

interface Script {
  text: Buffer;
  gzip: Buffer;
}

let script: Script | undefined;

function scriptLocations(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const locations = [join(here, DOCS_SCRIPT_FILE)];
  try {
    locations.push(createRequire(import.meta.url).resolve(DOCS_SCRIPT_MODULE));
  } catch {
    // Not installed (a production install without dev packages): only the bundled copy can serve.
  }
  return locations;
}

function loadScript(): Script {
  for (const location of scriptLocations()) {
    let text: Buffer;
    try {
      text = readFileSync(location);
    } catch {
      continue;
    }
    return { text, gzip: gzipSync(text, { level: 9 }) };
  }
  throw new HttpError(
    404,
    'Not Found',
    `The API reference's script is not installed (${DOCS_SCRIPT_MODULE}); the document is at /openapi.json`,
  );
}

/** Redoc's script, gzipped for a client that takes it (1.1 MB as is, about a third of it gzipped). */
export function docsScript(acceptEncoding: string | undefined): ApiResult {
  script ??= loadScript();
  const gzip = /\bgzip\b/i.test(acceptEncoding ?? '');
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=86400',
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    },
    body: (gzip ? script.gzip : script.text).toString('base64'),
    isBase64Encoded: true,
  };
}
