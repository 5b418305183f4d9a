import { type ArchiveRestoreRequest, drillArchive, restoreArchive, takeArchive } from './archive-jobs';
import { type ArchiveSubject, archiveSettings, previewArchiveRetention } from './archive-retention';
import { reconcileArchives } from './archive-settlement';
import { type ArchivesContext, type ArchivesDeps, archivesContext } from './archives-context';
import type { ArchiveRecord, ArchiveRestoreRecord } from './records';
import type { RetentionDecision } from './retention';

export type { ArchiveRestoreRequest } from './archive-jobs';
export type { ArchiveSubject } from './archive-retention';
export type { ArchivesDeps } from './archives-context';

/**
 * Volume archives and PostgreSQL dumps, as the control plane sees them: it records the job,
 * starts the worker where the data can be reached (archive-jobs.ts), follows the job to its end (the
 * worker records the outcome; the reconciler catches workers that died), applies retention
 * (archive-settlement.ts) and runs drills. The front for a caller that uses several parts, over one
 * context; a function that uses one part is wired with that part alone (lib/wiring/archives.ts).
 */
export class Archives {
  private readonly context: ArchivesContext;

  constructor(deps: ArchivesDeps) {
    this.context = archivesContext(deps);
  }

  /** What the subject's config says: how it runs, how long it may, what retention keeps. */
  settings(subject: ArchiveSubject) {
    return archiveSettings(this.context.deps.config, subject);
  }

  /** Starts an archive or a dump now; skipped, with the reason, while the previous one still runs. */
  take(subject: ArchiveSubject, trigger: string): Promise<ArchiveRecord> {
    return takeArchive(this.context, subject, trigger);
  }

  /** A restore by the worker: into a directory under the volume, or into a database on the dumped server. */
  restore(request: ArchiveRestoreRequest): Promise<ArchiveRestoreRecord> {
    return restoreArchive(this.context, request);
  }

  /** The drill: the newest archive or dump into scratch; the worker verifies it, times it and removes it. */
  drill(subject: ArchiveSubject): Promise<ArchiveRestoreRecord> {
    return drillArchive(this.context, subject);
  }

  /** Records whose worker died or never started become FAILED; retention and the ages follow. */
  reconcile(): Promise<Array<{ id: string; outcome: string }>> {
    return reconcileArchives(this.context);
  }

  /** What retention would delete now, and why, without deleting anything. */
  retentionPreview(subject: ArchiveSubject): Promise<RetentionDecision> {
    const { deps, now } = this.context;
    return previewArchiveRetention({ config: deps.config, store: deps.store, now }, subject);
  }
}
