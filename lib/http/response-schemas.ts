import * as z from 'zod';
import { PERMISSIONS, ROLES } from '../auth/principal';

/**
 * The response bodies the route registry (lib/http/registry.ts) documents: envelopes around the records,
 * which keep their own types in each capability's records.ts.
 */

/** What every error answers, as lib/http/responses.ts errorBody writes it. */
export const errorResponse = z.strictObject({
  error: z.strictObject({
    code: z.string().describe('What went wrong, for programs: INVALID_INPUT, NOT_FOUND, CONFLICT…'),
    message: z.string().describe('What went wrong, for people: the field and the reason, or the request id.'),
    details: z
      .union([z.looseObject({}), z.array(z.looseObject({}))])
      .describe('The fields at fault ({location, field, message} each), or what the error is about.'),
  }),
});

export const record = (description: string) => z.looseObject({}).describe(description);
export const cursor = z.string().describe('Present when there is a next page: pass it as `cursor` to read it.');
export const location = (what: string) => ({ Location: { description: `Where to follow ${what}.`, required: true } });

export const healthResponse = z.strictObject({
  status: z.literal('ok'),
  version: z.string().describe("The control plane's version (package.json)."),
  stage: z.string(),
  uptime_seconds: z.number().int().min(0).describe('Seconds since this function instance started.'),
  sandbox: z
    .strictObject({
      endpoint: z.string().describe("The simulated AWS's endpoint on loopback; `slipway sandbox` commands use it."),
    })
    .optional()
    .describe('Present only under `npm start -- --sandbox`: ECS, ECR and RDS are simulated on this machine.'),
});
export const livenessResponse = z.strictObject({ status: z.literal('alive') });
export const readinessResponse = z
  .strictObject({
    status: z.enum(['healthy', 'unhealthy']),
    failing: z.array(z.string()).describe('The dependencies that are down.'),
    checks: z
      .record(z.string(), record('status (healthy, unhealthy, skipped), latency_ms, and error or reason.'))
      .describe('Each dependency checked: the state table, the backup bucket, Secrets Manager, ECS.'),
  })
  .describe('Each dependency, checked concurrently under its own timeout.');

export const deploymentResponse = z.strictObject({ deployment: record('The deployment record, with its timeline.') });
export const dryRunResponse = z.strictObject({
  dryRun: z.literal(true),
  plan: record(
    'What would change, without changing it: the images, whether a revision is registered, the names of the task definition fields that differ from the running one (environment variables and secrets by name, never a value), and the UpdateService call.',
  ),
});
export const backupResponse = z.strictObject({ backup: record('The backup record.') });
export const restoreResponse = z.strictObject({ restore: record('The restore record.') });
export const retentionEntries = (verdict: string) =>
  z.array(record(`A backup retention would ${verdict}, with why.`)).describe(`What retention would ${verdict}.`);

/** GET /v1/me: the caller, as the routes judge it. */
export const principalResponse = z.strictObject({
  principal: z.strictObject({
    name: z.string().describe("A stored token's name, or oidc:<issuer host>:<claims> for an OIDC caller."),
    roles: z.array(z.enum(ROLES)),
    permissions: z.array(z.enum(PERMISSIONS)).describe('What the roles grant: read, deploy, approve, admin.'),
    scope: z
      .strictObject({
        apps: z.array(z.string()).optional(),
        environments: z.array(z.string()).optional(),
        excludeEnvironments: z.array(z.string()).optional(),
      })
      .optional()
      .describe('Present only when the caller is limited to some apps or environments.'),
    issuer: z.string().optional().describe('The OIDC issuer that vouched for the caller.'),
    person: z.string().optional().describe('The person behind an OIDC caller, by whom approvals count.'),
  }),
});
