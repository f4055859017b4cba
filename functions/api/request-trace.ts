/**
 * Each API request as a server span (CONTRACT §10): it continues the caller's W3C `traceparent`
 * when one is sent, is active while the route runs (so a start or a signal it causes links to it
 * from the run's own trace), and is named by its route, never by ids or tokens. The answer carries
 * `traceresponse` (W3C Trace Context level 2) so the request's log line and the caller can name it.
 */
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { Attr, parseTraceparent, routeOf } from '../../shared/observability/span-names.js';
import type { Telemetry } from '../../shared/ports/telemetry.js';
import { type ApiEvent, methodOf, pathOf } from './request.js';

type Dispatch = (event: ApiEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export function traceRequests(dispatch: Dispatch, telemetry: Telemetry | undefined): Dispatch {
  if (!telemetry?.enabled) return dispatch;
  return async (event, context) => {
    const method = methodOf(event);
    const route = routeOf(pathOf(event));
    const caller = parseTraceparent(event.headers?.traceparent);
    const span = telemetry.startSpan(`${method} ${route}`, {
      kind: 'server',
      ...(caller ? { parent: caller } : {}),
      attributes: { [Attr.httpMethod]: method, [Attr.httpRoute]: route },
    });
    try {
      const result = await telemetry.withSpan(span, () => dispatch(event, context));
      const status = result.statusCode ?? 200;
      span.setAttributes({ [Attr.httpStatus]: status });
      if (status >= 500) span.fail({ code: String(status), message: 'server error' });
      return {
        ...result,
        headers: {
          ...result.headers,
          traceresponse: `00-${span.context.trace_id}-${span.context.span_id}-01`,
        },
      };
    } catch (error) {
      // Refusals are thrown as HttpErrors with their status; the error handler answers them.
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      span.setAttributes({ [Attr.httpStatus]: status });
      if (status >= 500) span.fail({ code: String(status), message: 'server error' });
      throw error;
    } finally {
      span.end();
    }
  };
}

/** The trace id of an answer's `traceresponse` header, for its log line. */
export function traceIdOf(headers: Record<string, unknown> | undefined): string | undefined {
  const value = headers?.traceresponse;
  return typeof value === 'string' ? parseTraceparent(value)?.trace_id : undefined;
}
