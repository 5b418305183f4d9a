import * as z from 'zod';
import type { RouteScope } from '../auth/route-scopes';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency-key';
import {
  backupResponse,
  cursor,
  deploymentResponse,
  dryRunResponse,
  errorResponse,
  healthResponse,
  livenessResponse,
  location,
  principalResponse,
  readinessResponse,
  record,
  restoreResponse,
  retentionEntries,
} from './response-schemas';
import type { Access } from './route-chain';
import * as specs from './route-specs';

export { errorResponse, healthResponse, livenessResponse, readinessResponse };

/**
 * The route registry: every operation of the HTTP API, once. Each handler passes its entry to the
 * route chain (lib/http/route-chain.ts), which authenticates, authorises, checks the scope and validates
 * with it, and the OpenAPI document (lib/http/openapi.ts) is made from the same entries, so what is
 * documented is what is enforced.
 */

export const API_TAGS = {
  health: "The control plane's own health.",
  deployments: 'Deployments: request, follow, approve, cancel.',
  apps: 'Apps and their environments: what runs where, history, operations.',
  releases: 'Releases from image pushes to registries other than ECR.',
  backups: 'Database snapshots and dumps, volume archives, retention.',
  restores: 'Restores of snapshots, points in time, dumps and archives.',
  audit: 'Who did what, allowed or denied, and how it ended.',
  api: 'This API itself.',
} as const;
export type ApiTag = keyof typeof API_TAGS;

export interface ApiHeader {
  /** As clients send it (HTTP header names are case-insensitive; API Gateway lower-cases them). */
  name: string;
  description: string;
  required?: boolean;
  schema: z.ZodType;
}

export interface ApiResponse {
  description: string;
  /** The body; an error status (4xx, 5xx) without one answers the shared `{error: {code, message, details}}`. */
  schema?: z.ZodType;
  headers?: Record<string, { description: string; required?: boolean }>;
}

export interface ApiRoute {
  /** The operationId, the function's name in serverless.yml, and the Route dimension of its metrics. */
  name: string;
  method: 'GET' | 'POST';
  /** As API Gateway and serverless.yml write it: `/v1/deployments/{id}`. */
  pathTemplate: string;
  summary: string;
  description?: string;
  access: Access;
  /** How the route applies a scoped principal's apps and environments (lib/auth/route-scopes.ts). */
  scope: RouteScope;
  tags: readonly ApiTag[];
  body?: z.core.$ZodType;
  /** The path parameters, one property per `{name}` of pathTemplate. */
  path?: z.core.$ZodType;
  query?: z.core.$ZodType;
  /** A body the route reads itself from rawBody, after checking its signature (JSON unless contentType says). */
  rawBody?: { description: string; contentType?: string };
  /** Request headers the route reads, beyond Authorization and Content-Type. */
  headers?: readonly ApiHeader[];
  /**
   * What this route answers, by status, and why. Statuses that httpRoute answers by itself (400 for
   * invalid input, 401, 403 and 502 for a route that is not public, 413, 500) are added to the document
   * from the spec; a description here is the route's own reason, listed beside the chain's.
   */
  responses: Readonly<Record<number, ApiResponse>>;
}

/** The statuses every deployment request (deploy, promote, rollback, restart, scale) may answer. */
const deploymentRequestResponses = {
  200: { description: 'A dry run: the plan, with nothing changed.', schema: dryRunResponse },
  202: {
    description:
      'The deployment, started (IN_PROGRESS) or waiting for approval (PENDING_APPROVAL); its outcome comes later.',
    schema: deploymentResponse,
    headers: location('the deployment'),
  },
  400: { description: 'The Idempotency-Key header is not 1 to 255 printable ASCII characters.' },
  404: { description: 'No such app, or the app has no such environment.' },
  409: {
    description:
      'Another deployment of this environment is in flight (named in details), the service is not deployed by ECS ' +
      'rolling updates, or a request with this Idempotency-Key is still running.',
  },
  422: {
    description:
      'What was asked cannot be done: the tag is not in the repository, the Idempotency-Key was used with another ' +
      'request, or ECS refused the change.',
  },
  502: { description: 'ECR or ECS failed to answer.' },
} satisfies Record<number, ApiResponse>;

const idempotencyKey: ApiHeader = {
  name: 'Idempotency-Key',
  description: 'A retried request with the same key answers the first one (for 24 h) instead of acting twice.',
  schema: z.string().regex(IDEMPOTENCY_KEY_PATTERN),
};

/** The operations, keyed by name: a key that is not its entry's name does not compile. */
function registry<const T extends { [K in keyof T]: ApiRoute & { name: K } }>(routes: T): T {
  return routes;
}

