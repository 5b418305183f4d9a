import type { AuditRecorder } from '../audit/trail';
import { eventFromElsewhere } from '../config/places';
import type { AppConfig, EnvironmentConfig, ReleasePolicy, SlipwayConfig } from '../config/schema';
import type { Deployments } from '../deploy/deployments';
import type { EcrFor, EcsFor } from '../deploy/deployments-context';
import { containerImages, describeService, describeTaskDefinition, digestOf, ecrRepository } from '../deploy/ecs';
import { placeOf } from '../deploy/placement';
import { Conflict } from '../errors';
import type { Publisher } from '../notify/publisher';
import { logger, metrics } from '../observability';
import type { Idempotency } from '../store/idempotency';
import type { PendingRelease, ReleaseStore } from '../store/releases';
import { EcrImages } from './ecr-images';
import { choose, decide, type RunningImage } from './policy';
import type { ScanCounts } from './records';
import { releaseOperation, repositoryElsewhere } from './repository-place';
import { overLimits } from './scans';

/**
 * Image pushes as deployments: a push (from ECR or a registry webhook) is matched to the
 * environments whose release policy wants it and deployed through the deploy use case, so
 * approvals, locks, records and notifications all apply. What cannot deploy yet (soak time,
 * image scan, a deployment in flight) waits in the store and a schedule releases it.
 */

export interface Push {
  /** Who pushed, as the deployment records it: `ecr-push` or `webhook:<registry>`. */
  source: string;
  repository: string;
  digest: string;
  /** The tag(s) the event named; for ECR only the tags ECR says the digest carries count. */
  tags: string[];
  pushedAt?: string;
}

export type TargetOutcome = {
  app: string;
  environment: string;
  outcome: 'deployed' | 'pending-approval' | 'waiting' | 'skipped' | 'refused' | 'duplicate';
  reason: string;
  tag?: string;
  deploymentId?: string;
};

export interface PushOutcome {
  ignored?: string;
  targets: TargetOutcome[];
}

interface Target {
  app: string;
  environment: string;
  appConfig: AppConfig;
  env: EnvironmentConfig;
  policy: ReleasePolicy;
}

/** A push as ECR describes it. */
interface Pushed {
  tags: string[];
  pushedAt: string;
  /** The scan's counts, once there is a result. */
  scan?: ScanCounts;
  /** An image index, judged by the scans of the images it lists. */
  index: boolean;
}

export interface ReleasesDeps {
  config: SlipwayConfig;
  deployments: Pick<Deployments, 'request' | 'history'>;
  store: ReleaseStore;
  ecsFor: EcsFor;
  /** ECR in a repository's region; with a session for a repository in an account config names. */
  ecrFor: EcrFor;
  idempotency: Idempotency;
  publisher: Publisher;
  /** Refusals are recorded here; the deployments a release starts, by the deploy use case. */
  audit: AuditRecorder;
  now?: () => Date;
}

const short = (digest: string) => `${digest.slice(0, 19)}…`;
const minutes = (count: number) => count * 60_000;
const BUSY_RETRY_MS = 60_000;
// The schedule's own period: an image index is looked at again on each run until its images are scanned.
const INDEX_SCAN_RETRY_MS = 60_000;
const DEFAULT_SCAN_TIMEOUT_MINUTES = 60;

/** repository → the environments with a release policy that deploy it; built once per container. */
export function releaseTargets(config: SlipwayConfig): Map<string, Target[]> {
  const index = new Map<string, Target[]>();
  for (const [app, appConfig] of Object.entries(config.apps)) {
    for (const [environment, env] of Object.entries(appConfig.environments)) {
      if (!env.release) continue;
      const targets = index.get(appConfig.repository) ?? [];
      targets.push({ app, environment, appConfig, env, policy: env.release });
      index.set(appConfig.repository, targets);
    }
  }
  return index;
}

export class Releases {
  private readonly now: () => Date;
  private readonly index: Map<string, Target[]>;
  private readonly images: EcrImages;

  constructor(private readonly deps: ReleasesDeps) {
    this.now = deps.now ?? (() => new Date());
    this.index = releaseTargets(deps.config);
    this.images = new EcrImages(deps.ecrFor, deps.config.accounts);
  }

