/** Lambda entry point of the HTTP API (API Gateway v2, payload 2.0). */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { apiKeys, orchestratorDeps } from '../lambda-wiring.js';
import { createApi } from './app.js';

let api: Promise<ReturnType<typeof createApi>> | undefined;

export const handler = async (event: APIGatewayProxyEventV2, context: Context) => {
  // Built on the first request of a container: the wiring reads its keys from Secrets Manager.
  api ??= (async () =>
    createApi({ orchestrator: await orchestratorDeps(), apiKeys: { keys: await apiKeys() } }))();
  return (await api)(event, context);
};