export const apiRoutes = registry({
  getHealth: {
    ...specs.getHealth,
    method: 'GET',
    pathTemplate: '/health',
    summary: 'Version and uptime of the control plane',
    tags: ['health'],
    responses: { 200: { description: 'The control plane answers.', schema: healthResponse } },
  },
  getLiveness: {
    ...specs.getLiveness,
    method: 'GET',
    pathTemplate: '/health/live',
    summary: 'Liveness probe',
    description: 'Answers from the process alone: no dependency is touched.',
    tags: ['health'],
    responses: { 200: { description: 'The function runs.', schema: livenessResponse } },
  },
  getReadiness: {
    ...specs.getReadiness,
    method: 'GET',
    pathTemplate: '/health/ready',
    summary: "Readiness of the control plane's dependencies",
    tags: ['health'],
    responses: {
      200: { description: 'Every dependency answered (or was skipped on this machine).', schema: readinessResponse },
      503: { description: 'A dependency is down: `failing` names it.', schema: readinessResponse },
    },
  },
  createDeployment: {
    ...specs.createDeployment,
    method: 'POST',
    pathTemplate: '/v1/deployments',
    summary: 'Deploy an image to an app environment',
    description:
      'Resolves the tag to its digest once, takes the environment lock, and either waits for approval or ' +
      "registers the next task definition revision (only the configured containers' image changed) and updates " +
      'the ECS service with the circuit breaker and the environment alarms.',
    tags: ['deployments'],
    headers: [idempotencyKey],
    responses: deploymentRequestResponses,
  },
  getDeployment: {
    ...specs.getDeployment,
    method: 'GET',
    pathTemplate: '/v1/deployments/{id}',
    summary: 'One deployment with its timeline',
    tags: ['deployments'],
    responses: {
      200: { description: 'The deployment.', schema: deploymentResponse },
      404: { description: 'No such deployment.' },
    },
  },
  approveDeployment: {
    ...specs.approveDeployment,
    method: 'POST',
    pathTemplate: '/v1/deployments/{id}/approve',
    summary: 'Approve a deployment waiting for approval',
    description: 'One approval; the last one needed starts the deployment. The requester cannot approve.',
    tags: ['deployments'],
    responses: {
      200: { description: 'The deployment, still waiting for approvals or started.', schema: deploymentResponse },
      403: { description: 'The caller requested this deployment: a requester cannot approve it.' },
      404: { description: 'No such deployment.' },
      409: {
        description:
          'The deployment is not waiting for approval, has expired, was already approved by this caller, or ' +
          'is being approved by others at this moment.',
      },
      422: { description: 'ECS refused the change the last approval started.' },
      502: { description: 'ECR or ECS failed to answer while the deployment started.' },
    },
  },
  cancelDeployment: {
    ...specs.cancelDeployment,
    method: 'POST',
    pathTemplate: '/v1/deployments/{id}/cancel',
    summary: 'Cancel a deployment waiting for approval',
    tags: ['deployments'],
    responses: {
      200: { description: 'The deployment, CANCELLED.', schema: deploymentResponse },
      404: { description: 'No such deployment.' },
      409: { description: 'The deployment is rolling out on ECS already (roll it back instead), or has ended.' },
    },
  },
  getMe: {
    ...specs.getMe,
    method: 'GET',
    pathTemplate: '/v1/me',
    summary: 'Who the caller is: its roles, permissions and scope',
    description:
      "The principal the bearer token stands for, as the routes judge it: the console shows the buttons it allows, and a CI job can check its token's reach before it deploys.",
    tags: ['api'],
    responses: {
      200: {
        description: 'The principal.',
        schema: principalResponse,
      },
    },
  },
  listApps: {
    ...specs.listApps,
    method: 'GET',
    pathTemplate: '/v1/apps',
    summary: "Apps, their environments and each one's last deployment",
    tags: ['apps'],
    responses: {
      200: {
        description: 'Every app config/<stage>.yml names.',
        schema: z.strictObject({
          apps: z.array(record('An app: name, repository, containers, environments with their last deployment.')),
        }),
      },
    },
  },
  getEnvironment: {
    ...specs.getEnvironment,
    method: 'GET',
    pathTemplate: '/v1/apps/{app}/environments/{env}',
    summary: 'What runs in an app environment',
    description: 'The running image and digest, desired and running counts, the last and the in-flight deployment.',
    tags: ['apps'],
    responses: {
      200: {
        description: 'The environment as ECS and the records show it.',
        schema: z.strictObject({ environment: record('The environment view.') }),
      },
      404: { description: 'No such app, or the app has no such environment.' },
      422: { description: "The environment's ECS service does not exist." },
      502: { description: 'ECS failed to answer.' },
    },
  },
  listDeployments: {
    ...specs.listDeployments,
    method: 'GET',
    pathTemplate: '/v1/apps/{app}/environments/{env}/deployments',
    summary: "An environment's deployment history, newest first",
    description: 'Paged: `limit` per page and the `cursor` of the previous page. Unknown parameters are refused.',
    tags: ['apps'],
    responses: {
      200: {
        description: 'A page of deployments.',
        schema: z.strictObject({ deployments: z.array(record('A deployment record.')), cursor: cursor.optional() }),
      },
      404: { description: 'No such app, or the app has no such environment.' },
    },
  },
  rollbackEnvironment: {
    ...specs.rollbackEnvironment,
    method: 'POST',
    pathTemplate: '/v1/apps/{app}/environments/{env}/rollback',
    summary: 'Roll back to what ran before the last successful deployment',
    description: 'Puts back the revision that ran before the last successful deployment of what runs now.',
    tags: ['apps'],
    headers: [idempotencyKey],
    responses: deploymentRequestResponses,
  },
  promoteEnvironment: {
    ...specs.promoteEnvironment,
    method: 'POST',
    pathTemplate: '/v1/apps/{app}/environments/{env}/promote',
    summary: 'Deploy the digest another environment runs',
    description:
      'The digest the source environment (`from`, else its promoteFrom) runs and last deployed successfully.',
    tags: ['apps'],
    headers: [idempotencyKey],
    responses: deploymentRequestResponses,
  },
  restartEnvironment: {
    ...specs.restartEnvironment,
    method: 'POST',
    pathTemplate: '/v1/apps/{app}/environments/{env}/restart',
    summary: 'Replace every task with new ones of the same revision',
    tags: ['apps'],
    headers: [idempotencyKey],
    responses: deploymentRequestResponses,
  },
  scaleEnvironment: {
    ...specs.scaleEnvironment,
    method: 'POST',
    pathTemplate: '/v1/apps/{app}/environments/{env}/scale',
    summary: "Set the desired count, up to the environment's maximum",
    tags: ['apps'],
    headers: [idempotencyKey],
    responses: deploymentRequestResponses,
  },
  registryWebhook: {
    ...specs.registryWebhook,
    method: 'POST',
    pathTemplate: '/v1/webhooks/registry',
    summary: 'An image push from a registry other than ECR',
    description:
      'Docker Hub push payloads, GitHub `package` (published) events for GHCR, or `{repository, tag, digest}`. ' +
      'Authenticated by an HMAC-SHA256 signature of the raw body with the `webhooks.signingSecret` key, not by a ' +
      "bearer token: `X-Slipway-Signature` (checked alone when present), else GitHub's `X-Hub-Signature-256`, each " +
      "only if `webhooks.schemes` allows it. GitHub's scheme signs no time: it is taken for a GitHub package event " +
      'whose `package.updated_at` is within `webhooks.toleranceSeconds`, and each `X-GitHub-Delivery` once. A tag ' +
      'must resolve through the registry (ECR, or its OCI API) to the digest the push names. A push then goes ' +
      "through each environment's release policy like an ECR push.",
    tags: ['releases'],
    rawBody: { description: 'A Docker Hub push, a GitHub package event, or `{repository, tag?, digest?}`.' },
    headers: [
      {
        name: 'X-Slipway-Signature',
        description:
          '`t=<unix seconds>,sha256=<hex>`: HMAC-SHA256 of `<t>.<body>`, within 5 minutes of now; several ' +
          '`sha256=` values while keys rotate.',
        schema: z.string(),
      },
      {
        name: 'X-Hub-Signature-256',
        description: "GitHub's `sha256=<hex>`: HMAC-SHA256 of the body.",
        schema: z.string(),
      },
      {
        name: 'X-GitHub-Delivery',
        description:
          "GitHub's delivery GUID, which a redelivery keeps: required with `X-Hub-Signature-256`, and each taken once.",
        schema: z.string(),
      },
      {
        name: 'X-GitHub-Event',
        description: "GitHub's event name: `package` is read, `ping` and any other is answered 202 and ignored.",
        schema: z.string(),
      },
    ],
    responses: {
      202: {
        description: 'Received: `accepted` says whether a release followed, `reason` why not, `targets` what it did.',
        schema: z.looseObject({
          accepted: z.boolean(),
          reason: z.string().optional(),
          digest: z.string().optional(),
          targets: z.array(record('What the push did to one app environment, and why.')).optional(),
        }),
      },
      400: {
        description:
          'The body is not JSON, or not a push in any of the formats it accepts, or X-GitHub-Delivery is not a GUID (named in details).',
      },
      401: {
        description:
          'The signature is missing, malformed, of a scheme webhooks.schemes leaves out, outside the tolerance, or does not match; or a GitHub delivery is not a package event with package.updated_at within the tolerance.',
      },
      404: { description: 'Registry webhooks are not configured (config has no webhooks section).' },
      409: { description: 'This X-GitHub-Delivery was already received: a delivery is acted on once.' },
      422: { description: 'The registry has no such tag, or the tag is another digest than the push names.' },
      502: { description: 'The webhook secret, the registry, ECR or ECS could not be read.' },
    },
  },
  slackInteractions: {
    ...specs.slackInteractions,
    method: 'POST',
    pathTemplate: '/v1/slack/interactions',
    summary: 'Approve or Reject pressed on a Slack message',
    description:
      "Slack's interactivity request URL (docs/slack-app.md). Authenticated by Slack's `X-Slack-Signature` " +
      '(`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret `notifications.slack.signingSecret` ' +
      'names), within 5 minutes of `X-Slack-Request-Timestamp`, not by a bearer token. The Slack user acts as the ' +
      'token `notifications.slack.approvers` maps them to, with its roles and scope, through the same approval and ' +
      'cancellation as `POST /v1/deployments/{id}/approve` and `/cancel`; the requester cannot approve. A user missing ' +
      'from that map is found by their confirmed Slack e-mail in `notifications.slack.approversByEmail` when ' +
      '`notifications.slack.botTokenSecret` is set. The message is updated in place through the `response_url`. Every ' +
      'signed, well-formed press is answered 200, as Slack requires: a refusal is told to the presser through the ' +
      '`response_url` (or in the thread), answered `{refused}` and audited as denied.',
    tags: ['deployments'],
    rawBody: {
      description: "Slack's block_actions interaction, JSON in the form field `payload`.",
      contentType: 'application/x-www-form-urlencoded',
    },
    headers: [
      {
        name: 'X-Slack-Signature',
        description: '`v0=<hex>`: HMAC-SHA256 of `v0:{timestamp}:{body}`.',
        schema: z.string(),
      },
      { name: 'X-Slack-Request-Timestamp', description: 'Unix seconds; within 5 minutes of now.', schema: z.string() },
    ],
    responses: {
      200: {
        description:
          "Decided: the deployment as it now is, the message updated in place. Or refused: the Slack user is not mapped (by id or confirmed e-mail), maps to no token, lacks the approve permission or the deployment's scope, or requested the deployment; or the deployment is unknown, already decided, cancelled or expired; or ECS refused the change.",
        schema: z.union([
          deploymentResponse,
          z.strictObject({
            refused: z
              .strictObject({ code: z.string(), message: z.string() })
              .describe('Why nothing was done: the error code and the reason the presser was shown.'),
          }),
        ]),
      },
      400: { description: 'The body has no `payload`, or it is not a Slipway button press (the field is named).' },
      401: { description: 'The signature is missing, malformed, outside the tolerance, or does not match.' },
      404: { description: 'Slack interactions are not configured (config has no notifications.slack).' },
      502: { description: 'The signing secret, the tokens secret or ECS could not be read.' },
    },
  },
  listBackups: {
    ...specs.listBackups,
    method: 'GET',
    pathTemplate: '/v1/backups',
    summary: 'Backups, newest first, or what retention would delete',
    description:
      'By `database` or `volume` (not both), kind, status and time; across every database and volume without ' +
      'either (the newest `limit`, no cursor, and the names of every database and volume). `retention=preview` (with a database or a volume; `kind=postgres-dump` ' +
      "for a database's dumps) lists what retention would keep and delete. Unknown parameters are refused.",
    tags: ['backups'],
    responses: {
      200: {
        description: 'A page of backups, or the retention preview.',
        schema: z.union([
          z.strictObject({
            backups: z.array(record('A backup record.')),
            cursor: cursor.optional(),
            databases: z
              .array(z.string())
              .optional()
              .describe('Across every source (no database or volume asked): every database the config names.'),
            volumes: z
              .array(z.string())
              .optional()
              .describe('Across every source: every volume the config names, with or without a backup yet.'),
          }),
          z.strictObject({
            database: z.string().optional(),
            volume: z.string().optional(),
            keep: retentionEntries('keep'),
            delete: retentionEntries('delete'),
          }),
        ]),
      },
      404: { description: 'No such database or volume.' },
      422: { description: 'The database has no dump section in the config.' },
      502: { description: 'RDS failed to answer.' },
    },
  },
  takeBackup: {
    ...specs.takeBackup,
    method: 'POST',
    pathTemplate: '/v1/backups',
    summary: 'Take a snapshot, a dump or an archive now',
    tags: ['backups'],
    responses: {
      200: {
        description: 'Recorded without starting: skipped (the source is not available) or failed, with the reason.',
        schema: backupResponse,
        headers: location('the backup'),
      },
      202: { description: 'Started (CREATING or QUEUED).', schema: backupResponse, headers: location('the backup') },
      404: { description: 'No such database or volume.' },
      422: { description: 'The database has no dump section in the config.' },
      502: { description: 'RDS or the backup worker failed to answer.' },
    },
  },
  getBackup: {
    ...specs.getBackup,
    method: 'GET',
    pathTemplate: '/v1/backups/{id}',
    summary: 'One backup',
    description: 'Source, kind, region or keys, size, SHA-256, status, timings and reason.',
    tags: ['backups'],
    responses: {
      200: { description: 'The backup.', schema: backupResponse },
      404: { description: 'No such backup.' },
    },
  },
  createRestore: {
    ...specs.createRestore,
    method: 'POST',
    pathTemplate: '/v1/restores',
    summary: 'Restore a snapshot, a point in time, an archive or a dump',
    description:
      'RDS: into a new identifier, never over a live database. A volume: into a directory inside it that is ' +
      'empty or new. A dump: into a database on the same server that is not the source and holds nothing. ' +
      'Overwriting takes `force: true`.',
    tags: ['restores'],
    responses: {
      202: { description: 'Started.', schema: restoreResponse, headers: location('the restore') },
      400: { description: 'The target is the source itself.' },
      404: { description: 'No such database or volume, or it has no such backup.' },
      409: { description: 'The target identifier exists already.' },
      422: {
        description:
          'The backup cannot be restored here (not available, another region, another kind; for a vault copy, an account not under accounts, a cluster copy without overrides.instanceClass), or RDS refused the restore.',
      },
      502: { description: 'RDS or the backup worker failed to answer.' },
    },
  },
  listRestores: {
    ...specs.listRestores,
    method: 'GET',
    pathTemplate: '/v1/restores',
    summary: "A database's or a volume's restores, newest first",
    description:
      'Restores asked for and restore drills, with their status and measured duration; `drill=true` for drills ' +
      "alone (the console's backups page shows each source's last drill and its time to restore).",
    tags: ['restores'],
    responses: {
      200: {
        description: 'A page of restores.',
        schema: z.strictObject({ restores: z.array(record('A restore record.')), cursor: cursor.optional() }),
      },
      404: { description: 'No such database or volume.' },
    },
  },
  getRestore: {
    ...specs.getRestore,
    method: 'GET',
    pathTemplate: '/v1/restores/{id}',
    summary: 'One restore, with its measured duration',
    tags: ['restores'],
    responses: {
      200: { description: 'The restore.', schema: restoreResponse },
      404: { description: 'No such restore.' },
    },
  },
  listAudit: {
    ...specs.listAudit,
    method: 'GET',
    pathTemplate: '/v1/audit',
    summary: 'The audit trail, oldest first',
    description:
      'Every mutating request, allowed or denied, and every action Slipway took by itself (releases, ' +
      'automatic rollbacks, timeouts, scheduled backups, retention, drills), from `since` (default 24 hours ago) ' +
      'to `until` (default now). Entries are kept `audit.retentionDays` (default 400).',
    tags: ['audit'],
    responses: {
      200: {
        description: 'A page of entries.',
        schema: z.strictObject({
          entries: z.array(
            record(
              'An entry: id, at, source (http, event, schedule), actor, roles, action, decision (allowed, denied), ' +
                'target, outcome {result, status, code, detail}, requestId.',
            ),
          ),
          cursor: cursor.optional(),
        }),
      },
    },
  },
  getOpenapi: {
    ...specs.getOpenapi,
    method: 'GET',
    pathTemplate: '/v1/openapi.json',
    summary: 'This OpenAPI document',
    description: 'Made from the schemas the routes validate with; public, so tools can fetch it.',
    tags: ['api'],
    responses: {
      200: {
        description: 'The OpenAPI 3.1 document.',
        schema: z.looseObject({ openapi: z.literal('3.1.0') }).describe('An OpenAPI 3.1 document.'),
      },
    },
  },
});

export type ApiRoutes = typeof apiRoutes;
