import { claimMatchers } from '../../../lib/auth/oidc-rules';
import { parseConfig } from '../../../lib/config/load';

const SOURCE = 'config/prod.yml';

/** A valid file whose auth.oidc list is `oidc` (YAML, indented four spaces). */
const withOidc = (oidc: string) => `auth:\n  tokensSecret: slipway/api-tokens\n  oidc:\n${oidc}`;

const GITHUB_ENTRY = [
  '    - issuer: https://token.actions.githubusercontent.com',
  '      audience: slipway',
  '      rules:',
  '        - claims: { repository: org/shop, ref: refs/heads/main }',
  '          roles: [deployer]',
  '          apps: [shop]',
  '          excludeEnvironments: [production]',
  '',
].join('\n');

/** An identity provider of people, marked for the console's sign-in. */
const CONSOLE_ENTRY = [
  '    - issuer: https://login.example.com',
  '      audience: slipway-console',
  '      console: true',
  '      personClaim: email',
  '      rules:',
  '        - claims: { email: "{ana@example.com,bo@example.com}" }',
  '          roles: [approver]',
  '',
].join('\n');

/** The lines a refused file produced. */
function problems(text: string): string[] {
  try {
    parseConfig(text, SOURCE);
  } catch (error) {
    return (error as Error).message.split('\n');
  }
  throw new Error('expected the config to be refused, but it loaded');
}

