/**
 * How an image tells the sandbox what to do with it. Documented for users (config/sandbox.yml,
 * docs): a tag ending in `-crashloop` pushes an image whose essential container exits with code 1 soon
 * after it starts, and one ending in `-vulnerable` an image whose basic scan finds one CRITICAL and two
 * HIGH vulnerabilities. The behaviour is kept as a label of the image's config, so it follows the
 * image (its digest) wherever it is tagged or deployed, as a real image's code would.
 */

export const BEHAVIOUR_LABEL = 'org.slipway.sandbox.behaviour';

export type Behaviour = 'crashloop' | 'vulnerable' | 'healthy';

const SUFFIXES: Array<[string, Behaviour]> = [
  ['-crashloop', 'crashloop'],
  ['-vulnerable', 'vulnerable'],
];

export function behaviourOfTag(tag: string): Behaviour {
  return SUFFIXES.find(([suffix]) => tag.endsWith(suffix))?.[1] ?? 'healthy';
}

export function behaviourOf(labels: Record<string, string> | undefined): Behaviour {
  const value = labels?.[BEHAVIOUR_LABEL];
  return value === 'crashloop' || value === 'vulnerable' ? value : 'healthy';
}

/** What a crashing image's essential container does, as ECS then reports the stopped task. */
export const CRASH = {
  exitCode: 1,
  stopCode: 'EssentialContainerExited',
  stoppedReason: 'Essential container in task exited',
} as const;

/** The basic scan's counts for an image of this behaviour. */
export function scanCountsOf(behaviour: Behaviour): Record<string, number> {
  return behaviour === 'vulnerable' ? { CRITICAL: 1, HIGH: 2 } : {};
}
