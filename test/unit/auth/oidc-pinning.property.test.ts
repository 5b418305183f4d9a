import fc from 'fast-check';
import { compileRules, matchingRule, type OidcRule } from '../../../lib/auth/oidc-rules';
import { compileOidcRule } from '../../../lib/config/glob-compile';
import { configSchema } from '../../../lib/config/schema';
import { FUZZ_RUNS, fuzzParameters } from '../../support/fuzz';

/**
 * Every repository on github.com can get a token from GitHub's issuer, with any audience it asks for
 * (GitHub docs, "About security hardening with OpenID Connect"), so a rule config accepts for that
 * issuer must never match a token of a repository under another owner. Rules come from a grammar of
 * what picomatch understands (literals, `*`, `**`, `?`, classes, braces, extglobs, `|`), some of them
 * naming other owners inside glob syntax; tokens come from owners the rule does not pin.
 */

const ISSUER = 'https://token.actions.githubusercontent.com';
const HOME = 'example-org';
const HOME_OWNER_ID = '1001';
const HOME_REPOSITORY_ID = '2001';

/** What may stand before the first `/` of a repository: the home owner literally, or glob syntax that may admit others. */
const ownerPattern = fc.oneof(
  { weight: 6, arbitrary: fc.constant(HOME) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '*',
      '**',
      'example-or?',
      'exa*',
      '*-org',
      '[e]xample-org',
      '[a-z]*',
      `{${HOME},evil}`,
      `{${HOME},*}`,
      `@(${HOME}|evil)`,
      `+(${HOME})`,
      `?(${HOME})`,
      '*(evil)',
      `!(${HOME})`,
      `${HOME}*`,
      `${HOME}?(-evil)`,
    ),
  },
);

/** What may follow the owner: repository names and globs, some of them smuggling another owner in. */
const namePattern = fc.constantFrom(
  'shop',
  'billing',
  '*',
  '**',
  'sh?p',
  '{shop,billing}',
  '[a-z]*',
  '+(x)',
  'shop|evil/*',
  '*|*/*',
  '{shop,../evil/*}',
  'shop/../../evil/x',
);

const repositoryPattern: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(ownerPattern, namePattern).map(([owner, name]) => `${owner}/${name}`) },
  // Braces and alternations around whole repositories: `{example-org/shop,*/*}`.
  {
    weight: 2,
    arbitrary: fc
      .tuple(ownerPattern, namePattern, ownerPattern, namePattern, fc.boolean())
      .map(([o1, n1, o2, n2, brace]) => (brace ? `{${o1}/${n1},${o2}/${n2}}` : `${o1}/${n1}|${o2}/${n2}`)),
  },
  { weight: 1, arbitrary: fc.constantFrom(`{${HOME}/shop,*/*}`, `@(${HOME}/shop|*/*)`, HOME, '*/shop') },
);

const contextPattern = fc.constantFrom(
  '*',
  '**',
  'ref:refs/heads/main',
  'environment:production',
  'pull_request',
  '{ref:refs/heads/main,environment:production}',
  'environment:*',
);

const subPattern = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(repositoryPattern, contextPattern).map(([repo, context]) => `repo:${repo}:${context}`),
  },
  { weight: 1, arbitrary: fc.constantFrom(`repo:{${HOME}/x,evil/*}:*`, 'repo:*', `repo:${HOME}/*`) },
);

const ownerClaim = fc.constantFrom(HOME, `${HOME}*`, `{${HOME},evil}`, '*-org', `@(${HOME}|evil)`);
const ownerIdClaim = fc.constantFrom(HOME_OWNER_ID, '*', '100?', `{${HOME_OWNER_ID},666}`, '[0-9]*');
const repositoryIdClaim = fc.constantFrom(HOME_REPOSITORY_ID, '2*', `{${HOME_REPOSITORY_ID},777}`);
const refClaim = fc.constantFrom('refs/heads/main', 'refs/heads/*', 'refs/{heads,tags}/**');

/** One claim that may pin the owner, alone or with a filter beside it, or any mix of them. */
const ruleClaims: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 3, arbitrary: repositoryPattern.map((repository) => ({ repository })) },
  { weight: 3, arbitrary: subPattern.map((sub) => ({ sub })) },
  { weight: 1, arbitrary: fc.tuple(repositoryPattern, refClaim).map(([repository, ref]) => ({ repository, ref })) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      ownerClaim.map((repository_owner) => ({ repository_owner })),
      ownerIdClaim.map((repository_owner_id) => ({ repository_owner_id })),
      repositoryIdClaim.map((repository_id) => ({ repository_id })),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .record(
        {
          repository: repositoryPattern,
          sub: subPattern,
          repository_owner: ownerClaim,
          repository_owner_id: ownerIdClaim,
          repository_id: repositoryIdClaim,
          ref: refClaim,
        },
        { requiredKeys: [] },
      )
      .filter((claims) => Object.keys(claims).length > 0),
  },
);

