import { readResolvedConfig } from '../config/resolved';
import type { SlipwayConfig } from '../config/schema';
import { environment } from './environment';

let cached: SlipwayConfig | undefined;

/**
 * The stage's config, read once per container from the resolved file packaged beside the function
 * (validated when it was written): the one place a function reads it, and only a function that needs
 * it does. A missing or altered file fails the cold start, loudly.
 */
export function config(): SlipwayConfig {
  cached ??= readResolvedConfig(environment().stage);
  return cached;
}
