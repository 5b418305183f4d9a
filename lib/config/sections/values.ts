import * as z from 'zod';

/**
 * The values sections share. Every message reads "expected …, received …" so that a failing file
 * names the key path, what was wanted and what was found.
 */
export function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function expects(description: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined
        ? `is required: expected ${description}`
        : `expected ${description}, received ${describeInput(issue.input)}`,
  };
}

export const NAME_RULE = 'lowercase letters, digits and dashes, starting with a letter, at most 63 characters';
export const nameDescription = `a name of ${NAME_RULE}`;
export const article = (word: string) => (/^[aeiou]/i.test(word) ? 'an' : 'a');

export const secretReference = z
  .string(expects('a Secrets Manager secret name or ARN'))
  .regex(
    /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9/_+=.@-]{1,512})$/,
    expects('a Secrets Manager secret name or ARN'),
  )
  .describe('Name or ARN of a Secrets Manager secret (never the secret value itself)');

export const nonNegativeInt = (what = 'an integer >= 0') =>
  z.number(expects(what)).int(expects(what)).min(0, expects(what));
export const boundedInt = (min: number, max: number) => {
  const what = `an integer from ${min} to ${max}`;
  return z.number(expects(what)).int(expects(what)).min(min, expects(what)).max(max, expects(what));
};

const CRON_FIELDS = 6;
export const scheduleExpression = z
  .string(expects('a schedule expression such as cron(0 3 * * ? *) or rate(1 day)'))
  .refine((value) => {
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(value);
    if (rate) return Number(rate[1]) > 0 && (rate[1] === '1') === !rate[2]?.endsWith('s');
    const cron = /^cron\((.+)\)$/.exec(value);
    return Boolean(cron?.[1] && cron[1].trim().split(/\s+/).length === CRON_FIELDS);
  }, expects('a schedule expression such as cron(0 3 * * ? *) (six fields) or rate(1 day)'))
  .describe('EventBridge schedule expression: cron(min hour day-of-month month day-of-week year) or rate(N unit)');

export const roleArn = z
  .string(expects('an IAM role ARN'))
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, expects('an IAM role ARN'));
export const roleArns = z
  .array(roleArn, expects('a list of IAM role ARNs'))
  .min(1, expects('at least one IAM role ARN'));

// An alias in a policy's Resource grants nothing: IAM authorises a key's use against the key's own ARN.
const KMS_KEY_ARN =
  /^arn:aws[a-z-]*:kms:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
export const kmsKeyArn = z
  .string(expects('a KMS key ARN'))
  .regex(
    KMS_KEY_ARN,
    expects(
      'a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<key id> (not an alias: Slipway grants the use of a key by its ARN, and IAM does not match a key by an alias)',
    ),
  );

export const awsRegion = z
  .string(expects('an AWS region such as us-west-2'))
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, expects('an AWS region such as us-west-2'));

// Retention and restore drills: the same for databases, their dumps and volumes.
export const retention = z.strictObject(
  {
    daily: nonNegativeInt().default(7),
    weekly: nonNegativeInt().default(4),
    monthly: nonNegativeInt().default(0),
  },
  expects('a retention policy {daily, weekly, monthly}'),
);

export const archiveDrill = z
  .strictObject({ schedule: scheduleExpression }, expects('a restore drill {schedule}'))
  .optional()
  .describe('Restore the newest archive into scratch on a schedule, verify it and clean up, to prove it restores');
