/**
 * A state in words with a sign beside it, so it reads without its colour: ✓ done well, ✗ ended badly,
 * … under way, ○ waiting or set aside.
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

const SIGNS = { good: '✓', bad: '✗', busy: '…', idle: '○' } as const;

export function StateLabel({ state }: { state: string }) {
  const tone = toneOf(state);
  return (
    <span class={`state state-${tone}`}>
      <span aria-hidden="true">{SIGNS[tone]} </span>
      {state}
    </span>
  );
}
