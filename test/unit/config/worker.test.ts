import { parseConfig } from '../../../lib/config/load';
import { configSchema } from '../../../lib/config/schema';
import { ConfigError } from '../../../lib/errors';
import { thrown } from '../../support/thrown';

const auth = { tokensSecret: 'slipway/api-tokens' };
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0';
const worker = {
  image: IMAGE,
  subnetIds: ['subnet-0a1b2c3d4e5f60718'],
  securityGroupIds: ['sg-0a1b2c3d4e5f60718'],
};
const volume = { fileSystemId: 'fs-0123456789abcdef0', accessPointId: 'fsap-0123456789abcdef0' };
const dumpedDatabase = { rdsInstance: 'shop-prod-db', dump: { credentialsSecret: 'slipway/shop-db-dump' } };
const IMAGE_RULE =
  'expected an image with a tag or digest, such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0';

/** The issues of a refused config as {path, message}; fails the test when it was accepted. */
function issuesOf(raw: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) throw new Error('expected the config to be refused, but it parsed');
  return result.error.issues.map(({ path, message }) => ({ path, message }));
}

describe('configSchema worker', () => {
  describe('when the worker is required', () => {
    it('given a volume and no worker, when the config is parsed, then worker is required for the volume', () => {
      // when
      const issues = issuesOf({ auth, volumes: { 'shop-uploads': volume } });

      // then
      expect(issues).toEqual([
        {
          path: ['worker'],
          message:
            'is required: volume shop-uploads runs in your VPC, through the worker (image, subnetIds, securityGroupIds)',
        },
      ]);
    });

    it('given a volume and a dumped database and no worker, when the config is parsed, then the message names both', () => {
      // when
      const issues = issuesOf({
        auth,
        databases: { 'shop-db': dumpedDatabase, 'reports-db': { rdsCluster: 'reports-aurora' } },
        volumes: { 'shop-uploads': volume },
      });

      // then
      expect(issues).toEqual([
        {
          path: ['worker'],
          message:
            'is required: volume shop-uploads, the dump of database shop-db run in your VPC, through the worker (image, subnetIds, securityGroupIds)',
        },
      ]);
    });

    it('given only databases without dumps, when the config is parsed, then no worker is needed', () => {
      // when
      const result = configSchema.safeParse({ auth, databases: { 'shop-db': { rdsInstance: 'shop-prod-db' } } });

      // then
      expect(result.success).toBe(true);
      expect(result.data?.worker).toBeUndefined();
    });

    it('given a volume and a worker, when the config is parsed, then the worker gets its defaults', () => {
      // when
      const config = configSchema.parse({ auth, volumes: { 'shop-uploads': volume }, worker });

      // then
      expect(config.worker).toEqual({
        ...worker,
        assignPublicIp: false,
        cpu: 1024,
        memory: 2048,
        ephemeralStorageGiB: 21,
        timeoutMinutes: 360,
      });
    });
  });

  describe('the Fargate size', () => {
    it('given cpu 1024 and memory 512, when the config is parsed, then memory is refused with the range for that cpu', () => {
      // when
      const issues = issuesOf({ auth, worker: { ...worker, cpu: 1024, memory: 512 } });

      // then
      expect(issues).toEqual([
        {
          path: ['worker', 'memory'],
          message: 'expected a Fargate memory size for cpu 1024 (2048 to 8192 in steps of 1024 MiB), received 512',
        },
      ]);
    });

    it.each([
      [256, 4096, 'expected a Fargate memory size for cpu 256 (512, 1024, 2048 MiB), received 4096'],
      [256, 1536, 'expected a Fargate memory size for cpu 256 (512, 1024, 2048 MiB), received 1536'],
      [512, 512, 'expected a Fargate memory size for cpu 512 (1024 to 4096 in steps of 1024 MiB), received 512'],
      [
        2048,
        16_385,
        'expected a Fargate memory size for cpu 2048 (4096 to 16384 in steps of 1024 MiB), received 16385',
      ],
      [4096, 9000, 'expected a Fargate memory size for cpu 4096 (8192 to 30720 in steps of 1024 MiB), received 9000'],
      [
        4096,
        31_744,
        'expected a Fargate memory size for cpu 4096 (8192 to 30720 in steps of 1024 MiB), received 31744',
      ],
    ])('given cpu %i and memory %i, when the config is parsed, then memory is refused', (cpu, memory, message) => {
      // when
      const issues = issuesOf({ auth, worker: { ...worker, cpu, memory } });

      // then
      expect(issues).toEqual([{ path: ['worker', 'memory'], message }]);
    });

    it.each([
      [256, 512],
      [256, 1024],
      [256, 2048],
      [512, 4096],
      [1024, 8192],
      [2048, 4096],
      [4096, 30_720],
    ])('given cpu %i and memory %i, when the config is parsed, then the size is accepted', (cpu, memory) => {
      // when
      const config = configSchema.parse({ auth, worker: { ...worker, cpu, memory } });

      // then
      expect(config.worker).toMatchObject({ cpu, memory });
    });

    it('given a cpu Fargate does not offer, when the config is parsed, then cpu is refused with the choices', () => {
      // when
      const issues = issuesOf({ auth, worker: { ...worker, cpu: 3000 } });

      // then
      expect(issues).toEqual([
        { path: ['worker', 'cpu'], message: 'expected 256, 512, 1024, 2048 or 4096, received 3000' },
      ]);
    });
  });

  describe('the image', () => {
    it.each([
      ['a tag', IMAGE],
      ['a digest', `123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker@sha256:${'0f'.repeat(32)}`],
      ['a public image with a tag', 'ghcr.io/example/slipway-worker:2026.11.23'],
    ])('given an image with %s, when the config is parsed, then it is accepted', (_label, image) => {
      // when
      const config = configSchema.parse({ auth, worker: { ...worker, image } });

      // then
      expect(config.worker?.image).toBe(image);
    });

    it.each([
      [
        'no tag or digest',
        '123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker',
        // Long inputs are cut to 57 characters and an ellipsis.
        '"123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-wor...',
      ],
      ['a short digest', 'slipway-worker@sha256:abc123', '"slipway-worker@sha256:abc123"'],
      ['an empty tag', 'slipway-worker:', '"slipway-worker:"'],
    ])(
      'given an image with %s, when the config is parsed, then it is refused at worker.image',
      (_label, image, received) => {
        // when
        const issues = issuesOf({ auth, worker: { ...worker, image } });

        // then
        expect(issues).toEqual([{ path: ['worker', 'image'], message: `${IMAGE_RULE}, received ${received}` }]);
      },
    );
  });
});