describe('auth.oidc', () => {
  it('is optional: without it only the tokens secret counts', () => {
    expect(parseConfig('auth:\n  tokensSecret: slipway/api-tokens\n', SOURCE).auth.oidc).toBeUndefined();
  });

  it('reads an issuer with its rules, defaulting maxTokenAgeSeconds to an hour', () => {
    expect(parseConfig(withOidc(GITHUB_ENTRY), SOURCE).auth.oidc).toEqual([
      {
        issuer: 'https://token.actions.githubusercontent.com',
        audience: 'slipway',
        maxTokenAgeSeconds: 3600,
        rules: [
          {
            claims: { repository: 'org/shop', ref: 'refs/heads/main' },
            // Exact values: compared as they are, with no regular expression.
            claimRegExps: {},
            roles: ['deployer'],
            apps: ['shop'],
            excludeEnvironments: ['production'],
          },
        ],
      },
    ]);
  });

  it("marks the console's issuer, whose audience is the console's client id", () => {
    const [github, people] = parseConfig(withOidc(`${GITHUB_ENTRY}${CONSOLE_ENTRY}`), SOURCE).auth.oidc ?? [];
    expect(github).not.toHaveProperty('console');
    expect(people).toMatchObject({ issuer: 'https://login.example.com', audience: 'slipway-console', console: true });
  });

  it('accepts globs and several issuers', () => {
    const config = parseConfig(
      withOidc(
        `${GITHUB_ENTRY}    - issuer: https://gitlab.example.com/
      audience: slipway
      maxTokenAgeSeconds: 600
      rules:
        - claims: { project_path: "group/*", ref: "{main,release-*}" }
          roles: [viewer, deployer]
          environments: [staging]
`,
      ),
      SOURCE,
    );
    expect(config.auth.oidc?.[1]).toMatchObject({ issuer: 'https://gitlab.example.com/', maxTokenAgeSeconds: 600 });
  });

  it('carries each claim glob compiled, so the functions match it without picomatch', () => {
    // Given a rule with two globs, when config reads it
    const config = parseConfig(
      withOidc(`    - issuer: https://gitlab.example.com
      audience: slipway
      rules:
        - claims: { project_path: "group/*", ref: "{main,release-*}", user_login: alice }
          roles: [viewer]
`),
      SOURCE,
    );
    const [rule] = config.auth.oidc?.[0]?.rules ?? [];
    // Then each glob has its regular expression, the exact value none, and they accept what the globs do
    expect(Object.keys(rule?.claimRegExps ?? {}).sort()).toEqual(['project_path', 'ref']);
    const [[, projectPath] = [], [, ref] = []] = rule ? claimMatchers(rule) : [];
    expect(['group/shop', 'group/a/b', 'other/shop'].map((value) => projectPath?.matches(value))).toEqual([
      true,
      false,
      false,
    ]);
    expect(['main', 'release-1.4', 'develop'].map((value) => ref?.matches(value))).toEqual([true, true, false]);
  });

  it('takes an approver rule that pins actor_id, and another issuer pinning its own personClaim or sub', () => {
    const config = parseConfig(
      withOidc(
        `${GITHUB_ENTRY.replace('roles: [deployer]', 'roles: [deployer, approver]').replace('ref: refs/heads/main', 'actor_id: "{1001,1002}"')}    - issuer: https://gitlab.example.com
      audience: slipway
      personClaim: user_id
      rules:
        - claims: { project_path: group/shop, user_id: "42" }
          roles: [approver]
    - issuer: https://login.example.com
      audience: slipway
      rules:
        - claims: { sub: "{00u1a,00u1b}" }
          roles: [admin]
`,
      ),
      SOURCE,
    );
    expect(config.auth.oidc?.map((entry) => [entry.issuer, entry.personClaim, entry.rules[0]?.claims])).toEqual([
      ['https://token.actions.githubusercontent.com', undefined, { repository: 'org/shop', actor_id: '{1001,1002}' }],
      ['https://gitlab.example.com', 'user_id', { project_path: 'group/shop', user_id: '42' }],
      ['https://login.example.com', undefined, { sub: '{00u1a,00u1b}' }],
    ]);
  });

  it.each([
    [
      'an http issuer',
      GITHUB_ENTRY.replace('https://token', 'http://token'),
      'auth.oidc[0].issuer: expected an https issuer URL (no query, fragment or credentials) such as https://token.actions.githubusercontent.com, received "http://token.actions.githubusercontent.com"',
    ],
    [
      'an issuer on 127.0.0.1 over http',
      GITHUB_ENTRY.replace('https://token.actions.githubusercontent.com', 'http://127.0.0.1:8080'),
      'auth.oidc[0].issuer: expected an https issuer URL (no query, fragment or credentials) such as https://token.actions.githubusercontent.com, received "http://127.0.0.1:8080"',
    ],
    [
      'an issuer with a query',
      GITHUB_ENTRY.replace('githubusercontent.com', 'githubusercontent.com?x=1'),
      'auth.oidc[0].issuer: expected an https issuer URL (no query, fragment or credentials) such as https://token.actions.githubusercontent.com, received "https://token.actions.githubusercontent.com?x=1"',
    ],
    [
      "AWS STS's audience",
      GITHUB_ENTRY.replace('audience: slipway', 'audience: sts.amazonaws.com'),
      `auth.oidc[0].audience: expected an audience of Slipway's own, such as slipway (sts.amazonaws.com is what tokens for AWS carry), received "sts.amazonaws.com"`,
    ],
    [
      'no audience',
      GITHUB_ENTRY.replace('      audience: slipway\n', ''),
      'auth.oidc[0].audience: is required: expected an audience such as slipway',
    ],
    [
      'a token age over an hour',
      GITHUB_ENTRY.replace('      audience: slipway\n', '      audience: slipway\n      maxTokenAgeSeconds: 7200\n'),
      'auth.oidc[0].maxTokenAgeSeconds: expected an integer from 60 to 3600, received 7200',
    ],
    [
      'no rules',
      `${GITHUB_ENTRY.split('      rules:')[0]}      rules: []\n`,
      'auth.oidc[0].rules: expected at least one rule: a token no rule matches is refused, received []',
    ],
    [
      'a rule with no claims',
      GITHUB_ENTRY.replace('{ repository: org/shop, ref: refs/heads/main }', '{}'),
      'auth.oidc[0].rules[0].claims: expected at least one claim to match, such as repository, received {}',
    ],
    [
      'a matcher that matches everything',
      GITHUB_ENTRY.replace('ref: refs/heads/main', 'ref: "**"'),
      'auth.oidc[0].rules[0].claims.ref: expected a claim value or glob, received "**": it matches every value; leave the claim out instead',
    ],
    [
      'a negated matcher',
      GITHUB_ENTRY.replace('ref: refs/heads/main', 'ref: "!refs/heads/main"'),
      'auth.oidc[0].rules[0].claims.ref: expected a claim value or glob, received "!refs/heads/main": a leading ! (negation) is not supported: a rule names what may call, so list that instead',
    ],
    [
      'an unknown role',
      GITHUB_ENTRY.replace('roles: [deployer]', 'roles: [root]'),
      'auth.oidc[0].rules[0].roles[0]: expected one of viewer, deployer, approver, admin, received "root"',
    ],
    [
      'no roles',
      GITHUB_ENTRY.replace('roles: [deployer]', 'roles: []'),
      'auth.oidc[0].rules[0].roles: expected at least one role of viewer, deployer, approver, admin, received []',
    ],
    [
      'an empty app list',
      GITHUB_ENTRY.replace('apps: [shop]', 'apps: []'),
      'auth.oidc[0].rules[0].apps: expected at least one app name; leave the key out for every app, received []',
    ],
    [
      'an app name the config could not have',
      GITHUB_ENTRY.replace('apps: [shop]', 'apps: [Shop]'),
      'auth.oidc[0].rules[0].apps[0]: expected an app name of lowercase letters, digits and dashes, starting with a letter, at most 63 characters, received "Shop"',
    ],
    [
      'an unknown key in a rule',
      GITHUB_ENTRY.replace('apps: [shop]', 'app: [shop]'),
      'auth.oidc[0].rules[0].app: is not a known key',
    ],
    [
      'an environment both allowed and excluded',
      GITHUB_ENTRY.replace('apps: [shop]', 'environments: [production, staging]'),
      'auth.oidc[0].rules[0].excludeEnvironments: lists production, which environments allows: keep it in one of the two',
    ],
    [
      'a GitHub rule that does not pin the owner',
      GITHUB_ENTRY.replace('repository: org/shop', 'repository: "*/shop"'),
      'auth.oidc[0].rules[0].claims: every GitHub repository can get a token from this issuer, so a rule must pin the owner: match repository: <owner>/<repo or glob>, repository_owner, repository_owner_id, repository_id, or sub: repo:<owner>/…',
    ],
    [
      'a GitHub rule whose brace names a repository of any owner',
      GITHUB_ENTRY.replace('repository: org/shop', 'repository: "{org/shop,*/*}"'),
      'auth.oidc[0].rules[0].claims.repository: braces, extglobs and | before the first / could name another owner: write <owner>/… with the owner spelled out, one rule per owner',
    ],
    [
      'a GitHub rule whose sub brace names another owner',
      GITHUB_ENTRY.replace('repository: org/shop', 'sub: "repo:{org/x,evil/*}:*"'),
      'auth.oidc[0].rules[0].claims.sub: braces, extglobs and | before the first / could name another owner: write repo:<owner>/… with the owner spelled out, one rule per owner',
    ],
    [
      'a GitHub rule whose glob does not close',
      GITHUB_ENTRY.replace('ref: refs/heads/main', 'ref: "refs/heads/@(main"'),
      'auth.oidc[0].rules[0].claims.ref: expected a claim value or glob, received "refs/heads/@(main": Missing closing: ")"',
    ],
    [
      'a matcher with | outside parentheses',
      GITHUB_ENTRY.replace('ref: refs/heads/main', 'ref: "refs/heads/*|refs/tags/*"'),
      'auth.oidc[0].rules[0].claims.ref: expected a claim value or glob, received "refs/heads/*|refs/tags/*": a | outside (…) would match either whole side; write {a,b} for alternatives',
    ],
    [
      'a GitHub rule granting approver without pinning actor_id',
      GITHUB_ENTRY.replace('roles: [deployer]', 'roles: [approver]'),
      'auth.oidc[0].rules[0].claims: grants approver, and approvals count once per person, so it must pin actor_id (the claim that names one person) to values named one by one, such as actor_id: "12345" or "{12345,67890}"',
    ],
    [
      'a GitHub rule granting admin that pins actor, a login that can change hands',
      GITHUB_ENTRY.replace('roles: [deployer]', 'roles: [admin]').replace('ref: refs/heads/main', 'actor: alice'),
      'auth.oidc[0].rules[0].claims: grants admin, and approvals count once per person, so it must pin actor_id (the claim that names one person) to values named one by one, such as actor_id: "12345" or "{12345,67890}"',
    ],
    [
      'another person claim for GitHub',
      GITHUB_ENTRY.replace('      audience: slipway\n', '      audience: slipway\n      personClaim: actor\n'),
      "auth.oidc[0].personClaim: is actor, but GitHub's tokens name a person only by actor_id (actor is a login that can change hands, sub changes with branch and environment): leave it out",
    ],
    [
      'an approver rule of another issuer that does not pin its personClaim',
      `    - issuer: https://gitlab.example.com
      audience: slipway
      personClaim: user_id
      rules:
        - claims: { project_path: group/shop, user_login: alice }
          roles: [approver]
`,
      'auth.oidc[0].rules[0].claims: grants approver, and approvals count once per person, so it must pin user_id (the claim that names one person) to values named one by one, such as user_id: "12345" or "{12345,67890}"',
    ],
    [
      "the console's sign-in through GitHub Actions' issuer",
      GITHUB_ENTRY.replace('      audience: slipway\n', '      audience: slipway\n      console: true\n'),
      "auth.oidc[0].console: is true, but GitHub Actions' issuer signs tokens for workflow runs, not people signing in: mark your organisation's identity provider instead",
    ],
    [
      'two issuers for the console',
      `${CONSOLE_ENTRY}${CONSOLE_ENTRY.replace('login.example.com', 'login.example.org')}`,
      'auth.oidc[1].console: is true for https://login.example.com already: the console signs in with one issuer',
    ],
    [
      'a console flag that is not a boolean',
      CONSOLE_ENTRY.replace('console: true', 'console: "yes"'),
      'auth.oidc[0].console: expected true or false, received "yes"',
    ],
    [
      'the same issuer twice',
      GITHUB_ENTRY + GITHUB_ENTRY,
      'auth.oidc[1].issuer: lists https://token.actions.githubusercontent.com a second time: put all of its rules in one entry',
    ],
  ])('refuses %s, naming the key path and what is wrong', (_case, oidc, problem) => {
    expect(problems(withOidc(oidc))).toContain(`${SOURCE}: ${problem}`);
  });
});
