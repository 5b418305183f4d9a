import * as z from 'zod';
import {
  createDeploymentBody,
  deploymentPath,
  environmentPath,
  historyQuery,
  operationBody,
  promoteBody,
  scaleBody,
} from '../../../lib/deploy/schemas';

const DIGEST = `sha256:${'3f2a1c9e'.repeat(8)}`;
const VALID = { app: 'shop', environment: 'staging' };

/** What a client is told: each issue's path and message, as the HTTP edge reports them. */
function issues(schema: z.core.$ZodType, input: unknown) {
  const result = z.safeParse(schema, input);
  return result.success ? [] : result.error.issues.map(({ path, message }) => ({ path, message }));
}

describe('createDeploymentBody', () => {
  it.each<[string, Record<string, unknown>]>([
    ['a tag', { ...VALID, tag: 'develop-3f2a1c' }],
    ['a digest', { ...VALID, digest: DIGEST }],
    ['a tag with every optional field', { ...VALID, tag: '1.4.2', reason: 'release 1.4.2', dryRun: true }],
  ])('accepts %s', (_, body) => {
    expect(createDeploymentBody.parse(body)).toEqual(body);
  });

  it('asks for a tag when neither tag nor digest is given', () => {
    expect(issues(createDeploymentBody, VALID)).toEqual([
      { path: ['tag'], message: 'is required: give exactly one of tag or digest' },
    ]);
  });

  it('refuses both, pointing at the digest', () => {
    expect(issues(createDeploymentBody, { ...VALID, tag: '1.4.2', digest: DIGEST })).toEqual([
      { path: ['digest'], message: 'give exactly one of tag or digest, not both' },
    ]);
  });

  it.each<[string, Record<string, unknown>, { path: PropertyKey[]; message: string }]>([
    [
      'a digest in upper case',
      { ...VALID, digest: DIGEST.toUpperCase() },
      { path: ['digest'], message: 'expected an image digest sha256:<64 hex digits>' },
    ],
    [
      'a digest that is too short',
      { ...VALID, digest: 'sha256:3f2a1c' },
      { path: ['digest'], message: 'expected an image digest sha256:<64 hex digits>' },
    ],
    [
      'a digest of another algorithm',
      { ...VALID, digest: `sha512:${'ab'.repeat(32)}` },
      { path: ['digest'], message: 'expected an image digest sha256:<64 hex digits>' },
    ],
    [
      'an image reference instead of a digest',
      { ...VALID, digest: `shop-backend@${DIGEST}` },
      { path: ['digest'], message: 'expected an image digest sha256:<64 hex digits>' },
    ],
    [
      'a tag starting with a dash',
      { ...VALID, tag: '-rc1' },
      { path: ['tag'], message: 'expected an image tag such as 1.4.2 or develop-3f2a1c' },
    ],
    [
      'a tag longer than 128 characters',
      { ...VALID, tag: 'a'.repeat(129) },
      { path: ['tag'], message: 'expected an image tag such as 1.4.2 or develop-3f2a1c' },
    ],
    [
      'a tag with a colon',
      { ...VALID, tag: 'shop:1.4.2' },
      { path: ['tag'], message: 'expected an image tag such as 1.4.2 or develop-3f2a1c' },
    ],
    ['a tag that is a number', { ...VALID, tag: 142 }, { path: ['tag'], message: 'expected an image tag' }],
    [
      'an app name in capitals',
      { ...VALID, app: 'Shop', tag: '1.4.2' },
      { path: ['app'], message: 'expected an app name: lowercase letters, digits and dashes, starting with a letter' },
    ],
    [
      'an environment name starting with a digit',
      { ...VALID, environment: '1prod', tag: '1.4.2' },
      {
        path: ['environment'],
        message: 'expected an environment name: lowercase letters, digits and dashes, starting with a letter',
      },
    ],
    [
      'an app name of 64 characters',
      { ...VALID, app: `s${'h'.repeat(63)}`, tag: '1.4.2' },
      { path: ['app'], message: 'expected an app name: lowercase letters, digits and dashes, starting with a letter' },
    ],
    [
      'no app',
      { environment: 'staging', tag: '1.4.2' },
      { path: ['app'], message: 'is required: expected an app name' },
    ],
    [
      'an environment that is not a string',
      { app: 'shop', environment: ['staging'], tag: '1.4.2' },
      { path: ['environment'], message: 'expected an environment name' },
    ],
    [
      'an unknown field',
      { ...VALID, tag: '1.4.2', image: 'shop-backend:1.4.2' },
      { path: [], message: 'unknown field(s) image' },
    ],
    [
      'dryRun as a string',
      { ...VALID, tag: '1.4.2', dryRun: 'true' },
      { path: ['dryRun'], message: 'expected true or false' },
    ],
  ])('refuses %s', (_, body, issue) => {
    expect(issues(createDeploymentBody, body)).toEqual([issue]);
  });

  it('names every unknown field at once', () => {
    expect(issues(createDeploymentBody, { ...VALID, tag: '1.4.2', image: 'x', force: true })).toEqual([
      { path: [], message: 'unknown field(s) image, force' },
    ]);
  });

  it.each<[string, unknown]>([
    ['an array', []],
    ['null', null],
    ['a string', 'shop'],
  ])('refuses %s as the body', (_, body) => {
    expect(issues(createDeploymentBody, body)).toEqual([{ path: [], message: 'expected a JSON object' }]);
  });

  describe('reason', () => {
    it('is trimmed', () => {
      expect(createDeploymentBody.parse({ ...VALID, tag: '1.4.2', reason: '  release 1.4.2\n' }).reason).toBe(
        'release 1.4.2',
      );
    });

    it('may be 500 characters once trimmed', () => {
      const reason = 'r'.repeat(500);

      expect(createDeploymentBody.parse({ ...VALID, tag: '1.4.2', reason: `  ${reason}  ` }).reason).toBe(reason);
    });

    it.each<[string, unknown, string]>([
      ['blank', '   ', 'expected a non-empty reason'],
      ['empty', '', 'expected a non-empty reason'],
      ['501 characters', 'r'.repeat(501), 'expected at most 500 characters'],
      ['a number', 142, 'expected a string'],
    ])('is refused when %s', (_, reason, message) => {
      expect(issues(createDeploymentBody, { ...VALID, tag: '1.4.2', reason })).toEqual([{ path: ['reason'], message }]);
    });
  });
});

