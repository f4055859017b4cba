/** The states every view shares: loading (a fixed-height placeholder, so nothing jumps), empty, and failed. */
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api.js';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="state" aria-busy="true">
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="state empty">{children}</div>;
}

/** An API error as people can act on it; 401 is answered by the key prompt, not here. */
export function Failure({ error, retry }: { error: ApiError; retry?: () => void }) {
  if (error.status === 401) return null;
  return (
    <div class="state failure" role="alert">
      <strong>{error.status === 0 ? 'The API cannot be reached' : error.problem.title}</strong>
      {error.problem.detail ? <p>{error.problem.detail}</p> : null}
      {retry ? (
        <button type="button" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Status({ status, label }: { status: string; label?: string }) {
  return <span class={`status status-${status}`}>{label ?? status}</span>;
}