describe('configSchema volumes', () => {
  it('given a volume with only its file system and access point, when the config is parsed, then it runs on lambda with gzip', () => {
    // when
    const config = configSchema.parse({ auth, volumes: { 'shop-uploads': volume }, worker });

    // then
    expect(config.volumes['shop-uploads']).toEqual({
      ...volume,
      schedule: 'cron(30 3 * * ? *)',
      retention: { daily: 7, weekly: 4, monthly: 0 },
      runner: 'lambda',
      compression: 'gzip',
    });
  });

  it('given a volume that runs on ecs with zstd and a drill, when the config is parsed, then they are kept', () => {
    // when
    const config = configSchema.parse({
      auth,
      volumes: {
        'shop-uploads': { ...volume, runner: 'ecs', compression: 'zstd', restoreDrill: { schedule: 'rate(7 days)' } },
      },
      worker,
    });

    // then
    expect(config.volumes['shop-uploads']).toMatchObject({
      runner: 'ecs',
      compression: 'zstd',
      restoreDrill: { schedule: 'rate(7 days)' },
    });
  });

  it.each([
    ['runner', { runner: 'fargate' }, 'expected lambda or ecs, received "fargate"'],
    ['compression', { compression: 'bzip2' }, 'expected gzip or zstd, received "bzip2"'],
  ])('given an unknown %s, when the config is parsed, then it is refused with the choices', (key, extra, message) => {
    // when
    const issues = issuesOf({ auth, volumes: { 'shop-uploads': { ...volume, ...extra } }, worker });

    // then
    expect(issues).toEqual([{ path: ['volumes', 'shop-uploads', key], message }]);
  });
});