describe('operationBody and promoteBody', () => {
  it('accepts an empty body, as a POST without one is read', () => {
    expect(operationBody.parse({})).toEqual({});
  });

  it('accepts a reason and dryRun, trimming the reason', () => {
    expect(operationBody.parse({ reason: ' bad release ', dryRun: true })).toEqual({
      reason: 'bad release',
      dryRun: true,
    });
  });

  it('refuses an unknown field', () => {
    expect(issues(operationBody, { desiredCount: 2 })).toEqual([
      { path: [], message: 'unknown field(s) desiredCount' },
    ]);
  });

  it('promotes from a named environment', () => {
    expect(promoteBody.parse({ from: 'staging', reason: 'ship 1.4.2' })).toEqual({
      from: 'staging',
      reason: 'ship 1.4.2',
    });
  });

  it('refuses a source environment that is not a name', () => {
    expect(issues(promoteBody, { from: 'Staging' })).toEqual([
      {
        path: ['from'],
        message: 'expected an environment name: lowercase letters, digits and dashes, starting with a letter',
      },
    ]);
  });
});

describe('scaleBody', () => {
  it.each([0, 1, 4, 250])('accepts desiredCount %d', (desiredCount) => {
    expect(scaleBody.parse({ desiredCount })).toEqual({ desiredCount });
  });

  it.each<[string, unknown, string]>([
    ['-1', -1, 'expected an integer >= 0'],
    ['1.5', 1.5, 'expected an integer >= 0'],
    ['"4" (a string)', '4', 'expected an integer >= 0'],
    ['null', null, 'expected an integer >= 0'],
  ])('refuses desiredCount %s', (_, desiredCount, message) => {
    expect(issues(scaleBody, { desiredCount })).toEqual([{ path: ['desiredCount'], message }]);
  });

  it('requires desiredCount', () => {
    expect(issues(scaleBody, { reason: 'more traffic' })).toEqual([
      { path: ['desiredCount'], message: 'is required: expected an integer >= 0' },
    ]);
  });
});

describe('historyQuery', () => {
  it('defaults limit to 20', () => {
    expect(historyQuery.parse({})).toEqual({ limit: 20 });
  });

  it.each<[string, number]>([
    ['5', 5],
    ['1', 1],
    ['100', 100],
  ])('coerces limit %j to %d', (limit, expected) => {
    expect(historyQuery.parse({ limit })).toEqual({ limit: expected });
  });

  it('passes a cursor through', () => {
    expect(historyQuery.parse({ limit: '10', cursor: 'eyJwayI6InNob3AifQ' })).toEqual({
      limit: 10,
      cursor: 'eyJwayI6InNob3AifQ',
    });
  });

  it.each(['0', '101', 'x', '2.5', ''])('refuses limit %j', (limit) => {
    expect(issues(historyQuery, { limit })).toEqual([
      { path: ['limit'], message: 'expected an integer from 1 to 100' },
    ]);
  });

  it('refuses a cursor longer than any page gives', () => {
    expect(issues(historyQuery, { cursor: 'c'.repeat(2_049) })).toEqual([
      { path: ['cursor'], message: 'expected a cursor from a previous page' },
    ]);
  });

  it('refuses an unknown parameter', () => {
    expect(issues(historyQuery, { page: '2' })).toEqual([{ path: [], message: 'unknown parameter(s) page' }]);
  });
});

describe('deploymentPath', () => {
  it('accepts a deployment id', () => {
    const id = 'dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f';

    expect(deploymentPath.parse({ id })).toEqual({ id });
  });

  it.each([
    ['without the dep- prefix', '5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f'],
    ['in upper case', 'dep-5B0C2C4E-7D0A-4C1E-9A51-2F1E3C4D5E6F'],
    ['cut short', 'dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6'],
    ['with a character too many', 'dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f0'],
    ['with a path inside', 'dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d/../'],
  ])('refuses an id %s', (_, id) => {
    expect(issues(deploymentPath, { id })).toEqual([
      { path: ['id'], message: 'expected a deployment id such as dep-5b0c2c4e-…' },
    ]);
  });
});

describe('environmentPath', () => {
  it('accepts an app and an environment name', () => {
    expect(environmentPath.parse({ app: 'shop', env: 'production' })).toEqual({ app: 'shop', env: 'production' });
  });

  it('refuses names that are not names', () => {
    expect(issues(environmentPath, { app: 'shop_web', env: 'Prod' })).toEqual([
      { path: ['app'], message: 'expected an app name: lowercase letters, digits and dashes, starting with a letter' },
      {
        path: ['env'],
        message: 'expected an environment name: lowercase letters, digits and dashes, starting with a letter',
      },
    ]);
  });
});
