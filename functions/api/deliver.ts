/**
 * How the API puts a person's signal into a run's inbox: an answer, a cancel, a pause or an unpause.
 * Each competes for the one inbox id of its kind (signal-ids.ts); anything but a cancel is put only
 * while no cancel was accepted, as the canceled run would drop it.
 */
import type { RunState, Signal } from '../../shared/engine/types.js';
import { deliverSignal, type OrchestratorDeps } from '../../shared/orchestration/orchestrator.js';
import { cancelSignalIds } from '../../shared/orchestration/signal-ids.js';
import { conflict } from './http-error.js';

/**
 * Delivers `signal` to the run `state` is of, under `signalId`; 409 when another signal with that
 * id (`taken` says so) or a cancel was accepted first.
 */
export async function deliverOnce(
  deps: Pick<OrchestratorDeps, 'stores' | 'clock' | 'tokens' | 'telemetry'>,
  state: RunState,
  signalId: string,
  signal: Signal,
  taken: string,
): Promise<void> {
  const options = signal.type === 'cancel' ? {} : { unless: cancelSignalIds(state) };
  const { accepted, blocked } = await deliverSignal(state.id, signalId, signal, deps, options);
  if (blocked) throw conflict('The run is being canceled: a cancel was accepted first');
  if (!accepted) throw conflict(taken);
}
