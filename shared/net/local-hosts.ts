/**
 * The `Host` headers that address a server on this machine: the loopback names (CONTRACT §5), each
 * with the port. Anything else is a name that DNS rebinding pointed here, so the local API server
 * and the local S3 endpoint both refuse it.
 */
const LOCAL_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
/** Addresses that mean "every interface": not a name a client addresses the server by. */
const WILDCARDS = new Set(['', '0.0.0.0', '::']);

/** The Host headers of a server listening on `port`, and on `bound` when it was told that address. */
export function localHosts(port: number, bound?: string): string[] {
  const names = new Set(LOCAL_NAMES);
  if (bound !== undefined && !WILDCARDS.has(bound))
    // Only an IPv6 address holds a colon (a name or an IPv4 address cannot): written in brackets.
    names.add(bound.includes(':') ? `[${bound}]` : bound.toLowerCase());
  // A client leaves out the port only when it is the default one.
  return [...names].flatMap((name) => (port === 80 ? [`${name}:80`, name] : [`${name}:${port}`]));
}

/**
 * Why an endpoint on this machine refuses a request, or undefined to serve it. A browser names the
 * page in `Origin` on every request that could reach it from another site (preflights included),
 * and SDKs and tools never send one; a name rebound to 127.0.0.1 arrives in `Host`. `purpose` says
 * whom the endpoint is for ("the local S3 endpoint is for tools and SDKs on this machine").
 */
export function foreignRequest(
  request: { origin: string | undefined; host: string | undefined },
  own: readonly string[],
  purpose: string,
): string | undefined {
  if (request.origin !== undefined && request.origin !== '') {
    return `Requests from web pages (with an Origin) are refused: ${purpose}`;
  }
  return own.includes((request.host ?? '').toLowerCase())
    ? undefined
    : `This endpoint answers requests addressed to ${own[0]} only`;
}
