import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { nextDelay } from './polling';

/**
 * Reads a page's data now and again every `intervalMs` while the tab is visible; after failures, backs
 * off (polling.ts). Stops for good on a 401 (the session is over) and once `isFinal` says the data will
 * not change.
 */

export interface Polled<T> {
  data?: T;
  error?: ApiError;
  updatedAt?: number;
  /** After a failure: the wait before the next try. */
  retryInMs?: number;
  final: boolean;
  hidden: boolean;
  reload: () => void;
}

/** What one key's reads came to; a new key starts afresh. */
interface State<T> extends Omit<Polled<T>, 'reload'> {
  key: string;
}

const asApiError = (error: unknown) =>
  error instanceof ApiError ? error : new ApiError(0, 'CONSOLE', (error as Error)?.message ?? String(error));

export function usePolling<T>(
  key: string,
  load: () => Promise<T>,
  intervalMs: number,
  isFinal?: (data: T) => boolean,
): Polled<T> {
  const [state, setState] = useState<State<T>>({ key, final: false, hidden: false });
  const [round, setRound] = useState(0);
  const loadRef = useRef(load);
  const finalRef = useRef(isFinal);
  loadRef.current = load;
  finalRef.current = isFinal;

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let stopped = false;
    let waiting = false;
    setState((previous) =>
      previous.key === key ? { ...previous, final: false } : { key, final: false, hidden: false },
    );

    const schedule = (ms: number) => {
      clearTimeout(timer);
      if (!stopped && !document.hidden) timer = setTimeout(run, ms);
    };
    const run = async () => {
      if (waiting || stopped) return;
      waiting = true;
      try {
        const data = await loadRef.current();
        if (stopped) return;
        failures = 0;
        const final = finalRef.current?.(data) ?? false;
        setState({ key, data, updatedAt: Date.now(), final, hidden: false });
        if (final) stopped = true;
        else schedule(intervalMs);
      } catch (caught) {
        if (stopped) return;
        const error = asApiError(caught);
        failures += 1;
        const over = error.status === 401;
        const retryInMs = over ? undefined : nextDelay(intervalMs, failures);
        setState((previous) => ({ ...previous, key, error, retryInMs, hidden: false }));
        if (over) stopped = true;
        else if (retryInMs !== undefined) schedule(retryInMs);
      } finally {
        waiting = false;
      }
    };
    const onVisibility = () => {
      if (document.hidden) {
        clearTimeout(timer);
        setState((previous) => ({ ...previous, hidden: true }));
      } else if (!stopped) {
        void run();
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [key, intervalMs, round]);

  const { key: _shown, ...current } = state.key === key ? state : { key, final: false, hidden: false };
  return { ...current, reload: () => setRound((value) => value + 1) };
}
