/**
 * The OTLP exporter's settings from the standard `OTEL_*` variables, read without loading the
 * OpenTelemetry SDK: a host loads it (otel.ts) only when an endpoint is set, so tracing off costs
 * neither the SDK's load time nor anything per span.
 */
import { ConfigurationError } from '../errors.js';
import type { Telemetry } from '../ports/telemetry.js';
import { noTelemetry } from './no-telemetry.js';

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface OtlpSettings {
  /** The traces URL (`…/v1/traces`). */
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  serviceName: string;
  /** How long one export may take, retries included (ms; OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT, default 10,000). */
  timeoutMs: number;
}

/**
 * The standard variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`), `OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL`
 * (`http/protobuf`, the spec's default, or `http/json`), `OTEL_EXPORTER_OTLP[_TRACES]_HEADERS`
 * (`k=v,k2=v2`), `OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT` (ms), `OTEL_SERVICE_NAME`; `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn
 * it off. Undefined: no endpoint, nothing exported. A bad value throws a ConfigurationError naming it.
 */
export function otlpSettings(env: Record<string, string | undefined>): OtlpSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!specific && !general) return undefined;
  const variable = specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const url = specific || `${general!.replace(/\/+$/, '')}/v1/traces`;
  if (!/^https?:\/\/[^\s]+$/.test(url)) {
    throw new ConfigurationError(`${variable} must be an http(s) URL, got '${specific || general}'`, {
      details: { variable },
    });
  }
  const protocolVariable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim()
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolVariable]?.trim() || 'http/protobuf';
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new ConfigurationError(
      `${protocolVariable} must be http/protobuf or http/json (grpc is not supported), got '${protocol}'`,
      { details: { variable: protocolVariable } },
    );
  }
  return {
    url,
    protocol: protocol as OtlpProtocol,
    headers: {
      ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'flowrunner',
    timeoutMs: timeoutOf(env),
  };
}

function timeoutOf(env: Record<string, string | undefined>): number {
  const variable = env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT?.trim()
    ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'
    : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  const text = env[variable]?.trim();
  if (!text) return 10_000;
  if (!/^\d{1,7}$/.test(text) || Number(text) === 0) {
    throw new ConfigurationError(`${variable} must be a positive number of milliseconds, got '${text}'`, {
      details: { variable },
    });
  }
  return Number(text);
}

/** `k=v,k2=v2`, values URL-decoded (the spec's format). */
function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of (text ?? '').split(',')) {
    const at = entry.indexOf('=');
    if (at <= 0) continue;
    headers[entry.slice(0, at).trim()] = decodeURIComponent(entry.slice(at + 1).trim());
  }
  return headers;
}

/** A host's telemetry: OpenTelemetry when an endpoint is set (the SDK loaded then), else the no-op. */
export async function telemetryFromEnv(
  env: Record<string, string | undefined>,
): Promise<Telemetry & { shutdown?(): Promise<void> }> {
  const settings = otlpSettings(env);
  if (!settings) return noTelemetry;
  const { createOtlpTelemetry } = await import('./otel.js');
  return createOtlpTelemetry(settings);
}
