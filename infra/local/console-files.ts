/**
 * The console's files for `npm start` (CONTRACT §5): `/console/*` from the Vite build in
 * dist/console, every path that is not a file answered with index.html (the console routes in the
 * browser), `/` sent to `/console/`. Strict headers: a CSP that allows only this origin's scripts,
 * styles and API, no framing, and no Referer (a personal link's token must not leak to another site).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** True for the paths this module answers: `/`, `/console` and everything under it. */
export function isConsolePath(pathname: string): boolean {
  return pathname === '/' || pathname === '/console' || pathname.startsWith('/console/');
}

/** Answers a console request from `dir` (the build); a method other than GET or HEAD is 405. */
export function serveConsole(
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
  dir: string,
): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, {
      allow: 'GET, HEAD',
      'content-type': 'text/plain; charset=utf-8',
      ...SECURITY_HEADERS,
    });
    response.end('The console is read with GET\n');
    return;
  }
  if (pathname === '/' || pathname === '/console') {
    response.writeHead(308, { location: '/console/', ...SECURITY_HEADERS });
    response.end();
    return;
  }
  const index = join(dir, 'index.html');
  if (!existsSync(index)) {
    response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    response.end('The console is not built: run `npm run build` (npm ci and npm start build it too).\n');
    return;
  }
  let relative: string;
  try {
    relative = decodeURIComponent(pathname.slice('/console/'.length));
  } catch {
    relative = '';
  }
  // Only files inside the build: `..` and absolute paths fall back to index.html.
  const file = normalize(join(dir, relative));
  const inside = file.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
  // A NUL names no file (the file system refuses the path outright).
  const named = inside && relative !== '' && !relative.includes('\0');
  const found = named && isFile(file) ? file : undefined;
  if (!found && relative.startsWith('assets/')) {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    response.end('No such file\n');
    return;
  }
  const path = found ?? index;
  const headers: Record<string, string> = {
    'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
    // Hashed assets never change; the page and config.json are read fresh.
    'cache-control': relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  };
  response.writeHead(200, { ...headers, 'content-length': String(statSync(path).size) });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  // A file that went away since it was found (the console rebuilt under a running server) ends this
  // answer, not the process: an error of the read stream with no listener would be thrown.
  pipeline(createReadStream(path), response, () => undefined);
}

/**
 * Whether a file is there. A path the file system cannot look up is no file either: a name longer
 * than it allows (ENAMETOOLONG), a file taken for a directory (`index.html/x`: ENOTDIR), a loop of
 * links; statSync throws for those where it answers undefined for a name that is not there.
 */
function isFile(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}
