import {
  compileRules,
  describeClaims,
  matchingRule,
  type OidcRule,
  oidcPersonOf,
  oidcPrincipal,
  personClaimOf,
} from '../../../lib/auth/oidc-rules';
import { claimMatcherProblem, compileOidcRule } from '../../../lib/config/glob-compile';
import { githubRuleProblems, namedValues, personRuleProblem } from '../../../lib/config/oidc-rule-checks';

const GITHUB = 'https://token.actions.githubusercontent.com';

/** Claims as GitHub Actions puts them in its OIDC tokens. */
const github = (overrides: Record<string, unknown> = {}) => ({
  iss: GITHUB,
  aud: 'slipway',
  sub: 'repo:org/shop:ref:refs/heads/main',
  repository: 'org/shop',
  repository_owner: 'org',
  repository_owner_id: '123',
  ref: 'refs/heads/main',
  workflow: 'deploy',
  event_name: 'push',
  actor: 'alice',
  ...overrides,
});

/** A rule as config carries it: its claim globs compiled. */
const rule = (claims: Record<string, string>, extra: Partial<OidcRule> = {}): OidcRule =>
  compileOidcRule({ roles: ['deployer'], ...extra, claims });

const match = (rules: OidcRule[], claims: Record<string, unknown>) => matchingRule(compileRules(rules), claims)?.index;

describe('matchingRule', () => {
  it('matches exact values, every claim of the rule', () => {
    const rules = [rule({ repository: 'org/shop', ref: 'refs/heads/main' })];
    expect(match(rules, github())).toBe(0);
    expect(match(rules, github({ ref: 'refs/heads/feature' }))).toBeUndefined();
    expect(match(rules, github({ repository: 'org/shop-fork' }))).toBeUndefined();
  });

  it('compares a value without glob characters exactly, dots and at-signs included', () => {
    const rules = [rule({ repository: 'org/shop.web', actor: 'bot@example.com' })];
    expect(match(rules, github({ repository: 'org/shop.web', actor: 'bot@example.com' }))).toBe(0);
    expect(match(rules, github({ repository: 'org/shopxweb', actor: 'bot@example.com' }))).toBeUndefined();
  });

  it.each([
    ['refs/heads/release-*', 'refs/heads/release-1.4', true],
    ['refs/heads/release-*', 'refs/heads/release-1/hotfix', false],
    ['refs/heads/**', 'refs/heads/feature/x', true],
    ['refs/tags/v?.*', 'refs/tags/v1.4', true],
    ['refs/heads/{main,develop}', 'refs/heads/develop', true],
    ['refs/heads/{main,develop}', 'refs/heads/master', false],
    ['org/*', 'org/shop', true],
    ['org/*', 'other/shop', false],
    ['org/*', 'org/.github', true],
  ])('glob %s against %s: %s', (matcher, value, expected) => {
    const claim = matcher.startsWith('org') ? 'repository' : 'ref';
    expect(match([rule({ [claim]: matcher })], github({ [claim]: value })) === 0).toBe(expected);
  });

  it('takes the first rule that matches, even when a later one grants more', () => {
    const rules = [
      rule({ repository: 'org/*' }, { roles: ['viewer'] }),
      rule({ repository: 'org/shop', ref: 'refs/heads/main' }, { roles: ['admin'] }),
    ];
    expect(match(rules, github())).toBe(0);
    expect(match(rules.slice(1), github())).toBe(0);
  });

  it('falls through to a later rule when an earlier one does not match', () => {
    const rules = [rule({ repository: 'org/billing' }), rule({ repository: 'org/shop' })];
    expect(match(rules, github())).toBe(1);
  });

  it('matches nothing on a claim that is absent or not a string', () => {
    expect(match([rule({ environment: 'production' })], github())).toBeUndefined();
    expect(match([rule({ repository_id: '42' })], github({ repository_id: 42 }))).toBeUndefined();
    expect(match([rule({ repository: 'org/shop' })], github({ repository: ['org/shop'] }))).toBeUndefined();
  });
});

describe('oidcPrincipal', () => {
  it('is named oidc:<issuer host>:<sub> and carries the rule roles and scope', () => {
    expect(
      oidcPrincipal(
        GITHUB,
        'repo:org/shop:ref:refs/heads/main',
        rule({ repository: 'org/shop' }, { apps: ['shop'], excludeEnvironments: ['production'] }),
      ),
    ).toEqual({
      name: 'oidc:token.actions.githubusercontent.com:repo:org/shop:ref:refs/heads/main',
      roles: ['deployer'],
      scope: { apps: ['shop'], excludeEnvironments: ['production'] },
      issuer: GITHUB,
    });
  });

  it('has no scope when the rule limits nothing, and keeps a port in the host', () => {
    expect(oidcPrincipal('https://127.0.0.1:8443', 'ci', rule({ sub: 'ci' }))).toEqual({
      name: 'oidc:127.0.0.1:8443:ci',
      roles: ['deployer'],
      issuer: 'https://127.0.0.1:8443',
    });
  });
});