/** Owners that are not the home owner, case aside (GitHub owner names are case-insensitive). */
const foreignOwner = fc
  .oneof(
    fc.constantFrom('evil', `${HOME}-evil`, 'example', 'example-or', `x${HOME}`, 'org', 'a', '..'),
    fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/),
  )
  .filter((owner) => owner.toLowerCase() !== HOME);
const repositoryName = fc.oneof(
  fc.constantFrom('shop', 'billing', 'x', '.github', 'evil'),
  fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/),
);
const foreignId = fc
  .oneof(fc.constantFrom('666', '777', '1', '10010', '100'), fc.integer({ min: 1, max: 1e9 }).map(String))
  .filter((id) => id !== HOME_OWNER_ID && id !== HOME_REPOSITORY_ID);
const context = fc.constantFrom('ref:refs/heads/main', 'environment:production', 'pull_request');

/** The claims GitHub puts in a token of a workflow run in `owner/name`. */
const tokenOf = (owner: string, name: string, ownerId: string, repositoryId: string, runContext: string) => ({
  iss: ISSUER,
  aud: 'slipway',
  sub: `repo:${owner}/${name}:${runContext}`,
  repository: `${owner}/${name}`,
  repository_owner: owner,
  repository_owner_id: ownerId,
  repository_id: repositoryId,
  ref: 'refs/heads/main',
  actor: 'mallory',
  actor_id: '4242',
});

const foreignToken = fc
  .tuple(foreignOwner, repositoryName, foreignId, foreignId, context)
  .map(([owner, name, ownerId, repositoryId, runContext]) => tokenOf(owner, name, ownerId, repositoryId, runContext));

/** The rule as config carries it (its globs compiled), when config accepts an issuer entry of GitHub with it alone. */
function accepted(claims: Record<string, string>): OidcRule | undefined {
  const parsed = configSchema.safeParse({
    auth: {
      tokensSecret: 'slipway/api-tokens',
      oidc: [{ issuer: ISSUER, audience: 'slipway', rules: [{ claims, roles: ['deployer'] }] }],
    },
  });
  return parsed.success ? parsed.data.auth.oidc?.[0]?.rules[0] : undefined;
}

describe('GitHub owner pinning, as a property', () => {
  it('no rule config accepts matches a token of a repository under another owner', () => {
    let acceptedRules = 0;
    let refusedRules = 0;
    fc.assert(
      fc.property(ruleClaims, fc.array(foreignToken, { minLength: 1, maxLength: 8 }), (claims, tokens) => {
        const rule = accepted(claims);
        if (!rule) {
          refusedRules += 1;
          return;
        }
        acceptedRules += 1;
        // Matched as the functions match it: from the regular expressions the resolved config carries.
        const rules = compileRules([rule]);
        for (const token of tokens) {
          expect({ claims, token, matched: matchingRule(rules, token) !== undefined }).toEqual({
            claims,
            token,
            matched: false,
          });
        }
      }),
      fuzzParameters(Math.max(1_000, 20 * FUZZ_RUNS)),
    );
    // Not vacuous: the grammar yields both rules config takes and rules it refuses.
    expect(acceptedRules).toBeGreaterThan(50);
    expect(refusedRules).toBeGreaterThan(50);
  });

  it('an accepted rule still matches its own owner: pinning does not break what the rule names', () => {
    fc.assert(
      fc.property(fc.constantFrom('shop', 'billing'), (name) => {
        const rules = compileRules([
          compileOidcRule({ claims: { repository: `${HOME}/*`, sub: `repo:${HOME}/*:*` }, roles: ['deployer'] }),
        ]);
        return (
          matchingRule(rules, tokenOf(HOME, name, HOME_OWNER_ID, HOME_REPOSITORY_ID, 'environment:production')) !==
          undefined
        );
      }),
    );
  });

  it.each([
    [{ repository: `{${HOME}/shop,*/*}` }],
    [{ sub: `repo:{${HOME}/x,evil/*}:*` }],
    [{ repository: `${HOME}/*|evil/*` }],
    [{ repository: `@(${HOME}/shop|*/*)` }],
  ])('refuses %j, whose glob admits any owner', (claims) => {
    expect(accepted(claims)).toBeUndefined();
  });
});
