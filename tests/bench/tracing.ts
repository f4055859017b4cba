/**
 * `tracing_overhead_pct`: the engine's cost per step with tracing on (OpenTelemetry SDK, batch span
 * processor, an exporter that accepts every batch at once: the SDK's cost, not a network's) against
 * tracing off (the no-op), on the same runs, through the run loop and the Advance observation that
 * `advance` uses, in CPU µs. Rounds alternate off and on; the overhead is the median of each pair's difference
 * (so a neighbour that slows the machine for a while slows both halves of a pair alike), and the
 * µs per step are the medians of their rounds.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { noTelemetry } from '../../shared/adapters/no-telemetry.js';
import { createOtelTelemetry } from '../../shared/adapters/otel.js';
import type { WorkflowVersion } from '../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../shared/definition/validate.js';
import { createRun } from '../../shared/engine/transition.js';
import { RunLoop } from '../../shared/orchestration/run-loop.js';
import { AdvanceObservation } from '../../shared/orchestration/run-telemetry.js';
import type { Telemetry } from '../../shared/ports/telemetry.js';
import { memoryOrchestrator } from '../support/memory-orchestrator.js';
import { linearWorkflow } from './run.js';

export interface TracingFigures {
  tracing_overhead_pct: number;
  /** CPU µs that tracing adds to a step: the median of each pair's difference. */
  tracing_added_us_per_step: number;
  tracing_on_us_per_step: number;
  tracing_off_us_per_step: number;
}

/**
 * Accepts every batch at once, after reading every field of every span that the OTLP exporters read
 * (ids, parent, times, attributes, status, links, resource, scope), without encoding them: so the
 * figure includes whatever it costs to present the spans as ReadableSpan, however lazily that is done,
 * and counts the spans, so it is known to include all of them.
 */
class ReadingExporter implements SpanExporter {
  spans = 0;
  /** A sum over what was read, so that no read can be optimised away. */
  checksum = 0;
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    // Each property once, as the OTLP transformer (`sdkSpanToOtlpSpan`) reads it.
    for (const span of spans) {
      const context = span.spanContext();
      let read = context.traceId.length + context.spanId.length + context.traceFlags + span.name.length;
      read += span.parentSpanContext?.spanId.length ?? 0;
      const start = span.startTime;
      const end = span.endTime;
      read += span.kind + start[0] + start[1] + end[0] + end[1];
      const attributes = span.attributes;
      for (const key in attributes) read += key.length + (attributes[key] === undefined ? 1 : 0);
      const status = span.status;
      read += status.code + (status.message?.length ?? 0);
      for (const link of span.links) read += link.context.spanId.length;
      read +=
        span.events.length + span.droppedAttributesCount + span.droppedEventsCount + span.droppedLinksCount;
      read += span.resource === undefined ? 0 : 1;
      read += span.instrumentationScope.name.length;
      this.checksum = (this.checksum + read) % 1_000_000_007;
    }
    this.spans += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

/**
 * Runs per round: 300 runs of 10 steps, ~15 ms. Rounds of 100 runs (~5 ms) were shorter than the
 * gap between two young-generation collections, so whether a round held one decided its figure:
 * the same code measured 1 % and 30 % in consecutive runs of the benchmark.
 */
const RUNS_PER_ROUND = 300;

export async function measureTracingOverhead(
  size = 10,
  runsPerRound = RUNS_PER_ROUND,
  rounds = 21,
): Promise<TracingFigures> {
  const { deps } = memoryOrchestrator();
  const exporter = new ReadingExporter();
  const traced = createOtelTelemetry({ exporter });
  const workflow: WorkflowVersion = {
    id: `linear-${size}`,
    version: 1,
    definition: assertValidWorkflow(linearWorkflow(size), { registry: deps.registry }),
    created_at: deps.clock.now().toISOString(),
  };
  const once = async (id: string, telemetry: Telemetry) => {
    const executor = { ...deps, telemetry };
    const created = createRun({ id, workflow, inputs: {}, now: deps.clock.now() });
    const state = { ...created.state, trace: telemetry.newTrace() };
    const observation = new AdvanceObservation(executor, state, 0);
    const loop = new RunLoop(state, {
      workflow,
      executor: observation.executor(executor),
      persist: async () => {},
      observe: (before, signal) => observation.applying(before, signal),
      committed: (transition) => observation.committed(transition),
    });
    loop.deliver({ type: 'start' });
    const result = await loop.run();
    observation.end({ directive: 'done', checkpoint: result.state.checkpoint });
    if (result.state.status !== 'completed') throw new Error(`bench run ended ${result.state.status}`);
  };
  // CPU time of the process, not wall time: on a machine shared with others, waiting for a core is
  // not the engine's cost. (The exporter's work is in it: it runs in this process.)
  const round = async (telemetry: Telemetry, label: string) => {
    const started = process.cpuUsage();
    for (let i = 0; i < runsPerRound; i++) await once(`${label}_${i}`, telemetry);
    await telemetry.flush();
    const used = process.cpuUsage(started);
    return (used.user + used.system) / (runsPerRound * size);
  };
  await round(traced, 'warm_on');
  await round(noTelemetry, 'warm_off');
  const on: number[] = [];
  const off: number[] = [];
  for (let r = 0; r < rounds; r++) {
    off.push(await round(noTelemetry, `off_${r}`));
    on.push(await round(traced, `on_${r}`));
  }
  await traced.shutdown();
  // Per run of the traced rounds (and the warm-up): the step spans, the Advance span and the root
  // span, each exported once: no fewer (the figure would leave out their cost), no more (a span sent
  // twice, as the root span of a run of pure steps once was).
  const expected = runsPerRound * (rounds + 1) * (size + 2);
  if (exporter.spans !== expected) {
    throw new Error(`${exporter.spans} spans were exported, not ${expected}`);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const onUs = median(on);
  const offUs = median(off);
  return {
    tracing_overhead_pct: median(on.map((us, r) => ((us - off[r]!) / off[r]!) * 100)),
    tracing_added_us_per_step: median(on.map((us, r) => us - off[r]!)),
    tracing_on_us_per_step: onUs,
    tracing_off_us_per_step: offUs,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await measureTracingOverhead())}\n`);
}
