import type { AuditNote } from '../audit/trail';
import type { Operation } from '../aws/account-credentials';
import { ecrRepository } from '../deploy/ecs';
import { Conflict, Unprocessable } from '../errors';
import { logger } from '../observability';
import type { DeliveryStore } from '../store/deliveries';
import type { Releases, TargetOutcome } from './releases';
import { releaseId } from './repository-place';
import {
  deliveryIdOf,
  IgnoredPush,
  parseRegistryPush,
  type RegistryPush,
  requireFreshPush,
  type SignatureScheme,
  verifySignature,
} from './webhooks';

/**
 * A push from a registry other than ECR, as `POST /v1/webhooks/registry` receives it: who signed it, whether
 * it was received before, and whether the registry itself says what the push says. Only then is it a release.
 */

export interface RegistryWebhookDeps {
  releases: Pick<Releases, 'onPush' | 'targetsOf'>;
  deliveries: Pick<DeliveryStore, 'remember' | 'forget'>;
  secret: () => Promise<string>;
  /** `webhooks.schemes`: the signatures accepted. */
  schemes: readonly SignatureScheme[];
  toleranceSeconds: number;
  /**
   * Tag → digest, through the registry: ECR's DescribeImages (in an account config names, as the operation's
   * session on its role), or the OCI distribution API.
   */
  resolve: (repository: string, tag: string, operation: Operation) => Promise<string>;
  now: () => Date;
}

export interface WebhookDelivery {
  rawBody: Buffer;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** The body as JSON: read only once the signature holds. */
  json: () => unknown;
}

/** What the request's audit entry learns from a delivery as it is received. */
export interface DeliveryAudit {
  /** Adds facts to the entry: the scheme once the signature holds, then the push; never the signature. */
  note: (facts: AuditNote) => void;
  /** The signature holds: the request is audited in full, no longer sampled as an unauthenticated one. */
  authenticated: () => void;
}

export type WebhookOutcome =
  | { accepted: false; reason: string }
  | { accepted: true; digest: string; targets: TargetOutcome[] };

export class RegistryWebhook {
  constructor(private readonly deps: RegistryWebhookDeps) {}

  /** Verifies, then releases, telling the audit entry what it learns as soon as it is known. */
  async receive(delivery: WebhookDelivery, audit: DeliveryAudit): Promise<WebhookOutcome> {
    const { note } = audit;
    const now = this.deps.now();
    const { scheme } = verifySignature({
      rawBody: delivery.rawBody,
      headers: delivery.headers,
      secret: await this.deps.secret(),
      now,
      toleranceSeconds: this.deps.toleranceSeconds,
      schemes: this.deps.schemes,
    });
    audit.authenticated();
    note({ actor: 'webhook', target: { scheme } });
    const deliveryId = deliveryIdOf(delivery.headers, scheme);
    if (deliveryId) note({ target: { deliveryId } });
    let push: RegistryPush;
    try {
      push = parseRegistryPush(delivery.json(), delivery.headers);
    } catch (error) {
      if (error instanceof IgnoredPush) return { accepted: false, reason: error.reason };
      throw error;
    }
    note({
      actor: `webhook:${push.registry}`,
      target: {
        registry: push.registry,
        repository: push.repository,
        ...(push.tag ? { tag: push.tag } : {}),
        ...(push.digest ? { digest: push.digest } : {}),
      },
    });
    requireFreshPush(push, scheme, now, this.deps.toleranceSeconds);
    if (this.deps.releases.targetsOf(push.repository).length === 0) {
      return { accepted: false, reason: `no app uses repository ${push.repository}` };
    }
    const digest = await this.verifiedDigest(push, deliveryId, note);
    note({ target: { digest } });
    const attempt = deliveryId
      ? await this.deps.deliveries.remember({
          id: deliveryId,
          scheme,
          registry: push.registry,
          repository: push.repository,
          digest,
          ...(push.tag ? { tag: push.tag } : {}),
          receivedAt: now.toISOString(),
        })
      : undefined;
    if (deliveryId && attempt === undefined) {
      note({ denied: true });
      // 409, not 401: the signature holds, and GitHub's delivery log should say "already received", not "wrong secret".
      throw new Conflict(
        `delivery ${deliveryId} was already received: a delivery is acted on once, and a redelivery keeps its X-GitHub-Delivery`,
        { details: { deliveryId } },
      );
    }
    try {
      const outcome = await this.deps.releases.onPush({
        source: `webhook:${push.registry}`,
        repository: push.repository,
        digest,
        tags: push.tag ? [push.tag] : [],
        ...(push.pushedAt ? { pushedAt: push.pushedAt } : {}),
      });
      return outcome.ignored ? { accepted: false, reason: outcome.ignored } : { accepted: true, digest, ...outcome };
    } catch (error) {
      if (deliveryId && attempt) await this.forget(deliveryId, attempt);
      throw error;
    }
  }

  /**
   * The digest the push is about, as the registry has it: a named tag must resolve, through the registry,
   * to the digest the push names, or the push is refused. For ECR the release reads the digest's tags from
   * ECR alone as well.
   */
  private async verifiedDigest(
    push: RegistryPush,
    deliveryId: string | undefined,
    note: (facts: AuditNote) => void,
  ): Promise<string> {
    if (push.tag === undefined) return push.digest as string;
    // Named after the release the push claims, else after the delivery (or the tag) that asks.
    const operation = {
      id: push.digest ? releaseId(push.digest) : `webhook-${deliveryId ?? push.tag}`,
      principal: `webhook:${push.registry}`,
    };
    let resolved: string;
    try {
      resolved = await this.deps.resolve(push.repository, push.tag, operation);
    } catch (error) {
      if (error instanceof Unprocessable) note({ denied: true });
      throw error;
    }
    if (push.digest !== undefined && resolved !== push.digest) {
      note({ denied: true });
      const where = ecrRepository(push.repository) ? 'ECR' : 'the registry';
      throw new Unprocessable(
        `${push.repository}:${push.tag} is ${resolved} in ${where}, not the pushed ${push.digest}: the push is refused`,
        { details: { repository: push.repository, tag: push.tag, digest: push.digest, resolved } },
      );
    }
    return resolved;
  }

  private async forget(deliveryId: string, attempt: string): Promise<void> {
    try {
      await this.deps.deliveries.forget(deliveryId, attempt);
    } catch (error) {
      // The delivery stays remembered: its redelivery is refused, which is the safe side.
      logger.error('a failed delivery could not be forgotten', { deliveryId, error: error as Error });
    }
  }
}
