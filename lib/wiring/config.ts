import { loadStageConfig } from '../config/load';
import type { SlipwayConfig } from '../config/schema';
import { environment } from './environment';

let cached: SlipwayConfig | undefined;

/**
 * The stage's config, loaded and checked once per container: the one place a function reads it, and
 * only a function that needs it does. A bad file fails the cold start, loudly.
 */
export function config(): SlipwayConfig {
  cached ??= loadStageConfig(environment().stage);
  return cached;
}