describe('describeClaims', () => {
  it('quotes only repository, ref, environment, workflow and sub, in that order', () => {
    expect(describeClaims(github({ environment: 'production', email: 'alice@example.com' }))).toEqual({
      text: 'repository=org/shop, ref=refs/heads/main, environment=production, workflow=deploy, sub=repo:org/shop:ref:refs/heads/main',
      quoted: {
        repository: 'org/shop',
        ref: 'refs/heads/main',
        environment: 'production',
        workflow: 'deploy',
        sub: 'repo:org/shop:ref:refs/heads/main',
      },
    });
  });

  it('shortens long values, blanks control characters and says when there is nothing to quote', () => {
    const { quoted } = describeClaims({ ref: `refs/heads/${'x'.repeat(300)}`, workflow: 'a\nb' });
    expect(quoted.ref).toHaveLength(200);
    expect(quoted.ref?.endsWith('…')).toBe(true);
    expect(quoted.workflow).toBe('a?b');
    expect(describeClaims({ aud: 'slipway', repository: 42 }).text).toBe(
      'none of repository, ref, environment, workflow, sub',
    );
  });
});

describe('claimMatcherProblem', () => {
  it.each([
    'org/shop',
    'refs/heads/release-*',
    '{main,develop}',
    'repo:org/*:environment:staging',
    'refs/heads/@(main|develop)',
  ])('accepts %s', (matcher) => {
    expect(claimMatcherProblem(matcher)).toBeUndefined();
  });

  it.each([
    ['*', /matches every value/],
    ['**', /matches every value/],
    ['*/*', /matches every value/],
    ['!refs/heads/main', /negation/],
    ['org/*|evil/*', /a \| outside/],
  ])('refuses %s', (matcher, problem) => {
    expect(claimMatcherProblem(matcher)).toMatch(problem);
  });
});

describe('githubRuleProblems', () => {
  it.each([
    [{ repository: 'org/shop' }],
    [{ repository: 'org/*' }],
    [{ repository: 'org/{shop,billing}' }],
    [{ repository_owner: 'org', ref: 'refs/heads/main' }],
    [{ repository_owner_id: '123' }],
    [{ repository_id: '456' }],
    [{ sub: 'repo:org/shop:environment:production' }],
    [{ sub: 'repo:org/*' }],
    [{ sub: 'repo:org/{shop,billing}:*' }],
  ])('accepts a rule pinning the owner: %j', (claims) => {
    expect(githubRuleProblems({ claims })).toEqual([]);
  });

  it.each([
    [{ ref: 'refs/heads/main' }],
    [{ repository: '*/shop' }],
    [{ repository: 'org' }],
    [{ repository: 'org*/shop' }],
    [{ repository: '[o]rg/shop' }],
    [{ repository_owner: 'org*' }],
    [{ repository_owner_id: '12?' }],
    [{ sub: 'repo:*/shop:ref:refs/heads/main' }],
    [{ sub: 'repo:org' }],
    [{ workflow: 'deploy', job_workflow_ref: 'org/shared/.github/workflows/deploy.yml@refs/heads/main' }],
  ])('refuses a rule any repository could match: %j', (claims) => {
    expect(githubRuleProblems({ claims })).toEqual([
      { path: ['claims'], message: expect.stringMatching(/must pin the owner/) },
    ]);
  });

  it.each([
    ['repository', '{org/shop,*/*}'],
    ['repository', '@(org/shop|*/*)'],
    ['repository', '{org,evil}/shop'],
    ['sub', 'repo:{org/x,evil/*}:*'],
    ['sub', 'repo:+(org)/x:*'],
  ])('refuses %s %s: braces and extglobs before the first / name other owners', (claim, matcher) => {
    expect(githubRuleProblems({ claims: { [claim]: matcher } })).toEqual([
      { path: ['claims', claim], message: expect.stringMatching(/before the first \/ could name another owner/) },
    ]);
  });

  it('judges the compiled matcher: what it accepts always starts with the pinned owner', () => {
    const [[, matcher] = []] = compileRules([rule({ repository: 'org/*' })])[0]?.matchers ?? [];
    expect(matcher?.prefix).toBe('org/');
    expect(['org/shop', 'evil/shop', 'org-evil/shop'].map((value) => matcher?.matches(value))).toEqual([
      true,
      false,
      false,
    ]);
  });
});

