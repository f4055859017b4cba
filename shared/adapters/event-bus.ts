/**
 * The project's event bus on AWS: `POST /v1/events` puts its entries with PutEvents, and the bus's rule
 * hands each event to the trigger function, which fires every matching `eventbridge` listener.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { FlowrunnerError, ThrottledError, ValidationError } from '../errors.js';
import type { EventBus } from '../ports/triggers.js';
import { putEventsEntries } from '../triggers/bus-entries.js';
import { awsFailure } from './aws-errors.js';

export interface EventBridgeBusOptions {
  client: EventBridgeClient;
  /** The project's bus (`<prefix>-events`), by name or ARN. */
  eventBusName: string;
}

/** Entry errors of PutEvents that may pass if the same entry is put again later. */
const TRANSIENT_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

export function createEventBridgeBus(options: EventBridgeBusOptions): EventBus {
  const { client, eventBusName } = options;

  return {
    async put(entries) {
      if (entries.length === 0) return [];
      const request = putEventsEntries(entries).map((entry) => ({ ...entry, EventBusName: eventBusName }));
      let answer: PutEventsCommandOutput;
      try {
        answer = await client.send(new PutEventsCommand({ Entries: request }));
      } catch (error) {
        const failure = awsFailure(error);
        const message = `PutEvents on '${eventBusName}' failed: ${failure.name}`;
        const options = { cause: error, details: { error: failure.name } };
        // Throttled or down: the API answers 503 with Retry-After. Anything else (a bus that is not
        // there, a denied call) is the deployment's fault.
        if (failure.transient) throw new ThrottledError(message, options);
        throw new FlowrunnerError('EventBusUnavailable', message, options);
      }
      const results = answer.Entries ?? [];
      if (results.length !== entries.length) {
        throw new FlowrunnerError(
          'EventBusUnavailable',
          `PutEvents answered ${results.length} results for ${entries.length} entries`,
        );
      }
      // A caller's id is the event's id (the trigger function reads it back from the entry), not the
      // one EventBridge assigned: the same answer as on one machine.
      const eventIds = results.map((result, index) =>
        result.EventId ? (entries[index]!.id ?? result.EventId) : undefined,
      );
      if (eventIds.every((id) => id !== undefined)) return eventIds.map((id) => ({ event_id: id }));
      throw partlyRejected(results, eventIds);
    },
  };
}

/**
 * Some entries were put and some refused: the error names each refused entry by its path and keeps the
 * ids of those put (they fire their listeners), so a caller puts again only what was refused. Refusals
 * that may pass (throttling) are a ThrottledError (503 and Retry-After from the API); others, what the
 * entries themselves hold, a ValidationError (422 with `entries.<i>`, the API's own paths).
 */
function partlyRejected(
  results: PutEventsResultEntry[],
  eventIds: readonly (string | undefined)[],
): FlowrunnerError {
  const refused = results.flatMap((result, index) =>
    eventIds[index]
      ? []
      : [{ index, code: result.ErrorCode ?? 'UnknownError', message: result.ErrorMessage ?? '' }],
  );
  const issues = refused.map((r) => ({
    path: `entries.${r.index}`,
    message: `${r.code}${r.message ? ` (${r.message})` : ''}`,
  }));
  const put = eventIds.flatMap((id, index) => (id ? [`entries.${index} as ${id}`] : []));
  const message =
    `EventBridge refused ${refused.length} of ${results.length} entries: ` +
    `${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` +
    (put.length > 0 ? `; put: ${put.join(', ')}` : '');
  const details = {
    entries: results.map((result, index) =>
      eventIds[index]
        ? { event_id: eventIds[index] }
        : { error_code: result.ErrorCode ?? 'UnknownError', error_message: result.ErrorMessage ?? '' },
    ),
  };
  if (refused.every((r) => TRANSIENT_ENTRY_ERRORS.has(r.code)))
    return new ThrottledError(message, { details });
  return new ValidationError(message, issues, { details });
}