  targetsOf(repository: string): Target[] {
    return this.index.get(repository) ?? [];
  }

  /**
   * Why an ECR or Amazon Inspector event naming `repository` (its URI as the event tells it) is ignored: config's
   * repository of that name is in another account or region than the event comes from. Logged and counted.
   */
  fromElsewhere(event: { id: string; account: string; region?: string | undefined }, repository: string) {
    const owner = repositoryElsewhere(this.index.keys(), event, repository);
    if (!owner) return undefined;
    return eventFromElsewhere(
      event,
      {
        service: 'ECR',
        thing: 'repository',
        name: `repository ${owner.repositoryName}`,
        account: owner.registryId,
        regions: [owner.region],
        keys: { repository },
      },
      'EcrEventsFromOtherAccounts',
    );
  }

  async onPush(push: Push): Promise<PushOutcome> {
    const targets = this.targetsOf(push.repository);
    if (targets.length === 0) return this.ignore(`no app uses repository ${push.repository}`, 'UnusedRepository');
    // The scan is read only where a policy holds pushes to it: an index costs three reads more.
    const pushed = await this.describePushed(
      push,
      targets.some((target) => target.policy.maxFindings !== undefined),
    );
    if (!pushed) return this.ignore(`ECR has no image ${short(push.digest)} in ${push.repository}`, 'NotInEcr');
    if (pushed.tags.length === 0) {
      return this.ignore(
        `untagged push of ${short(push.digest)} (an image index, attestation or signature)`,
        'Untagged',
      );
    }
    const outcomes: TargetOutcome[] = [];
    for (const target of targets) outcomes.push(await this.consider(target, push, pushed));
    return { targets: outcomes };
  }

  /** `ECR Image Scan` for a digest: releases waiting for it deploy, or are refused with the counts. */
  async onScan(repository: string, digest: string, counts: ScanCounts): Promise<TargetOutcome[]> {
    const at = this.now();
    const waiting = (await this.deps.store.forDigest(repository, digest)).filter(
      (release) => release.state === 'WAITING' && release.scanDeadline !== undefined && !release.scan,
    );
    const outcomes: TargetOutcome[] = [];
    for (const release of waiting) {
      const target = this.targetFor(release);
      if (!target) continue;
      outcomes.push(await this.afterScan(release, target, { counts, at: at.toISOString() }));
    }
    return outcomes;
  }

  /** The schedule: releases whose soak time is over, whose environment is free, or whose scan never came. */
  async releaseDue(): Promise<TargetOutcome[]> {
    const now = this.now();
    const outcomes: TargetOutcome[] = [];
    for (const release of await this.deps.store.due(now)) {
      const target = this.targetFor(release);
      if (!target) {
        await this.deps.store.end(
          release,
          { state: 'REFUSED', reason: 'the environment no longer has a release policy' },
          now,
        );
        continue;
      }
      try {
        outcomes.push(await this.settleDue(release, target, now));
      } catch (error) {
        logger.error('a waiting release could not be settled', { ...release, error: error as Error });
        outcomes.push({ ...this.where(release), outcome: 'waiting', reason: `error: ${(error as Error).name}` });
      }
    }
    return outcomes;
  }

  // ---- internals ------------------------------------------------------------------------

  private ignore(reason: string, metric: string): PushOutcome {
    logger.info('push ignored', { reason });
    metrics.addMetric(`PushesIgnored${metric}`, 'Count', 1);
    return { ignored: reason, targets: [] };
  }

  private where(release: Pick<PendingRelease, 'app' | 'environment'>) {
    return { app: release.app, environment: release.environment };
  }

  private targetFor(release: PendingRelease): Target | undefined {
    return this.targetsOf(release.repository).find(
      (target) => target.app === release.app && target.environment === release.environment,
    );
  }

