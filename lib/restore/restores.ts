import type { AnyRestoreRecord, RestoreRecord } from '../backup/records';
import type { Home } from '../config/places';
import { NotFound } from '../errors';
import { drillRestore, type RestoreRequest, requestRestore } from './restore-requests';
import { onTargetEvent, reconcileRestores, type TargetEvent } from './restore-settlement';
import { type RestoresContext, type RestoresDeps, restoresContext } from './restores-context';

export type { RestoreRequest } from './restore-requests';
export type { RestoresDeps } from './restores-context';

/**
 * Restores over HTTP and restore drills. A restore always creates a NEW instance or cluster
 * with the source's network and shape, never touches the source, and is followed (event plus
 * reconciler) until the target is available, with the measured duration. The front for a caller that
 * uses several parts: starting (restore-requests.ts) and following (restore-settlement.ts), over one context.
 */
export class Restores {
  private readonly context: RestoresContext;

  constructor(deps: RestoresDeps) {
    this.context = restoresContext(deps);
  }

  async get(id: string): Promise<AnyRestoreRecord> {
    const record = await this.context.deps.store.get(id);
    if (!record) throw new NotFound(`no restore ${id}`);
    return record;
  }

  request(asked: RestoreRequest): Promise<RestoreRecord> {
    return requestRestore(this.context, asked);
  }

  /** A restore drill: the newest available snapshot into a scratch identifier. */
  drill(database: string): Promise<RestoreRecord> {
    return drillRestore(this.context, database);
  }

  /**
   * Follows restores and drills until their target is available (or failed), cleans up drills, and
   * reports how long ago each drilled database's last drill passed.
   */
  reconcile(): Promise<Array<{ id: string; outcome: string }>> {
    return reconcileRestores(this.context);
  }

  /** An RDS instance or cluster event about a restore target: settle it now rather than at the next reconcile. */
  onTargetEvent(event: TargetEvent, home: Home): Promise<string> {
    return onTargetEvent(this.context, event, home);
  }
}