describe('configSchema volumes.<v>.sqlite', () => {
  it('given globs on a volume run by the worker task, when the config is parsed, then each carries the regular expression the worker matches with', () => {
    // when
    const config = configSchema.parse({
      auth,
      volumes: { 'shop-uploads': { ...volume, runner: 'ecs', sqlite: ['data/*.db', '**/*.sqlite'] } },
      worker,
    });

    // then
    const globs = config.volumes['shop-uploads']?.sqlite ?? [];
    expect(globs.map(({ glob }) => glob)).toEqual(['data/*.db', '**/*.sqlite']);
    const [data, anywhere] = globs.map(({ source }) => new RegExp(source));
    expect(['data/app.db', 'data/.hidden.db'].map((path) => data?.test(path))).toEqual([true, true]);
    expect(['app.db', 'data/sub/app.db', 'data/app.db-wal'].map((path) => data?.test(path))).toEqual([
      false,
      false,
      false,
    ]);
    expect(['index.sqlite', 'a/b/c.sqlite'].map((path) => anywhere?.test(path))).toEqual([true, true]);
  });

  it('given globs on a volume run by a volume function, when the config is parsed, then sqlite is refused: its runtime has no sqlite3', () => {
    // when
    const issues = issuesOf({ auth, volumes: { 'shop-uploads': { ...volume, sqlite: ['data/*.db'] } }, worker });

    // then
    expect(issues).toEqual([
      {
        path: ['volumes', 'shop-uploads', 'sqlite'],
        message:
          "needs runner: ecs, received runner lambda: SQLite databases are taken with the sqlite3 tool, which the worker task's image has and the volume functions' runtime does not",
      },
    ]);
  });

  it.each([
    [[], 'expected at least one glob; leave the key out for none, received []'],
    [
      ['!data/*.db'],
      'expected a glob such as data/*.db, received "!data/*.db" (a leading ! (negation) is not supported: name the databases instead)',
    ],
    [
      ['/data/*.db'],
      'expected a glob such as data/*.db, received "/data/*.db" (paths are relative to the volume root, such as data/*.db, with no leading / or ./)',
    ],
    [
      ['../other/*.db'],
      'expected a glob such as data/*.db, received "../other/*.db" (a .. segment never matches a path inside the volume)',
    ],
    [['data/[a.db'], expect.stringMatching(/^expected a glob such as data\/\*\.db, received "data\/\[a\.db" \(.+\)$/)],
    [[''], 'expected a glob such as data/*.db, received "" (it is empty)'],
  ])('given sqlite %j, when the config is parsed, then it is refused saying why', (sqlite, message) => {
    // when
    const issues = issuesOf({ auth, volumes: { 'shop-uploads': { ...volume, runner: 'ecs', sqlite } }, worker });

    // then
    expect(issues).toEqual([
      { path: ['volumes', 'shop-uploads', 'sqlite', ...(sqlite.length > 0 ? [0] : [])], message },
    ]);
  });
});

describe('configSchema database dumps', () => {
  it('given a dump without credentialsSecret, when the config is parsed, then credentialsSecret is required', () => {
    // when
    const issues = issuesOf({ auth, databases: { 'shop-db': { rdsInstance: 'shop-prod-db', dump: {} } }, worker });

    // then
    expect(issues).toEqual([
      {
        path: ['databases', 'shop-db', 'dump', 'credentialsSecret'],
        message: 'is required: expected a Secrets Manager secret name or ARN',
      },
    ]);
  });

  it('given a dump with only its secret, when the config is parsed, then it runs daily at 04:00 with the default retention', () => {
    // when
    const config = configSchema.parse({ auth, databases: { 'shop-db': dumpedDatabase }, worker });

    // then
    expect(config.databases['shop-db']?.dump).toEqual({
      credentialsSecret: 'slipway/shop-db-dump',
      schedule: 'cron(0 4 * * ? *)',
      retention: { daily: 7, weekly: 4, monthly: 0 },
    });
  });
});

