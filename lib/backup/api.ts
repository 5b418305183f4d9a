import { z } from 'zod';
import { NAME_PATTERN } from '../config/schema';
import { BACKUP_STATUSES } from './records';

/** The backup and restore routes' inputs. */

const name = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `is required: expected ${what}` : `expected ${what}`) })
    .regex(NAME_PATTERN, `expected ${what}: lowercase letters, digits and dashes, starting with a letter`);

const isoTime = z
  .string({ error: 'expected an ISO 8601 time such as 2026-11-22T03:00:00Z' })
  .refine(
    (value) => /^\d{4}-\d\d-\d\d(T[\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/.test(value) && !Number.isNaN(Date.parse(value)),
    {
      message: 'expected an ISO 8601 time such as 2026-11-22T03:00:00Z',
    },
  );

const strict = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'expected a JSON object',
  });

export const listBackupsQuery = strict({
  database: name('a database name').optional(),
  volume: name('a volume name').optional(),
  status: z.enum(BACKUP_STATUSES, { error: `expected one of ${BACKUP_STATUSES.join(', ')}` }).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  retention: z.literal('preview', { error: 'expected preview' }).optional(),
  limit: z.coerce.number({ error: 'expected an integer from 1 to 100' }).int().min(1).max(100).default(50),
  cursor: z.string().max(2_048).optional(),
}).superRefine((query, ctx) => {
  if (query.retention && !query.database) {
    ctx.addIssue({ code: 'custom', path: ['database'], message: 'is required with retention=preview' });
  }
  if (query.database && query.volume) {
    ctx.addIssue({ code: 'custom', path: ['volume'], message: 'give database or volume, not both' });
  }
});

export const takeBackupBody = strict({ database: name('a database name') });

export const backupPath = z.object({
  id: z.string().regex(/^bkp-[0-9a-f-]{36}$/, 'expected a backup id such as bkp-3f2a…'),
});
export const restorePath = z.object({
  id: z.string().regex(/^rst-[0-9a-f-]{36}$/, 'expected a restore id such as rst-3f2a…'),
});

// RDS identifier rules: a letter first, letters, digits and single hyphens, no trailing hyphen, at most 63.
const rdsIdentifier = z
  .string({ error: 'is required: expected a new RDS identifier' })
  .regex(
    /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,61}[a-zA-Z0-9]$/,
    'expected an RDS identifier: a letter first, then letters, digits and single hyphens, at most 63, not ending with a hyphen',
  );

export const createRestoreBody = strict({
  database: name('a database name'),
  backupId: backupPath.shape.id.optional(),
  pointInTime: z.union([z.literal('latest'), isoTime]).optional(),
  targetIdentifier: rdsIdentifier,
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
  }).optional(),
}).superRefine((body, ctx) => {
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
});
