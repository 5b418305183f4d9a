import * as z from 'zod';
import { boundedInt, expects } from './values';

/** worker: the Fargate task and the volume functions where archives and dumps run, in the VPC. */

const subnetId = z
  .string(expects('a subnet id such as subnet-0123456789abcdef0'))
  .regex(/^subnet-[0-9a-f]{8,17}$/, expects('a subnet id such as subnet-0123456789abcdef0'));
const securityGroupId = z
  .string(expects('a security group id such as sg-0123456789abcdef0'))
  .regex(/^sg-[0-9a-f]{8,17}$/, expects('a security group id such as sg-0123456789abcdef0'));
const imageReference = z
  .string(
    expects('an image with a tag or digest, such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0'),
  )
  .regex(
    /^([a-z0-9.-]+(:\d+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/,
    expects('an image with a tag or digest, such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0'),
  );
// Fargate's valid memory sizes (MiB) for each cpu (vCPU units), up to 4 vCPU.
const steps = (from: number, to: number) =>
  Array.from({ length: (to - from) / 1_024 + 1 }, (_, index) => from + index * 1_024);
const FARGATE_MEMORY: Record<number, number[]> = {
  256: [512, 1_024, 2_048],
  512: steps(1_024, 4_096),
  1024: steps(2_048, 8_192),
  2048: steps(4_096, 16_384),
  4096: steps(8_192, 30_720),
};

export const worker = z
  .strictObject(
    {
      image: imageReference.describe('The worker image built from the Dockerfile in this repository'),
      subnetIds: z
        .array(subnetId, expects('a list of subnet ids'))
        .min(1, expects('at least one subnet id'))
        .describe('Subnets the worker task and the volume functions run in: they must reach EFS, the databases and S3'),
      securityGroupIds: z
        .array(securityGroupId, expects('a list of security group ids'))
        .min(1, expects('at least one security group id'))
        .describe(
          'Security groups of the worker task and the volume functions: outbound to EFS (2049), the databases and HTTPS',
        ),
      assignPublicIp: z.boolean(expects('true or false')).default(false),
      cpu: z
        .union(
          [z.literal(256), z.literal(512), z.literal(1_024), z.literal(2_048), z.literal(4_096)],
          expects('256, 512, 1024, 2048 or 4096'),
        )
        .default(1_024),
      memory: z
        .number(expects('MiB of memory'))
        .int(expects('MiB of memory'))
        .default(2_048)
        .describe('MiB of memory of the worker task; Fargate allows sizes that depend on cpu'),
      ephemeralStorageGiB: boundedInt(21, 200)
        .default(21)
        .describe('Scratch disk of the worker task: a PostgreSQL restore downloads the dump there first'),
      timeoutMinutes: boundedInt(15, 1_440)
        .default(360)
        .describe('A worker job with no outcome after this long is recorded FAILED, and its task stopped'),
    },
    expects('a worker section {image, subnetIds, securityGroupIds, cpu?, memory?}'),
  )
  .superRefine((value, ctx) => {
    const allowed = FARGATE_MEMORY[value.cpu] ?? [];
    if (!allowed.includes(value.memory)) {
      const described =
        allowed.length <= 3 ? allowed.join(', ') : `${allowed[0]} to ${allowed.at(-1)} in steps of 1024`;
      ctx.addIssue({
        code: 'custom',
        path: ['memory'],
        message: `expected a Fargate memory size for cpu ${value.cpu} (${described} MiB), received ${value.memory}`,
      });
    }
  });
