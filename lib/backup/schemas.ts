import * as z from 'zod/mini';
import { CONTROL_PLANE_ACCOUNT, NAME_PATTERN } from '../config/names';
import { exactlyOneOf } from '../errors/validation';
import { cursorParameter } from '../store/cursor';
import { BACKUP_ID, BACKUP_KINDS, BACKUP_STATUSES, RESTORE_ID } from './records';

/**
 * The backup and restore routes' inputs, in zod/mini: a route bundles only the checks it uses, and
 * answers in the English of zod's classic build (lib/errors/validation.ts). Each schema is built in a call
 * marked pure, which esbuild drops where nothing uses its result: a route bundles only its own schemas.
 */

const name = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `is required: expected ${what}` : `expected ${what}`) })
    .check(z.regex(NAME_PATTERN, `expected ${what}: lowercase letters, digits and dashes, starting with a letter`));

export const isoTime = /* @__PURE__ */ (() =>
  z.string({ error: 'expected an ISO 8601 time such as 2026-11-22T03:00:00Z' }).check(
    z.refine(
      (value) => /^\d{4}-\d\d-\d\d(T[\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/.test(value) && !Number.isNaN(Date.parse(value)),
      { message: 'expected an ISO 8601 time such as 2026-11-22T03:00:00Z' },
    ),
    z.describe('An ISO 8601 date or time, such as 2026-11-22T03:00:00Z.'),
  ))();

const strict = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'expected a JSON object',
  });

export const listBackupsQuery = /* @__PURE__ */ (() =>
  strict({
    database: z.optional(
      name('a database name').check(z.describe("A database's backups (config/<stage>.yml names it).")),
    ),
    volume: z.optional(name('a volume name').check(z.describe("A volume's archives (config/<stage>.yml names it)."))),
    kind: z.optional(
      z
        .enum(BACKUP_KINDS, { error: `expected one of ${BACKUP_KINDS.join(', ')}` })
        .check(z.describe('Only backups of this kind.')),
    ),
    status: z.optional(
      z
        .enum(BACKUP_STATUSES, { error: `expected one of ${BACKUP_STATUSES.join(', ')}` })
        .check(z.describe('Only backups in this status.')),
    ),
    since: z.optional(isoTime.check(z.describe('Only backups created at or after this time (ISO 8601).'))),
    until: z.optional(isoTime.check(z.describe('Only backups created before this time (ISO 8601).'))),
    retention: z.optional(
      z
        .literal('preview', { error: 'expected preview' })
        .check(z.describe('preview: what retention would keep and delete, and why, instead of the backups.')),
    ),
    limit: z
      ._default(
        z.coerce.number({ error: 'expected an integer from 1 to 100' }).check(z.int(), z.minimum(1), z.maximum(100)),
        50,
      )
      .check(z.describe('Backups per page.')),
    cursor: z.optional(cursorParameter),
  }).check(
    z.superRefine((query, ctx) => {
      if (query.retention && !query.database && !query.volume) {
        ctx.addIssue({ code: 'custom', path: ['database'], message: 'is required with retention=preview (or volume)' });
      }
      if (query.database && query.volume) {
        ctx.addIssue({ code: 'custom', path: ['volume'], message: 'give database or volume, not both' });
      }
    }),
  ))();

/** `{database}`: an RDS snapshot; `{database, kind: postgres-dump}`: a dump; `{volume}`: an archive. */
export const takeBackupBody = /* @__PURE__ */ (() =>
  strict({
    database: z.optional(name('a database name').check(z.describe('The database to back up.'))),
    volume: z.optional(name('a volume name').check(z.describe('The volume to archive.'))),
    kind: z.optional(
      z
        .enum(['rds-snapshot', 'postgres-dump'], { error: 'expected rds-snapshot or postgres-dump' })
        .check(z.describe('For a database: an RDS snapshot (the default) or a logical dump.')),
    ),
  }).check(
    exactlyOneOf('database', 'volume'),
    z.superRefine((body, ctx) => {
      if (body.volume !== undefined && body.kind !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['kind'], message: 'applies to a database only; a volume is archived' });
      }
    }),
    z.meta({
      description: 'A snapshot `{database}`, a dump `{database, kind: postgres-dump}` or an archive `{volume}`, now.',
      // The checks above, as JSON Schema: a database or a volume, and kind only with a database.
      oneOf: [{ required: ['database'] }, { required: ['volume'] }],
      dependentRequired: { kind: ['database'] },
      examples: [{ database: 'shop-db' }, { volume: 'shop-uploads' }],
    }),
  ))();

