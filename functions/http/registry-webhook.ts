import type { AuditRecorder } from '../../lib/audit/trail';
import { ecrRepository, resolveImage } from '../../lib/deploy/ecs';
import { NotFound } from '../../lib/errors';
import * as routes from '../../lib/http/no-input-route-specs';
import { auditedRoute, jsonBody } from '../../lib/http/route-chain';
import { resolveDigest } from '../../lib/release/registry';
import { RegistryWebhook, type RegistryWebhookDeps as WebhookDeps } from '../../lib/release/registry-webhook';
import { accountsById, repositoryReadSession } from '../../lib/release/repository-place';
import { ecrFor } from '../../lib/wiring/accounts';
import { audit } from '../../lib/wiring/audit';
import { config } from '../../lib/wiring/config';
import { deliveries, releases, webhookSecret } from '../../lib/wiring/releases';

export interface RegistryWebhookDeps extends Omit<WebhookDeps, 'secret' | 'now'> {
  audit: AuditRecorder;
  /** Undefined when config has no `webhooks` section: the route then does not exist. */
  secret: (() => Promise<string>) | undefined;
  now?: () => Date;
}

/**
 * `POST /v1/webhooks/registry`: pushes from registries other than ECR (Docker Hub, GitHub
 * Container Registry, or any that sends {repository, tag, digest}). Authenticated by an
 * HMAC-SHA256 signature of the raw body, not by a bearer token.
 */
export function makeHandler(deps: RegistryWebhookDeps) {
  const webhook = deps.secret
    ? new RegistryWebhook({ ...deps, secret: deps.secret, now: deps.now ?? (() => new Date()) })
    : undefined;
  return auditedRoute(
    routes.registryWebhook,
    { audit: deps.audit },
    async ({ rawBody, headers, note, authenticated }) => {
      if (!webhook) throw new NotFound('registry webhooks are not configured (config has no webhooks section)');
      const outcome = await webhook.receive(
        { rawBody, headers, json: () => jsonBody(rawBody, headers) },
        {
          note,
          authenticated,
        },
      );
      return { status: 202, body: outcome };
    },
  );
}

/**
 * ECR repositories resolve through ECR, as the operation's session on the role of the account config names that
 * holds the repository, if one does; any other registry through its OCI distribution API.
 */
async function resolveTag(repository: string, tag: string, operation: Parameters<WebhookDeps['resolve']>[2]) {
  const ecr = ecrRepository(repository);
  if (!ecr) return resolveDigest(repository, tag);
  const session = repositoryReadSession(accountsById(config().accounts), ecr, operation);
  return (await resolveImage(ecrFor, repository, { tag }, session)).digest;
}

function defaultDeps(): RegistryWebhookDeps {
  const { webhooks } = config();
  return {
    audit: audit(),
    releases: releases(),
    deliveries: deliveries(),
    secret: webhooks ? webhookSecret(webhooks.signingSecret) : undefined,
    schemes: webhooks?.schemes ?? [],
    toleranceSeconds: webhooks?.toleranceSeconds ?? 300,
    resolve: resolveTag,
  };
}

export const handler = makeHandler(defaultDeps());