describe('the person behind an OIDC caller', () => {
  it('is actor_id for GitHub whatever the issuer entry says, and personClaim or sub for others', () => {
    expect(personClaimOf({ issuer: GITHUB })).toBe('actor_id');
    expect(personClaimOf({ issuer: `${GITHUB}/`, personClaim: 'actor' })).toBe('actor_id');
    expect(personClaimOf({ issuer: 'https://gitlab.example.com' })).toBe('sub');
    expect(personClaimOf({ issuer: 'https://gitlab.example.com', personClaim: 'user_id' })).toBe('user_id');
  });

  it('is the same across branches and environments of one actor, and differs between actors', () => {
    const main = github({ actor_id: '1001' });
    const feature = github({
      actor_id: '1001',
      sub: 'repo:org/shop:ref:refs/heads/feature',
      ref: 'refs/heads/feature',
    });
    const production = github({ actor_id: '1001', sub: 'repo:org/shop:environment:production' });
    const other = github({ actor_id: '1002' });
    const person = (claims: Record<string, unknown>) => oidcPersonOf({ issuer: GITHUB }, claims);

    expect(person(main)).toBe('oidc:token.actions.githubusercontent.com:actor_id=1001');
    expect(new Set([person(main), person(feature), person(production)]).size).toBe(1);
    expect(person(other)).not.toBe(person(main));
    // A renamed login is the same person; a login handed to someone else is not.
    expect(person({ ...main, actor: 'alice-renamed' })).toBe(person(main));
    expect(person({ ...other, actor: 'alice' })).not.toBe(person(main));
  });

  it('is absent when the token lacks the claim or carries something else than a string', () => {
    expect(oidcPersonOf({ issuer: GITHUB }, github())).toBeUndefined();
    expect(oidcPersonOf({ issuer: GITHUB }, github({ actor_id: 1001 }))).toBeUndefined();
    expect(oidcPersonOf({ issuer: GITHUB }, github({ actor_id: '' }))).toBeUndefined();
  });

  it('rides on the principal the matching rule makes', () => {
    const person = 'oidc:token.actions.githubusercontent.com:actor_id=1001';
    expect(oidcPrincipal(GITHUB, 'repo:org/shop:ref:refs/heads/main', rule({ sub: 'x' }), person)).toMatchObject({
      name: 'oidc:token.actions.githubusercontent.com:repo:org/shop:ref:refs/heads/main',
      person,
    });
  });
});

describe('namedValues', () => {
  it.each([
    ['1001', ['1001']],
    ['{1001,1002}', ['1001', '1002']],
    ['{alice@example.com,bob@example.com}', ['alice@example.com', 'bob@example.com']],
  ])('names %s one by one', (matcher, values) => {
    expect(namedValues(matcher)).toEqual(values);
  });

  it.each(['*', '10*', '{1001,*}', '{1001,100?}', '[0-9]*', '{1001,{1002,1003}}', '@(1001|1002)', '{1001,}'])(
    'does not take %s for a list of people',
    (matcher) => {
      expect(namedValues(matcher)).toBeUndefined();
    },
  );
});

describe('personRuleProblem', () => {
  it.each([
    [['deployer'], { repository: 'org/shop' }],
    [['viewer'], {}],
    [['approver'], { repository: 'org/shop', actor_id: '1001' }],
    [['admin', 'deployer'], { repository: 'org/shop', actor_id: '{1001,1002}' }],
  ] as const)('accepts roles %j with claims %j', (roles, claims) => {
    expect(personRuleProblem({ roles: [...roles], claims }, 'actor_id')).toBeUndefined();
  });

  it.each([
    [['approver'], { repository: 'org/shop' }, 'approver'],
    [['approver'], { repository: 'org/shop', actor: 'alice' }, 'approver'],
    [['admin'], { repository: 'org/shop', actor_id: '*' }, 'admin'],
    [['approver', 'admin'], { repository: 'org/shop', actor_id: '10*' }, 'approver and admin'],
  ] as const)('refuses roles %j with claims %j', (roles, claims, granted) => {
    expect(personRuleProblem({ roles: [...roles], claims }, 'actor_id')).toBe(
      `grants ${granted}, and approvals count once per person, so it must pin actor_id (the claim that names one person) to values named one by one, such as actor_id: "12345" or "{12345,67890}"`,
    );
  });
});
