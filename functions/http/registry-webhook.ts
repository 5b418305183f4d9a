import type { AuditRecorder } from '../../lib/audit/trail';
import { ecrRepository, resolveImage } from '../../lib/deploy/ecs';
import { NotFound } from '../../lib/errors';
import { apiRoutes } from '../../lib/http/api-routes';
import { auditedRoute, jsonBody } from '../../lib/http/route';
import { resolveDigest } from '../../lib/release/registry';
import type { Releases } from '../../lib/release/releases';
import { IgnoredPush, parseRegistryPush, type RegistryPush, verifySignature } from '../../lib/release/webhooks';
import { runtime } from '../../lib/runtime';
import { audit } from '../../lib/runtime/audit';
import { ecrFor } from '../../lib/runtime/deployments';
import { releases, webhookSecret } from '../../lib/runtime/releases';

export interface RegistryWebhookDeps {
  audit: AuditRecorder;
  releases: Pick<Releases, 'onPush' | 'targetsOf'>;
  /** Undefined when config has no `webhooks` section: the route then does not exist. */
  secret: (() => Promise<string>) | undefined;
  toleranceSeconds: number;
  /** Tag → digest for a push that names no digest (Docker Hub never does). */
  resolve: (repository: string, tag: string) => Promise<string>;
  now?: () => Date;
}

/**
 * `POST /v1/webhooks/registry`: pushes from registries other than ECR (Docker Hub, GitHub
 * Container Registry, or any that sends {repository, tag, digest}). Authenticated by an
 * HMAC-SHA256 signature of the raw body, not by a bearer token.
 */
export function makeHandler(deps: RegistryWebhookDeps) {
  return auditedRoute(apiRoutes.registryWebhook, { audit: deps.audit }, async ({ rawBody, headers, authenticated }) => {
    if (!deps.secret) throw new NotFound('registry webhooks are not configured (config has no webhooks section)');
    verifySignature({
      rawBody,
      headers,
      secret: await deps.secret(),
      now: deps.now?.() ?? new Date(),
      toleranceSeconds: deps.toleranceSeconds,
    });
    authenticated();
    let push: RegistryPush;
    try {
      push = parseRegistryPush(jsonBody(rawBody, headers), headers);
    } catch (error) {
      if (error instanceof IgnoredPush) return { status: 202, body: { accepted: false, reason: error.reason } };
      throw error;
    }
    if (deps.releases.targetsOf(push.repository).length === 0) {
      return { status: 202, body: { accepted: false, reason: `no app uses repository ${push.repository}` } };
    }
    const digest = push.digest ?? (await deps.resolve(push.repository, push.tag as string));
    const outcome = await deps.releases.onPush({
      source: `webhook:${push.registry}`,
      repository: push.repository,
      digest,
      tags: push.tag ? [push.tag] : [],
      ...(push.pushedAt ? { pushedAt: push.pushedAt } : {}),
    });
    return {
      status: 202,
      body: outcome.ignored ? { accepted: false, reason: outcome.ignored } : { accepted: true, digest, ...outcome },
    };
  });
}

/** ECR repositories resolve through ECR; any other registry through its OCI distribution API. */
async function resolveTag(repository: string, tag: string): Promise<string> {
  if (ecrRepository(repository)) return (await resolveImage(ecrFor, repository, { tag })).digest;
  return resolveDigest(repository, tag);
}

function defaultDeps(): RegistryWebhookDeps {
  const { config } = runtime();
  return {
    audit: audit(),
    releases: releases(),
    secret: config.webhooks ? webhookSecret(config.webhooks.signingSecret) : undefined,
    toleranceSeconds: config.webhooks?.toleranceSeconds ?? 300,
    resolve: resolveTag,
  };
}

export const handler = makeHandler(defaultDeps());