const backupId = /* @__PURE__ */ (() =>
  z.string().check(z.regex(BACKUP_ID, 'expected a backup id such as bkp-3f2a…')))();

export const backupPath = /* @__PURE__ */ (() => z.object({ id: backupId.check(z.describe('A backup id.')) }))();
/** A database's or a volume's restores, newest first; drills alone with drill=true (the backups page's last drill). */
export const listRestoresQuery = /* @__PURE__ */ (() =>
  strict({
    database: z.optional(
      name('a database name').check(z.describe("A database's restores (config/<stage>.yml names it).")),
    ),
    volume: z.optional(name('a volume name').check(z.describe("A volume's restores (config/<stage>.yml names it)."))),
    drill: z.optional(
      z
        .enum(['true', 'false'], { error: 'expected true or false' })
        .check(z.describe('true: restore drills only; false: restores asked for only.')),
    ),
    limit: z
      ._default(
        z.coerce.number({ error: 'expected an integer from 1 to 50' }).check(z.int(), z.minimum(1), z.maximum(50)),
        20,
      )
      .check(z.describe('Restores per page.')),
    cursor: z.optional(cursorParameter),
  }).check(exactlyOneOf('database', 'volume')))();

export const restorePath = /* @__PURE__ */ (() =>
  z.object({
    id: z
      .string()
      .check(
        z.regex(RESTORE_ID, 'expected a restore id such as rst-3f2a…'),
        z.describe('A restore id, as the answer to its request gave it.'),
      ),
  }))();

// RDS identifier rules: a letter first, letters, digits and single hyphens, no trailing hyphen, at most 63.
const rdsIdentifier = /* @__PURE__ */ (() =>
  z
    .string({ error: 'is required: expected a new RDS identifier' })
    .check(
      z.regex(
        /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,61}[a-zA-Z0-9]$/,
        'expected an RDS identifier: a letter first, then letters, digits and single hyphens, at most 63, not ending with a hyphen',
      ),
    ))();

const rdsRestoreBody = /* @__PURE__ */ (() =>
  strict({
    kind: z.optional(z.literal('rds').check(z.describe('An RDS restore (the default when kind is left out).'))),
    database: name('a database name').check(z.describe('The database whose snapshot or history is restored.')),
    backupId: z.optional(backupPath.shape.id.check(z.describe('The snapshot to restore; or give pointInTime.'))),
    pointInTime: z.optional(
      z
        .union([z.literal('latest'), isoTime])
        .check(z.describe('latest, or an ISO 8601 time to restore to; or give backupId.')),
    ),
    targetIdentifier: rdsIdentifier.check(
      z.describe('A new RDS identifier to restore into, named <source identifier>-restore-…; never an existing one.'),
    ),
    account: z.optional(
      z.string({ error: `expected an account name under accounts, or ${CONTROL_PLANE_ACCOUNT}` }).check(
        z.refine((value) => value === CONTROL_PLANE_ACCOUNT || NAME_PATTERN.test(value), {
          message: `expected an account name under accounts (lowercase letters, digits and dashes, starting with a letter), or ${CONTROL_PLANE_ACCOUNT} for the control plane's own account`,
        }),
        z.describe(
          `Only with the backupId of a vault copy: the account to restore into, a name under accounts or ${CONTROL_PLANE_ACCOUNT} (the control plane's own account, which no name under accounts can be); absent: the vault (backups.vaultAccount). Another account than the vault, the control plane's included, gets the copy shared (and its key's use granted to the role that restores there) for the restore.`,
        ),
      ),
    ),
    region: z.optional(
      z
        .string()
        .check(
          z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1'),
          z.describe(
            "Only with the backupId of a vault copy: the region to restore into, which must be the copy's (a snapshot is restored in its own region).",
          ),
        ),
    ),
    overrides: z.optional(
      strict({
        instanceClass: z.optional(
          z.string().check(z.regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'expected an instance class such as db.t4g.medium')),
        ),
        multiAZ: z.optional(z.boolean({ error: 'expected true or false' })),
        storageType: z.optional(
          z.enum(['gp2', 'gp3', 'io1', 'io2', 'standard'], { error: 'expected gp2, gp3, io1, io2 or standard' }),
        ),
        dbSubnetGroupName: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
        vpcSecurityGroupIds: z.optional(
          z
            .array(z.string().check(z.regex(/^sg-[0-9a-f]{8,17}$/, 'expected a security group id')))
            .check(z.minLength(1)),
        ),
        dbParameterGroupName: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
        publiclyAccessible: z.optional(z.boolean({ error: 'expected true or false' })),
      }).check(z.describe("What differs from the source's settings, which are copied otherwise.")),
    ),
  }).check(
    exactlyOneOf('backupId', 'pointInTime'),
    z.meta({
      title: 'RDS restore',
      // The check above, as JSON Schema: exactly one of backupId or pointInTime.
      oneOf: [{ required: ['backupId'] }, { required: ['pointInTime'] }],
    }),
  ))();

