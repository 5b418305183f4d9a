import * as z from 'zod';
import { NAME_PATTERN } from '../config/names';
import { cursorParameter } from '../store/cursor';
import { BACKUP_ID, BACKUP_KINDS, BACKUP_STATUSES, RESTORE_ID } from './records';

/** The backup and restore routes' inputs. */

const name = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `is required: expected ${what}` : `expected ${what}`) })
    .regex(NAME_PATTERN, `expected ${what}: lowercase letters, digits and dashes, starting with a letter`);

export const isoTime = z
  .string({ error: 'expected an ISO 8601 time such as 2026-11-22T03:00:00Z' })
  .refine(
    (value) => /^\d{4}-\d\d-\d\d(T[\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/.test(value) && !Number.isNaN(Date.parse(value)),
    {
      message: 'expected an ISO 8601 time such as 2026-11-22T03:00:00Z',
    },
  )
  .describe('An ISO 8601 date or time, such as 2026-11-22T03:00:00Z.');

const strict = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'expected a JSON object',
  });

export const listBackupsQuery = strict({
  database: name('a database name').describe("A database's backups (config/<stage>.yml names it).").optional(),
  volume: name('a volume name').describe("A volume's archives (config/<stage>.yml names it).").optional(),
  kind: z
    .enum(BACKUP_KINDS, { error: `expected one of ${BACKUP_KINDS.join(', ')}` })
    .describe('Only backups of this kind.')
    .optional(),
  status: z
    .enum(BACKUP_STATUSES, { error: `expected one of ${BACKUP_STATUSES.join(', ')}` })
    .describe('Only backups in this status.')
    .optional(),
  since: isoTime.describe('Only backups created at or after this time (ISO 8601).').optional(),
  until: isoTime.describe('Only backups created before this time (ISO 8601).').optional(),
  retention: z
    .literal('preview', { error: 'expected preview' })
    .describe('preview: what retention would keep and delete, and why, instead of the backups.')
    .optional(),
  limit: z.coerce
    .number({ error: 'expected an integer from 1 to 100' })
    .int()
    .min(1)
    .max(100)
    .default(50)
    .describe('Backups per page.'),
  cursor: z.optional(cursorParameter),
}).superRefine((query, ctx) => {
  if (query.retention && !query.database && !query.volume) {
    ctx.addIssue({ code: 'custom', path: ['database'], message: 'is required with retention=preview (or volume)' });
  }
  if (query.database && query.volume) {
    ctx.addIssue({ code: 'custom', path: ['volume'], message: 'give database or volume, not both' });
  }
});

/** `{database}`: an RDS snapshot; `{database, kind: postgres-dump}`: a dump; `{volume}`: an archive. */
export const takeBackupBody = strict({
  database: name('a database name').describe('The database to back up.').optional(),
  volume: name('a volume name').describe('The volume to archive.').optional(),
  kind: z
    .enum(['rds-snapshot', 'postgres-dump'], { error: 'expected rds-snapshot or postgres-dump' })
    .describe('For a database: an RDS snapshot (the default) or a logical dump.')
    .optional(),
})
  .superRefine((body, ctx) => {
    if ((body.database === undefined) === (body.volume === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [body.database === undefined ? 'database' : 'volume'],
        message:
          body.database === undefined
            ? 'is required: give exactly one of database or volume'
            : 'give exactly one of database or volume, not both',
      });
    }
    if (body.volume !== undefined && body.kind !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: 'applies to a database only; a volume is archived' });
    }
  })
  .meta({
    description: 'A snapshot `{database}`, a dump `{database, kind: postgres-dump}` or an archive `{volume}`, now.',
    // The superRefine above, as JSON Schema: a database or a volume, and kind only with a database.
    oneOf: [{ required: ['database'] }, { required: ['volume'] }],
    dependentRequired: { kind: ['database'] },
    examples: [{ database: 'shop-db' }, { volume: 'shop-uploads' }],
  });

export const backupPath = z.object({
  id: z.string().regex(BACKUP_ID, 'expected a backup id such as bkp-3f2a…').describe('A backup id.'),
});
export const restorePath = z.object({
  id: z
    .string()
    .regex(RESTORE_ID, 'expected a restore id such as rst-3f2a…')
    .describe('A restore id, as the answer to its request gave it.'),
});

// RDS identifier rules: a letter first, letters, digits and single hyphens, no trailing hyphen, at most 63.
const rdsIdentifier = z
  .string({ error: 'is required: expected a new RDS identifier' })
  .regex(
    /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,61}[a-zA-Z0-9]$/,
    'expected an RDS identifier: a letter first, then letters, digits and single hyphens, at most 63, not ending with a hyphen',
  );

