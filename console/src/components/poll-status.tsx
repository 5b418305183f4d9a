import type { Polled } from '../use-polling';
import { Time } from './time';

/** When the page's data was read, or why it was not and when it will be tried again; read out politely. */
export function PollStatus({ polled, finalText }: { polled: Polled<unknown>; finalText?: string }) {
  const { updatedAt, error, retryInMs, final, hidden } = polled;
  return (
    <p class="poll-status" aria-live="polite">
      {error ? (
        <span class="error-text">
          Could not update: {error.message}
          {/[.!?]$/.test(error.message) ? '' : '.'}
          {retryInMs !== undefined ? ` Retrying in ${Math.round(retryInMs / 1000)} s.` : ''}{' '}
          {updatedAt !== undefined ? (
            <>
              Showing what was read at <Time value={new Date(updatedAt).toISOString()} />.
            </>
          ) : null}
        </span>
      ) : updatedAt !== undefined ? (
        <>
          Updated <Time value={new Date(updatedAt).toISOString()} />
          {final ? `. ${finalText ?? 'No more updates.'}` : hidden ? '. Paused while this tab is hidden.' : ''}
        </>
      ) : (
        'Loading…'
      )}
    </p>
  );
}