  /**
   * Every tag the pushed digest carries, when it was pushed and its scan, from ECR; from the push elsewhere.
   * An ECR push's own tags are never believed: a signed webhook could name any, and ECR knows. Undefined
   * for a digest ECR does not have.
   */
  private async describePushed(push: Push, scanned: boolean): Promise<Pushed | undefined> {
    const ecr = ecrRepository(push.repository) !== undefined;
    const operation = releaseOperation(push);
    const detail = await this.images.describe(push.repository, push.digest, operation);
    if (ecr && !detail) return undefined;
    const tags = [...new Set(ecr ? (detail?.imageTags ?? []) : push.tags)].sort();
    const pushedAt = detail?.imagePushedAt?.toISOString() ?? push.pushedAt ?? this.now().toISOString();
    const scan = detail && scanned ? await this.images.scanOf(push.repository, detail, operation) : { index: false };
    return { tags, pushedAt, index: scan.index, ...(scan.counts ? { scan: scan.counts } : {}) };
  }

  /** When a push's soak time ends: `minAgeMinutes` after it was pushed. */
  private soakEnd(target: Target, pushedAt: string): Date {
    return new Date(Date.parse(pushedAt) + minutes(target.policy.minAgeMinutes ?? 0));
  }

  /**
   * What runs now: its digest from ECS, and the tags that digest carries (ECR), else the tag Slipway deployed it
   * as. In another account, ECS and ECR are read as a session named after the release (the image's digest) and its source.
   */
  private async running(target: Target, push: Pick<Push, 'digest' | 'source'>): Promise<RunningImage> {
    const operation = releaseOperation(push, target);
    const ecs = this.deps.ecsFor(placeOf(target.env), operation);
    const service = await describeService(ecs, target.env.cluster, target.env.service);
    if (!service.taskDefinition) return { tags: [] };
    const { taskDefinition } = await describeTaskDefinition(ecs, service.taskDefinition);
    const images = containerImages(taskDefinition, target.appConfig.containers);
    const digest = Object.values(images).map(digestOf).find(Boolean);
    if (!digest) return { tags: [] };
    const detail = await this.images.describe(target.appConfig.repository, digest, operation);
    if (detail) return { digest, tags: detail.imageTags ?? [] };
    const page = await this.deps.deployments.history(target.app, target.environment, { limit: 25 });
    const recorded = page.items.find((record) => record.state === 'SUCCEEDED' && record.to.digest === digest)?.to.tag;
    return { digest, tags: recorded ? [recorded] : [] };
  }

