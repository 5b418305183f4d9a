import * as z from 'zod';
import { GITHUB_PERSON_CLAIM, isGitHubIssuer, personClaimOf } from '../../auth/oidc-rules';
import { ROLES } from '../../auth/principal';
import { claimMatcherProblem, compileOidcRule } from '../glob-compile';
import { NAME_PATTERN } from '../names';
import { githubRuleProblems, personRuleProblem } from '../oidc-rule-checks';
import { article, boundedInt, describeInput, expects, NAME_RULE, secretReference } from './values';

/** auth: the tokens secret, and the OIDC issuers whose callers prove who they are with a JWT. */

// ---- auth.oidc: callers that prove who they are with a JWT from an OIDC issuer -------------------------------

const httpsIssuer = z
  .string(expects('an https issuer URL such as https://token.actions.githubusercontent.com'))
  .refine((value) => {
    if (/[?#\s]/.test(value)) return false;
    try {
      const url = new URL(value);
      return url.protocol === 'https:' && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, expects(
    'an https issuer URL (no query, fragment or credentials) such as https://token.actions.githubusercontent.com',
  ))
  .describe(
    "Exactly the iss claim of the issuer's tokens; its keys are found through <issuer>/.well-known/openid-configuration",
  );

const audience = z
  .string(expects('an audience such as slipway'))
  .min(1, expects('an audience such as slipway'))
  .max(256, expects('an audience of at most 256 characters'))
  .refine(
    (value) => value !== 'sts.amazonaws.com',
    // A token a workflow gets for AWS STS would be good here too: Slipway needs an audience of its own.
    expects("an audience of Slipway's own, such as slipway (sts.amazonaws.com is what tokens for AWS carry)"),
  )
  .describe('The aud claim tokens must carry: GitHub Actions mints it with core.getIDToken(audience)');

const claimName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/, expects('a claim name such as repository'));

const claimMatcher = z
  .string(expects('a claim value, or a glob such as refs/heads/release-*'))
  .min(1, expects('a claim value, or a glob such as refs/heads/release-*'))
  .max(512, expects('a claim value or glob of at most 512 characters'))
  .superRefine((matcher, ctx) => {
    const problem = claimMatcherProblem(matcher);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a claim value or glob, received ${describeInput(matcher)}: ${problem}`,
      });
    }
  });

const scopeNames = (what: string) =>
  z
    .array(
      z
        .string(expects(`${article(what)} ${what} name`))
        .regex(NAME_PATTERN, expects(`${article(what)} ${what} name of ${NAME_RULE}`)),
      expects(`a list of ${what} names`),
    )
    .min(1, expects(`at least one ${what} name; leave the key out for every ${what}`));

const oidcRule = z
  .strictObject(
    {
      claims: z
        .record(claimName, claimMatcher, expects('a map of claim names to values or globs'))
        .refine((claims) => Object.keys(claims).length > 0, expects('at least one claim to match, such as repository'))
        .describe('Claims the token must carry, each an exact value or a picomatch glob; all must match'),
      roles: z
        .array(z.enum(ROLES, expects(`one of ${ROLES.join(', ')}`)), expects('a list of roles'))
        .min(1, expects(`at least one role of ${ROLES.join(', ')}`))
        .describe('What a matching caller may do, as the roles of a token'),
      apps: scopeNames('app').optional().describe('The apps a matching caller may act on; absent: every app'),
      environments: scopeNames('environment')
        .optional()
        .describe('The environments a matching caller may act on; absent: every environment'),
      excludeEnvironments: scopeNames('environment')
        .optional()
        .describe('Environments a matching caller may never act on, whatever environments allows'),
    },
    expects('a rule {claims, roles, apps?, environments?, excludeEnvironments?}'),
  )
  .superRefine((rule, ctx) => {
    for (const name of rule.excludeEnvironments ?? []) {
      if (rule.environments?.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['excludeEnvironments'],
          message: `lists ${name}, which environments allows: keep it in one of the two`,
        });
      }
    }
  })
  // The functions match claims with the regular expressions compiled here, without picomatch.
  .transform(compileOidcRule);

const oidcIssuer = z
  .strictObject(
    {
      issuer: httpsIssuer,
      audience,
      maxTokenAgeSeconds: boundedInt(60, 3_600)
        .default(3_600)
        .describe('Tokens issued (iat) longer ago than this are refused, whatever their expiry'),
      personClaim: claimName
        .optional()
        .describe(
          `The claim naming the person behind a token, by which approvals are counted and which rules granting approver or admin must pin: always ${GITHUB_PERSON_CLAIM} for GitHub's issuer; default sub for others (set user_id for GitLab, whose sub names a project and branch)`,
        ),
      console: z
        .boolean(expects('true or false'))
        .optional()
        .describe(
          "People sign in to the web console (/console/) with this issuer: authorization code with PKCE, audience as the client id (an ID token's aud is the client that asked for it), no client secret. At most one issuer; absent: false",
        ),
      rules: z
        .array(oidcRule, expects('a list of rules'))
        .min(1, expects('at least one rule: a token no rule matches is refused'))
        .describe('Checked in order: the first whose claims all match decides the roles and the scope'),
    },
    expects('an OIDC issuer {issuer, audience, rules}'),
  )
  .superRefine((entry, ctx) => {
    const github = isGitHubIssuer(entry.issuer);
    if (github && entry.personClaim !== undefined && entry.personClaim !== GITHUB_PERSON_CLAIM) {
      ctx.addIssue({
        code: 'custom',
        path: ['personClaim'],
        message: `is ${entry.personClaim}, but GitHub's tokens name a person only by ${GITHUB_PERSON_CLAIM} (actor is a login that can change hands, sub changes with branch and environment): leave it out`,
      });
    }
    if (github && entry.console) {
      ctx.addIssue({
        code: 'custom',
        path: ['console'],
        message:
          "is true, but GitHub Actions' issuer signs tokens for workflow runs, not people signing in: mark your organisation's identity provider instead",
      });
    }
    const personClaim = personClaimOf(entry);
    entry.rules.forEach((rule, index) => {
      const problems = github ? githubRuleProblems(rule) : [];
      const personProblem = personRuleProblem(rule, personClaim);
      if (personProblem) problems.push({ path: ['claims'], message: personProblem });
      for (const { path, message } of problems) {
        ctx.addIssue({ code: 'custom', path: ['rules', index, ...path], message });
      }
    });
  });

const oidcIssuers = z
  .array(oidcIssuer, expects('a list of OIDC issuers {issuer, audience, rules}'))
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    let consoleIssuer: string | undefined;
    entries.forEach((entry, index) => {
      if (entry.console) {
        if (consoleIssuer !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'console'],
            message: `is true for ${consoleIssuer} already: the console signs in with one issuer`,
          });
        }
        consoleIssuer ??= entry.issuer;
      }
      if (seen.has(entry.issuer)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'issuer'],
          message: `lists ${entry.issuer} a second time: put all of its rules in one entry`,
        });
      }
      seen.add(entry.issuer);
    });
  });

export const authSection = z.strictObject(
  {
    tokensSecret: secretReference,
    tokenCacheSeconds: boundedInt(0, 3_600).default(60).describe('How long a read of the tokens secret is reused'),
    oidc: oidcIssuers
      .optional()
      .describe('OIDC issuers (GitHub Actions and others) whose signed tokens are accepted, with no stored secret'),
  },
  expects('an auth section {tokensSecret}'),
);
