import * as z from 'zod';
import { compilePathGlob, pathGlobProblem } from '../glob-compile';
import { placementKeys, VOLUME_PLACEMENT } from './accounts';
import { archiveDrill, describeInput, expects, retention, scheduleExpression } from './values';

/** volumes: EFS access points archived to S3 on a schedule. */

const sqliteGlob = z.string(expects('a glob such as data/*.db')).superRefine((glob, ctx) => {
  const problem = glob === '' ? 'it is empty' : pathGlobProblem(glob);
  if (problem) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a glob such as data/*.db, received ${describeInput(glob)} (${problem})`,
    });
  }
});

export const volume = z
  .strictObject(
    {
      fileSystemId: z
        .string(expects('an EFS file system id such as fs-0123456789abcdef0'))
        .regex(/^fs-[0-9a-f]{8,40}$/, expects('an EFS file system id such as fs-0123456789abcdef0')),
      accessPointId: z
        .string(expects('an EFS access point id such as fsap-0123456789abcdef0'))
        .regex(/^fsap-[0-9a-f]{8,40}$/, expects('an EFS access point id such as fsap-0123456789abcdef0')),
      ...placementKeys('the EFS file system', VOLUME_PLACEMENT),
      schedule: scheduleExpression.default('cron(30 3 * * ? *)'),
      retention: retention.default({ daily: 7, weekly: 4, monthly: 0 }),
      runner: z
        .enum(['lambda', 'ecs'], expects('lambda or ecs'))
        .default('lambda')
        .describe(
          'lambda: a function with the volume mounted (up to 15 minutes); ecs: the worker task, for volumes that take longer',
        ),
      compression: z
        .enum(['gzip', 'zstd'], expects('gzip or zstd'))
        .default('gzip')
        .describe('zstd is faster and smaller; it needs Node 22.15 or later in the runner'),
      sqlite: z
        .array(sqliteGlob, expects('a list of globs such as [data/*.db]'))
        .min(1, expects('at least one glob; leave the key out for none'))
        .optional()
        .describe(
          'Globs of paths under the volume root (picomatch; * stays within a directory, ** crosses them) naming SQLite databases: each is copied with VACUUM INTO by the sqlite3 tool and checked with PRAGMA integrity_check, its -wal, -shm and -journal left out; a matching file that is not a SQLite database fails the archive. Needs runner ecs',
        ),
      restoreDrill: archiveDrill,
    },
    expects('a volume {fileSystemId, accessPointId, schedule, retention, runner, compression}'),
  )
  .superRefine((value, ctx) => {
    // The sqlite3 tool is in the worker image, not in the volume functions' Lambda runtime.
    if (value.sqlite && value.runner !== 'ecs') {
      ctx.addIssue({
        code: 'custom',
        path: ['sqlite'],
        message: `needs runner: ecs, received runner ${value.runner}: SQLite databases are taken with the sqlite3 tool, which the worker task's image has and the volume functions' runtime does not`,
      });
    }
  })
  // The worker matches paths with the regular expressions compiled here, without picomatch.
  .transform(({ sqlite, ...value }) => ({ ...value, ...(sqlite ? { sqlite: sqlite.map(compilePathGlob) } : {}) }));