  private async consider(target: Target, push: Push, pushed: Pushed): Promise<TargetOutcome> {
    const where = { app: target.app, environment: target.environment };
    const running = await this.running(target, push);
    const chosen = choose(target.policy, push.digest, pushed.tags, running);
    if (!chosen) {
      const first = pushed.tags[0] as string;
      const reason = decide(target.policy, { tag: first, digest: push.digest }, running).reason;
      logger.info('push skipped by the release policy', { ...where, tags: pushed.tags, reason });
      metrics.addMetric('PushesSkippedByPolicy', 'Count', 1);
      return { ...where, outcome: 'skipped', reason };
    }
    const now = this.now();
    const soakUntil = this.soakEnd(target, pushed.pushedAt);
    const limits = target.policy.maxFindings;
    if (limits && pushed.scan) {
      const over = overLimits(pushed.scan, limits);
      if (over.length > 0) {
        return this.refuseNow(target, push, chosen.tag, `the image scan found ${over.join(', ')}`, {
          pushedAt: pushed.pushedAt,
          scan: { counts: pushed.scan, at: now.toISOString() },
        });
      }
    }
    const needsScan = limits !== undefined && pushed.scan === undefined;
    if (soakUntil > now || needsScan) {
      const release: PendingRelease = {
        ...where,
        repository: push.repository,
        digest: push.digest,
        tag: chosen.tag,
        source: push.source,
        state: 'WAITING',
        reason: [
          soakUntil > now ? `soaking until ${soakUntil.toISOString()}` : undefined,
          needsScan ? 'waiting for the image scan' : undefined,
        ]
          .filter(Boolean)
          .join(' and '),
        pushedAt: pushed.pushedAt,
        // An image index is looked at from the next run on: no scan event will name it.
        dueAt: (soakUntil > now && !(needsScan && pushed.index) ? soakUntil : now).toISOString(),
        ...(needsScan
          ? {
              scanDeadline: new Date(
                Date.parse(pushed.pushedAt) + minutes(target.policy.scanTimeoutMinutes ?? DEFAULT_SCAN_TIMEOUT_MINUTES),
              ).toISOString(),
            }
          : {}),
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      };
      const recorded = await this.deps.store.wait(release);
      return recorded
        ? { ...where, outcome: 'waiting', reason: release.reason, tag: chosen.tag }
        : {
            ...where,
            outcome: 'duplicate',
            reason: 'this push is already waiting or was already handled',
            tag: chosen.tag,
          };
    }
    const outcome = await this.deploy(target, push, chosen.tag, chosen.decision.reason);
    if (outcome.outcome !== 'waiting') return outcome;
    await this.deps.store.wait({
      ...where,
      repository: push.repository,
      digest: push.digest,
      tag: chosen.tag,
      source: push.source,
      state: 'WAITING',
      reason: outcome.reason,
      pushedAt: pushed.pushedAt,
      dueAt: new Date(now.getTime() + BUSY_RETRY_MS).toISOString(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
    return outcome;
  }

  private async deploy(
    target: Target,
    push: Pick<Push, 'repository' | 'digest' | 'source'>,
    tag: string,
    why: string,
  ): Promise<TargetOutcome> {
    const where = { app: target.app, environment: target.environment };
    try {
      const outcome = await this.deps.idempotency({
        scope: 'release',
        caller: push.source,
        // One deployment per environment for a digest, however many tags or deliveries it came with.
        key: `${push.repository}@${push.digest}#${target.app}#${target.environment}`,
        payload: null,
        run: async () =>
          this.deps.deployments.request({
            app: target.app,
            environment: target.environment,
            target: { kind: 'deploy', digest: push.digest, tag },
            requestedBy: { name: push.source, kind: 'system' },
            reason: `push of ${tag}: ${why}`,
          }),
      });
      if (outcome.dryRun) throw new Error('a release is never a dry run');
      const deployment = outcome.deployment;
      metrics.addMetric('PushesDeployed', 'Count', 1);
      return {
        ...where,
        outcome: deployment.state === 'PENDING_APPROVAL' ? 'pending-approval' : 'deployed',
        reason: why,
        tag,
        deploymentId: deployment.id,
      };
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      const inFlight = (error.details as { inFlight?: string } | undefined)?.inFlight;
      // Another deployment holds the environment: the push waits for it rather than being lost.
      if (inFlight) return { ...where, outcome: 'waiting', reason: error.message, tag, deploymentId: inFlight };
      return { ...where, outcome: 'duplicate', reason: error.message, tag };
    }
  }

  private async refuseNow(
    target: Target,
    push: Push,
    tag: string,
    reason: string,
    evidence: { pushedAt: string; scan: NonNullable<PendingRelease['scan']> },
  ): Promise<TargetOutcome> {
    const where = { app: target.app, environment: target.environment };
    const at = this.now();
    const recorded = await this.deps.store.refused(
      {
        ...where,
        repository: push.repository,
        digest: push.digest,
        tag,
        source: push.source,
        state: 'REFUSED',
        reason,
        pushedAt: evidence.pushedAt,
        dueAt: at.toISOString(),
        scan: evidence.scan,
        createdAt: at.toISOString(),
        updatedAt: at.toISOString(),
      },
      at,
    );
    if (recorded) {
      await this.notifyRefusal({
        ...where,
        repository: push.repository,
        digest: push.digest,
        tag,
        reason,
        source: push.source,
      });
      metrics.addMetric('ReleasesRefused', 'Count', 1);
    }
    return { ...where, outcome: 'refused', reason, tag };
  }

  private async afterScan(release: PendingRelease, target: Target, scan: { counts: ScanCounts; at: string }) {
    const where = this.where(release);
    const over = overLimits(scan.counts, target.policy.maxFindings ?? {});
    if (over.length > 0) {
      const reason = `the image scan found ${over.join(', ')}`;
      if (await this.deps.store.end(release, { state: 'REFUSED', reason, scan }, this.now())) {
        await this.notifyRefusal({ ...release, reason });
        metrics.addMetric('ReleasesRefused', 'Count', 1);
      }
      return { ...where, outcome: 'refused' as const, reason, tag: release.tag };
    }
    const soakUntil = this.soakEnd(target, release.pushedAt);
    if (soakUntil.getTime() > this.now().getTime()) {
      const reason = `scan passed; soaking until ${soakUntil.toISOString()}`;
      await this.deps.store.update(release, { scan, reason, dueAt: soakUntil.toISOString() }, scan.at);
      return { ...where, outcome: 'waiting' as const, reason, tag: release.tag };
    }
    return this.release({ ...release, scan }, target);
  }

  private async settleDue(release: PendingRelease, target: Target, now: Date): Promise<TargetOutcome> {
    const where = this.where(release);
    if (release.scanDeadline && !release.scan) {
      // The scan event may have been lost, or names the images of an index and not the index: ECR knows the result.
      const operation = releaseOperation(release, target);
      const detail = await this.images.describe(release.repository, release.digest, operation);
      const scan = detail ? await this.images.scanOf(release.repository, detail, operation) : undefined;
      if (scan?.counts) return this.afterScan(release, target, { counts: scan.counts, at: now.toISOString() });
      if (Date.parse(release.scanDeadline) <= now.getTime()) {
        const reason = `no image scan result within ${target.policy.scanTimeoutMinutes ?? DEFAULT_SCAN_TIMEOUT_MINUTES} minutes of the push`;
        if (await this.deps.store.end(release, { state: 'REFUSED', reason }, now)) {
          await this.notifyRefusal({ ...release, reason });
          metrics.addMetric('ReleasesRefused', 'Count', 1);
        }
        return { ...where, outcome: 'refused', reason, tag: release.tag };
      }
      // Not due again before the scan deadline, unless the scan event comes first; no event comes for an index.
      const next = scan?.index
        ? new Date(Math.min(now.getTime() + INDEX_SCAN_RETRY_MS, Date.parse(release.scanDeadline))).toISOString()
        : release.scanDeadline;
      await this.deps.store.update(release, { dueAt: next }, now.toISOString());
      return { ...where, outcome: 'waiting', reason: 'waiting for the image scan', tag: release.tag };
    }
    return this.release(release, target);
  }

  /** Deploys a release that waited, if it is still what the policy wants against what runs now. */
  private async release(release: PendingRelease, target: Target): Promise<TargetOutcome> {
    const where = this.where(release);
    const now = this.now();
    const running = await this.running(target, release);
    const decision = decide(target.policy, { tag: release.tag, digest: release.digest }, running);
    if (!decision.deploy) {
      const reason = `no longer wanted: ${decision.reason}`;
      await this.deps.store.end(release, { state: 'REFUSED', reason }, now);
      return { ...where, outcome: 'skipped', reason, tag: release.tag };
    }
    const outcome = await this.deploy(target, release, release.tag, decision.reason);
    if (outcome.outcome === 'waiting') {
      await this.deps.store.update(
        release,
        { dueAt: new Date(now.getTime() + BUSY_RETRY_MS).toISOString(), reason: outcome.reason },
        now.toISOString(),
      );
      return outcome;
    }
    await this.deps.store.end(
      release,
      {
        state: 'DEPLOYED',
        reason: outcome.reason,
        ...(outcome.deploymentId ? { deploymentId: outcome.deploymentId } : {}),
      },
      now,
    );
    return outcome;
  }

  private async notifyRefusal(release: {
    app: string;
    environment: string;
    repository: string;
    digest: string;
    tag: string;
    reason: string;
    source: string;
  }) {
    logger.warn('release refused', { ...release });
    await this.deps.audit.record({
      source: 'automatic',
      actor: release.source,
      action: 'release.deploy',
      decision: 'denied',
      target: {
        app: release.app,
        environment: release.environment,
        repository: release.repository,
        digest: release.digest,
        tag: release.tag,
      },
      outcome: { result: 'refused', code: 'REFUSED', detail: release.reason },
    });
    await this.deps.publisher.publish({
      subject: `Slipway: ${release.app}/${release.environment} release of ${release.tag} refused`,
      type: 'release.refused',
      app: release.app,
      environment: release.environment,
      state: 'REFUSED',
      body: { repository: release.repository, digest: release.digest, tag: release.tag, reason: release.reason },
    });
  }
}