// Letters, digits, dots, dashes and underscores per segment; never `.` or `..`, never absolute.
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,255}$/;
const volumePath = /* @__PURE__ */ (() =>
  z.string({ error: 'expected a directory inside the volume such as restored/2026-11-23' }).check(
    z.maxLength(1_024),
    z.refine((path) => path.split('/').every((segment) => SEGMENT.test(segment)), {
      message:
        'expected a relative directory inside the volume (segments of letters, digits, ".", "-" and "_"; no "..", no leading "/")',
    }),
  ))();

const volumeRestoreBody = /* @__PURE__ */ (() =>
  strict({
    kind: z.literal('volume'),
    volume: name('a volume name').check(z.describe('The volume whose archive is restored, into itself.')),
    backupId: z.optional(
      backupPath.shape.id.check(z.describe('The archive to restore; the newest available when left out.')),
    ),
    targetPath: z.optional(
      volumePath.check(z.describe('A relative directory inside the volume; restored-<time> when left out.')),
    ),
    force: z
      ._default(z.boolean({ error: 'expected true or false' }), false)
      .check(z.describe('Restore into a directory that holds files.')),
  }).check(z.meta({ title: 'Volume restore' })))();

// PostgreSQL identifiers as pg_restore's target: unquoted-safe, at most 63 bytes.
const pgDatabase = /* @__PURE__ */ (() =>
  z
    .string({ error: 'is required: expected a database name' })
    .check(
      z.regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a database name: lowercase letters, digits and _, at most 63'),
    ))();

const dumpRestoreBody = /* @__PURE__ */ (() =>
  strict({
    kind: z.literal('postgres-dump'),
    database: name('a database name').check(z.describe('The database whose dump is restored.')),
    backupId: z.optional(
      backupPath.shape.id.check(z.describe('The dump to restore; the newest available when left out.')),
    ),
    targetDatabase: pgDatabase.check(z.describe('A database on the same server, not the source, that holds nothing.')),
    force: z
      ._default(z.boolean({ error: 'expected true or false' }), false)
      .check(z.describe('Restore into the source database, or one that holds tables.')),
  }).check(z.meta({ title: 'PostgreSQL dump restore' })))();

/** Without `kind`, a restore is of RDS (as before kinds existed). */
export const createRestoreBody = /* @__PURE__ */ (() =>
  z
    .pipe(
      z.transform((body: unknown) =>
        body !== null && typeof body === 'object' && !Array.isArray(body) && !('kind' in body)
          ? { ...body, kind: 'rds' }
          : body,
      ),
      z.discriminatedUnion('kind', [rdsRestoreBody, volumeRestoreBody, dumpRestoreBody], {
        error: (issue) =>
          issue.code === 'invalid_union' ? 'expected kind rds, volume or postgres-dump' : 'expected a JSON object',
      }),
    )
    .check(
      z.meta({
        description: 'A restore of an RDS snapshot or point in time, a volume archive, or a PostgreSQL dump.',
        examples: [
          { database: 'shop-db', pointInTime: 'latest', targetIdentifier: 'shop-prod-db-restore-1' },
          { kind: 'volume', volume: 'shop-uploads', targetPath: 'restored/2026-11-23' },
        ],
      }),
    ))();
