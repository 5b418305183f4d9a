import * as z from 'zod/mini';
import { NAME_PATTERN } from '../config/names';
import { exactlyOneOf } from '../errors/validation';
import { cursorParameter } from '../store/cursor';
import { DEPLOYMENT_ID } from './records';

/**
 * The deployment routes' inputs: what the handlers validate, and what the OpenAPI document is made from.
 * zod/mini, so a route bundles only the checks it uses; the messages are those of zod's classic build.
 * Each schema is built in a call marked pure, which esbuild drops where nothing uses its result: a route
 * bundles only its own schemas.
 */

const name = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `is required: expected ${what}` : `expected ${what}`) })
    .check(z.regex(NAME_PATTERN, `expected ${what}: lowercase letters, digits and dashes, starting with a letter`));

const reason = /* @__PURE__ */ (() =>
  z
    .string({ error: 'expected a string' })
    .check(
      z.trim(),
      z.minLength(1, 'expected a non-empty reason'),
      z.maxLength(500, 'expected at most 500 characters'),
      z.describe('Why: kept on the deployment record and sent with its notifications.'),
    ))();
const dryRun = /* @__PURE__ */ (() =>
  z
    .boolean({ error: 'expected true or false' })
    .check(z.describe('Plan only: answer 200 with what would change, and change nothing.')))();

// Docker's tag grammar.
const tag = /* @__PURE__ */ (() =>
  z
    .string({ error: 'expected an image tag' })
    .check(
      z.regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'expected an image tag such as 1.4.2 or develop-3f2a1c'),
      z.describe("An image tag in the app's repository, resolved once to its digest; give a tag or a digest."),
    ))();
const digest = /* @__PURE__ */ (() =>
  z
    .string({ error: 'expected an image digest' })
    .check(
      z.regex(/^sha256:[0-9a-f]{64}$/, 'expected an image digest sha256:<64 hex digits>'),
      z.describe("An image digest in the app's repository; give a tag or a digest."),
    ))();

const objectError = (issue: z.core.$ZodRawIssue) =>
  issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'expected a JSON object';

export const createDeploymentBody = /* @__PURE__ */ (() =>
  z
    .strictObject(
      {
        app: name('an app name').check(z.describe('The app, as config/<stage>.yml names it.')),
        environment: name('an environment name').check(z.describe("One of the app's environments.")),
        tag: z.optional(tag),
        digest: z.optional(digest),
        reason: z.optional(reason),
        dryRun: z.optional(dryRun),
      },
      { error: objectError },
    )
    .check(
      exactlyOneOf('tag', 'digest'),
      z.meta({
        description: 'Deploys an image to one app environment.',
        // The check above, as JSON Schema: exactly one of tag or digest.
        oneOf: [{ required: ['tag'] }, { required: ['digest'] }],
        examples: [{ app: 'shop', environment: 'staging', tag: 'develop-3f2a1c', reason: 'release 1.4.2' }],
      }),
    ))();

const operation = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject({ reason: z.optional(reason), dryRun: z.optional(dryRun), ...shape }, { error: objectError });

export const operationBody = /* @__PURE__ */ (() => operation({}))();
export const promoteBody = /* @__PURE__ */ (() =>
  operation({
    from: z.optional(
      name('an environment name').check(
        z.describe("The environment to promote from; defaults to the environment's promoteFrom."),
      ),
    ),
  }))();
export const scaleBody = /* @__PURE__ */ (() =>
  operation({
    desiredCount: z
      .number({
        error: (issue) =>
          issue.input === undefined ? 'is required: expected an integer >= 0' : 'expected an integer >= 0',
      })
      .check(
        z.int('expected an integer >= 0'),
        z.minimum(0, 'expected an integer >= 0'),
        z.describe("Tasks to run, at most the environment's maxDesiredCount."),
      ),
  }))();

export const deploymentPath = /* @__PURE__ */ (() =>
  z.object({
    id: z
      .string()
      .check(
        z.regex(DEPLOYMENT_ID, 'expected a deployment id such as dep-5b0c2c4e-…'),
        z.describe('A deployment id, as the answer to its request gave it.'),
      ),
  }))();
export const environmentPath = /* @__PURE__ */ (() =>
  z.object({
    app: name('an app name').check(z.describe('The app, as config/<stage>.yml names it.')),
    env: name('an environment name').check(z.describe("One of the app's environments.")),
  }))();

export const historyQuery = /* @__PURE__ */ (() =>
  z.strictObject(
    {
      limit: z
        ._default(
          z.coerce
            .number({ error: 'expected an integer from 1 to 100' })
            .check(
              z.int('expected an integer from 1 to 100'),
              z.minimum(1, 'expected an integer from 1 to 100'),
              z.maximum(100, 'expected an integer from 1 to 100'),
            ),
          20,
        )
        .check(z.describe('Deployments per page.')),
      cursor: z.optional(cursorParameter),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown parameter(s) ${issue.keys.join(', ')}`
          : 'expected query parameters',
    },
  ))();
