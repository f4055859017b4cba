/** Loading from the API with a stale-while-refresh rule: what is shown stays until the new answer is in. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, onKeyChange } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` now, whenever `deps` change, when the API key changes, and every `refreshMs` while
 * `live` says so. A failed refresh keeps the last data (and shows the error beside it).
 */
export function useApi<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  options: { refreshMs?: number; live?: (data: T | undefined) => boolean } = {},
): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const dataRef = useRef<T | undefined>(undefined);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => onKeyChange(reload), [reload]);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        dataRef.current = value;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(
          failure instanceof ApiError
            ? failure
            : new ApiError({ title: 'Error', status: 0, detail: String(failure) }),
        );
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [...deps, tick]);

  const { refreshMs, live } = options;
  useEffect(() => {
    if (!refreshMs) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible' && (live?.(dataRef.current) ?? true)) reload();
    }, refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, live, reload]);

  return { data, error, loading, reload };
}
