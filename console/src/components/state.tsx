/**
 * A state in words with a sign before it, so it reads without its colour: ✓ done well, ✗ ended badly,
 * … under way, ○ waiting or set aside. The sign is the stylesheet's (styles.css, .state-*::before), so
 * the element's text is the state alone, as screen readers and the browser tests read it.
 */

const GOOD = new Set(['SUCCEEDED', 'AVAILABLE', 'ok', 'allowed', 'succeeded']);
const BAD = new Set(['FAILED', 'ROLLED_BACK', 'TIMED_OUT', 'failing', 'denied', 'failed', 'refused']);
const BUSY = new Set(['IN_PROGRESS', 'CREATING', 'RESTORING', 'QUEUED']);

export function toneOf(state: string): 'good' | 'bad' | 'busy' | 'idle' {
  if (GOOD.has(state)) return 'good';
  if (BAD.has(state)) return 'bad';
  if (BUSY.has(state)) return 'busy';
  return 'idle';
}

export function StateLabel({ state }: { state: string }) {
  return <span class={`state state-${toneOf(state)}`}>{state}</span>;
}