const rdsRestoreBody = strict({
  kind: z.literal('rds').describe('An RDS restore (the default when kind is left out).').optional(),
  database: name('a database name').describe('The database whose snapshot or history is restored.'),
  backupId: backupPath.shape.id.describe('The snapshot to restore; or give pointInTime.').optional(),
  pointInTime: z
    .union([z.literal('latest'), isoTime])
    .describe('latest, or an ISO 8601 time to restore to; or give backupId.')
    .optional(),
  targetIdentifier: rdsIdentifier.describe(
    'A new RDS identifier to restore into, named <source identifier>-restore-…; never an existing one.',
  ),
  overrides: strict({
    instanceClass: z
      .string()
      .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'expected an instance class such as db.t4g.medium')
      .optional(),
    multiAZ: z.boolean({ error: 'expected true or false' }).optional(),
    storageType: z
      .enum(['gp2', 'gp3', 'io1', 'io2', 'standard'], { error: 'expected gp2, gp3, io1, io2 or standard' })
      .optional(),
    dbSubnetGroupName: z.string().min(1).max(255).optional(),
    vpcSecurityGroupIds: z
      .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'expected a security group id'))
      .min(1)
      .optional(),
    dbParameterGroupName: z.string().min(1).max(255).optional(),
    publiclyAccessible: z.boolean({ error: 'expected true or false' }).optional(),
  })
    .describe("What differs from the source's settings, which are copied otherwise.")
    .optional(),
})
  .superRefine((body, ctx) => {
    if ((body.backupId === undefined) === (body.pointInTime === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [body.backupId === undefined ? 'backupId' : 'pointInTime'],
        message:
          body.backupId === undefined
            ? 'is required: give exactly one of backupId or pointInTime'
            : 'give exactly one of backupId or pointInTime, not both',
      });
    }
  })
  .meta({
    title: 'RDS restore',
    // The superRefine above, as JSON Schema: exactly one of backupId or pointInTime.
    oneOf: [{ required: ['backupId'] }, { required: ['pointInTime'] }],
  });

// Letters, digits, dots, dashes and underscores per segment; never `.` or `..`, never absolute.
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,255}$/;
const volumePath = z
  .string({ error: 'expected a directory inside the volume such as restored/2026-11-23' })
  .max(1_024)
  .refine((path) => path.split('/').every((segment) => SEGMENT.test(segment)), {
    message:
      'expected a relative directory inside the volume (segments of letters, digits, ".", "-" and "_"; no "..", no leading "/")',
  });

const volumeRestoreBody = strict({
  kind: z.literal('volume'),
  volume: name('a volume name').describe('The volume whose archive is restored, into itself.'),
  backupId: backupPath.shape.id.describe('The archive to restore; the newest available when left out.').optional(),
  targetPath: volumePath.describe('A relative directory inside the volume; restored-<time> when left out.').optional(),
  force: z
    .boolean({ error: 'expected true or false' })
    .default(false)
    .describe('Restore into a directory that holds files.'),
}).meta({ title: 'Volume restore' });

// PostgreSQL identifiers as pg_restore's target: unquoted-safe, at most 63 bytes.
const pgDatabase = z
  .string({ error: 'is required: expected a database name' })
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a database name: lowercase letters, digits and _, at most 63');

const dumpRestoreBody = strict({
  kind: z.literal('postgres-dump'),
  database: name('a database name').describe('The database whose dump is restored.'),
  backupId: backupPath.shape.id.describe('The dump to restore; the newest available when left out.').optional(),
  targetDatabase: pgDatabase.describe('A database on the same server, not the source, that holds nothing.'),
  force: z
    .boolean({ error: 'expected true or false' })
    .default(false)
    .describe('Restore into the source database, or one that holds tables.'),
}).meta({ title: 'PostgreSQL dump restore' });

/** Without `kind`, a restore is of RDS (as before kinds existed). */
export const createRestoreBody = z
  .preprocess(
    (body) =>
      body !== null && typeof body === 'object' && !Array.isArray(body) && !('kind' in body)
        ? { ...body, kind: 'rds' }
        : body,
    z.discriminatedUnion('kind', [rdsRestoreBody, volumeRestoreBody, dumpRestoreBody], {
      error: (issue) =>
        issue.code === 'invalid_union' ? 'expected kind rds, volume or postgres-dump' : 'expected a JSON object',
    }),
  )
  .meta({
    description: 'A restore of an RDS snapshot or point in time, a volume archive, or a PostgreSQL dump.',
    examples: [
      { database: 'shop-db', pointInTime: 'latest', targetIdentifier: 'shop-prod-db-restore-1' },
      { kind: 'volume', volume: 'shop-uploads', targetPath: 'restored/2026-11-23' },
    ],
  });