describe('parseConfig with a worker, volumes and dumps', () => {
  const yaml = [
    'auth:',
    '  tokensSecret: slipway/api-tokens',
    'databases:',
    '  shop-db:',
    '    rdsInstance: shop-prod-db',
    '    dump:',
    '      credentialsSecret: slipway/shop-db-dump',
    '      restoreDrill: { schedule: "cron(0 7 ? * SUN *)" }',
    'volumes:',
    '  shop-uploads:',
    '    fileSystemId: fs-0123456789abcdef0',
    '    accessPointId: fsap-0123456789abcdef0',
    'worker:',
    `  image: ${IMAGE}`,
    '  subnetIds: [subnet-0a1b2c3d4e5f60718]',
    '  securityGroupIds: [sg-0a1b2c3d4e5f60718]',
    '',
  ].join('\n');

  it('given credentialsSecret names a secret, when the file is parsed, then the secret scan lets it through', () => {
    // when
    const config = parseConfig(yaml, 'config/prod.yml');

    // then
    expect(config.databases['shop-db']?.dump?.credentialsSecret).toBe('slipway/shop-db-dump');
    expect(config.volumes['shop-uploads']?.runner).toBe('lambda');
    expect(config.worker?.image).toBe(IMAGE);
  });

  it('given a password pasted beside the dump secret, when the file is parsed, then the secret scan refuses it', () => {
    // given
    const withPassword = yaml.replace(
      '      credentialsSecret: slipway/shop-db-dump\n',
      '      credentialsSecret: slipway/shop-db-dump\n      password: correct-horse-battery\n',
    );

    // when
    const error = thrown(() => parseConfig(withPassword, 'config/prod.yml'));

    // then
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      "config/prod.yml: databases.shop-db.dump.password: looks like a password value; config files hold no secret values: store it in AWS Secrets Manager and put the secret's name here instead",
    );
  });

  it('given the file without its worker section, when it is parsed, then the message names the key path and what needs it', () => {
    // given
    const withoutWorker = yaml.slice(0, yaml.indexOf('worker:'));

    // when
    const error = thrown(() => parseConfig(withoutWorker, 'config/prod.yml'));

    // then
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'config/prod.yml: worker: is required: volume shop-uploads, the dump of database shop-db run in your VPC, through the worker (image, subnetIds, securityGroupIds)',
    );
  });
});

describe('configSchema alarm subjects', () => {
  it.each([
    [
      'a volume x beside a database volume-x',
      {
        databases: { 'volume-x': { rdsInstance: 'x-db' } },
        volumes: { x: { fileSystemId: 'fs-0123456789abcdef0', accessPointId: 'fsap-0123456789abcdef0' } },
      },
      ['volumes', 'x'],
      'volume x would share its alarm names (slipway-<stage>-volume-x-…) with database volume-x; rename one',
    ],
    [
      'the dumps of shop-db beside a database shop-db-dump',
      {
        databases: {
          'shop-db': { rdsInstance: 'shop-prod', dump: { credentialsSecret: 'slipway/shop-db-dump' } },
          'shop-db-dump': { rdsInstance: 'other' },
        },
      },
      ['databases', 'shop-db-dump'],
      'database shop-db-dump would share its alarm names (slipway-<stage>-shop-db-dump-…) with the dumps of database shop-db; rename one',
    ],
  ])('given %s, when the config is parsed, then the second is refused by name', (_label, subjects, path, message) => {
    // when
    const issues = issuesOf({ auth, worker, ...subjects });

    // then
    expect(issues).toEqual([{ path, message }]);
  });
});
