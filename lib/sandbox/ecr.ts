import { createHash } from 'node:crypto';
import * as sdk from '@aws-sdk/client-ecr';
import { BEHAVIOUR_LABEL, behaviourOf, behaviourOfTag, scanCountsOf } from './behaviour';
import { ecrImagePushed, ecrImageScanned } from './events';
import { arnOf, envelopeOf, type Sim } from './sim';
import type { ImageRecord, Millis, RepositoryRecord, SandboxState } from './state';
import { AwsFault, type Json, type Served } from './wire';

/**
 * Amazon ECR as Slipway reads it: repositories, images (the digest is the SHA-256 of the manifest's
 * bytes), their tags, and basic scanning on push. Answers follow the ECR API Reference of each
 * operation; pushes and completed scans are sent as the events of the ECR User Guide, "Amazon ECR
 * events and EventBridge".
 */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?:@(sha256:[0-9a-f]{64})|:([^@]+))?$/;

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function repositoryNotFound(name: unknown, registryId: string) {
  return new AwsFault(
    'RepositoryNotFoundException',
    `The repository with name '${String(name)}' does not exist in the registry with id '${registryId}'`,
  );
}

const imageIdText = (id: Json) =>
  `{imageDigest:'${String(id.imageDigest ?? 'null')}', imageTag:'${String(id.imageTag ?? 'null')}'}`;

function repository(sim: Sim, input: Json): RepositoryRecord {
  const registryId = typeof input.registryId === 'string' ? input.registryId : sim.state.account;
  const found = sim.state.ecr.repositories.find(
    (each) => each.region === sim.region && each.registryId === registryId && each.name === input.repositoryName,
  );
  if (!found) throw repositoryNotFound(input.repositoryName, registryId);
  return found;
}

function findImage(repo: RepositoryRecord, id: Json): ImageRecord | undefined {
  const byTag =
    typeof id.imageTag === 'string'
      ? repo.images.find((image) => image.tags.includes(id.imageTag as string))
      : undefined;
  if (typeof id.imageDigest === 'string') {
    const byDigest = repo.images.find((image) => image.digest === id.imageDigest);
    return byTag && byTag !== byDigest ? undefined : byDigest;
  }
  return byTag;
}

/** The image an ECR image reference (`…/repo@sha256:…` or `…/repo:tag`) names, if the sandbox has it. */
export function imageOfReference(state: SandboxState, reference: string): ImageRecord | undefined {
  const match = ECR_IMAGE.exec(reference);
  if (!match) return undefined;
  const [, registryId, region, name, digest, tag] = match;
  const repo = state.ecr.repositories.find(
    (each) => each.region === region && each.registryId === registryId && each.name === name,
  );
  if (!repo) return undefined;
  return findImage(repo, digest ? { imageDigest: digest } : { imageTag: tag ?? 'latest' });
}

export const repositoryUri = (repo: RepositoryRecord) =>
  `${repo.registryId}.dkr.ecr.${repo.region}.amazonaws.com/${repo.name}`;

const repositoryArn = (sim: Pick<Sim, 'state'>, repo: RepositoryRecord) =>
  arnOf({ state: sim.state, region: repo.region }, 'ecr', `repository/${repo.name}`);

function manifestFacts(manifest: string, mediaType: string | undefined) {
  let parsed: Json;
  try {
    parsed = JSON.parse(manifest) as Json;
  } catch {
    throw new AwsFault(
      'InvalidParameterException',
      "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
    );
  }
  const type = mediaType ?? (typeof parsed.mediaType === 'string' ? parsed.mediaType : OCI_MANIFEST);
  const config = parsed.config as Json | undefined;
  const layers = (parsed.layers as Json[] | undefined) ?? [];
  const size = layers.reduce((sum, layer) => sum + Number(layer.size ?? 0), Number(config?.size ?? 0));
  return {
    manifestMediaType: type,
    ...(typeof config?.mediaType === 'string' ? { artifactMediaType: config.mediaType } : {}),
    sizeInBytes: size,
  };
}

/** Stores a manifest under a tag, moving the tag from any other image; sends the push event and starts the scan. */
function putImage(
  sim: Sim,
  repo: RepositoryRecord,
  manifest: string,
  options: { tag?: string; digest?: string; mediaType?: string; labels?: Record<string, string> },
): { image: ImageRecord; created: boolean } {
  const digest = sha256(manifest);
  if (options.digest !== undefined && options.digest !== digest) {
    throw new AwsFault(
      'ImageDigestDoesNotMatchException',
      `Provided digest ${options.digest} does not match the calculated digest ${digest}`,
    );
  }
  const facts = manifestFacts(manifest, options.mediaType);
  let image = repo.images.find((each) => each.digest === digest);
  const tag = options.tag;
  if (image && tag !== undefined && image.tags.includes(tag)) {
    throw new AwsFault(
      'ImageAlreadyExistsException',
      `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${repo.name}' in registry with id '${repo.registryId}'`,
    );
  }
  if (tag !== undefined) {
    const holder = repo.images.find((each) => each !== image && each.tags.includes(tag));
    if (holder && repo.tagMutability === 'IMMUTABLE') {
      throw new AwsFault(
        'ImageTagAlreadyExistsException',
        `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the repository is immutable.`,
      );
    }
    if (holder) holder.tags = holder.tags.filter((each) => each !== tag);
  }
  const created = image === undefined;
  if (!image) {
    const behaviour = tag !== undefined ? behaviourOfTag(tag) : 'healthy';
    image = {
      digest,
      tags: [],
      manifest,
      ...facts,
      pushedAt: sim.now,
      labels: options.labels ?? (behaviour === 'healthy' ? {} : { [BEHAVIOUR_LABEL]: behaviour }),
    };
    repo.images.push(image);
  }
  if (tag !== undefined) image.tags.push(tag);
  if (tag !== undefined) {
    sim.emit(ecrImagePushed(envelopeOf(sim, sim.now, repo.region), { repositoryName: repo.name, digest, tag }));
  }
  if (created && repo.scanOnPush) {
    image.scan = { status: 'IN_PROGRESS', startedAt: sim.now, counts: {} };
  }
  return { image, created };
}

/** An image as `docker push` of `tag` would leave it: a one-layer OCI manifest whose config carries its labels. */
export function pushTag(sim: Sim, repo: RepositoryRecord, tag: string): ImageRecord {
  const behaviour = behaviourOfTag(tag);
  const labels: Record<string, string> = behaviour === 'healthy' ? {} : { [BEHAVIOUR_LABEL]: behaviour };
  const config = JSON.stringify({
    architecture: 'arm64',
    os: 'linux',
    config: { Labels: { ...labels, 'org.opencontainers.image.version': tag } },
  });
  const layer = `sandbox layer of ${repo.name}:${tag} at ${sim.now}`;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: sha256(config), size: Buffer.byteLength(config) },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: 31_457_280 }],
  });
  return putImage(sim, repo, manifest, { tag, mediaType: OCI_MANIFEST, labels }).image;
}

/** Basic scans complete `scanMs` after the push, with the counts the image's behaviour gives. */
export function advanceEcr(sim: Sim): void {
  for (const repo of sim.state.ecr.repositories) {
    for (const image of repo.images) {
      const scan = image.scan;
      if (scan?.status !== 'IN_PROGRESS' || scan.startedAt + sim.timings.scanMs > sim.now) continue;
      image.scan = {
        ...scan,
        status: 'COMPLETE',
        completedAt: sim.now,
        counts: scanCountsOf(behaviourOf(image.labels)),
      };
      sim.emit(
        ecrImageScanned(envelopeOf(sim, sim.now, repo.region), {
          repositoryArn: repositoryArn(sim, repo),
          repositoryName: repo.name,
          digest: image.digest,
          tags: image.tags,
          counts: image.scan.counts,
        }),
      );
    }
  }
}

export function nextEcrChange(sim: Sim): Millis | undefined {
  const times = sim.state.ecr.repositories.flatMap((repo) =>
    repo.images.flatMap((image) =>
      image.scan?.status === 'IN_PROGRESS' ? [image.scan.startedAt + sim.timings.scanMs] : [],
    ),
  );
  return times.length > 0 ? Math.min(...times) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function scanStatus(image: ImageRecord) {
  if (!image.scan) return {};
  return {
    imageScanStatus:
      image.scan.status === 'COMPLETE'
        ? { status: 'COMPLETE', description: 'The scan was completed successfully.' }
        : { status: 'IN_PROGRESS', description: 'The scan is in progress.' },
  };
}

function findingsSummary(image: ImageRecord) {
  const scan = image.scan;
  if (scan?.status !== 'COMPLETE' || scan.completedAt === undefined) return {};
  return {
    imageScanFindingsSummary: {
      imageScanCompletedAt: new Date(scan.completedAt),
      vulnerabilitySourceUpdatedAt: new Date(scan.startedAt),
      findingSeverityCounts: scan.counts,
    },
  };
}

function imageDetail(repo: RepositoryRecord, image: ImageRecord): Json {
  return {
    registryId: repo.registryId,
    repositoryName: repo.name,
    imageDigest: image.digest,
    ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
    imageSizeInBytes: image.sizeInBytes,
    imagePushedAt: new Date(image.pushedAt),
    ...scanStatus(image),
    ...findingsSummary(image),
    imageManifestMediaType: image.manifestMediaType,
    ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
  };
}

function renderRepository(sim: Sim, repo: RepositoryRecord): Json {
  return {
    repositoryArn: repositoryArn(sim, repo),
    registryId: repo.registryId,
    repositoryName: repo.name,
    repositoryUri: repositoryUri(repo),
    createdAt: new Date(repo.createdAt),
    imageTagMutability: repo.tagMutability,
    imageScanningConfiguration: { scanOnPush: repo.scanOnPush },
    encryptionConfiguration: { encryptionType: 'AES256' },
  };
}

/** Findings as basic scanning lists them (ECR API Reference, ImageScanFinding). */
function findings(counts: Record<string, number>): Json[] {
  return Object.entries(counts).flatMap(([severity, count]) =>
    Array.from({ length: count }, (_, index) => ({
      name: `CVE-2026-${severity === 'CRITICAL' ? 1000 : 2000}${index}`,
      description: `A ${severity.toLowerCase()} vulnerability the sandbox reports for images tagged -vulnerable.`,
      uri: `https://security-tracker.debian.org/tracker/CVE-2026-${severity === 'CRITICAL' ? 1000 : 2000}${index}`,
      severity,
      attributes: [
        { key: 'package_name', value: 'openssl' },
        { key: 'package_version', value: '3.0.11-1' },
      ],
    })),
  );
}

function describeImages(sim: Sim, input: Json): Json {
  const repo = repository(sim, input);
  const ids = input.imageIds as Json[] | undefined;
  if (ids && ids.length > 0) {
    if (ids.length > 100) throw new AwsFault('InvalidParameterException', 'imageIds: at most 100');
    const images = ids.map((id) => {
      const found = findImage(repo, id);
      if (!found) {
        throw new AwsFault(
          'ImageNotFoundException',
          `The image with imageId ${imageIdText(id)} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
        );
      }
      return found;
    });
    return { imageDetails: [...new Set(images)].map((image) => imageDetail(repo, image)) };
  }
  const tagStatus = (input.filter as Json | undefined)?.tagStatus ?? 'ANY';
  const all = repo.images.filter(
    (image) => tagStatus === 'ANY' || (tagStatus === 'TAGGED' ? image.tags.length > 0 : image.tags.length === 0),
  );
  const size = Math.min(1000, Math.max(1, Number(input.maxResults ?? 100)));
  const start = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64url').toString('utf8')) : 0;
  const page = all.slice(start, start + size);
  const next = start + size < all.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
  return { imageDetails: page.map((image) => imageDetail(repo, image)), ...(next ? { nextToken: next } : {}) };
}

function batchGetImage(sim: Sim, input: Json): Json {
  const repo = repository(sim, input);
  const images: Json[] = [];
  const failures: Json[] = [];
  for (const id of (input.imageIds as Json[] | undefined) ?? []) {
    const found = findImage(repo, id);
    if (!found) {
      failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
      continue;
    }
    images.push({
      registryId: repo.registryId,
      repositoryName: repo.name,
      imageId: { imageDigest: found.digest, ...(typeof id.imageTag === 'string' ? { imageTag: id.imageTag } : {}) },
      imageManifest: found.manifest,
      imageManifestMediaType: found.manifestMediaType,
    });
  }
  return { images, failures };
}

function describeImageScanFindings(sim: Sim, input: Json): Json {
  const repo = repository(sim, input);
  const id = (input.imageId as Json | undefined) ?? {};
  const image = findImage(repo, id);
  if (!image) {
    throw new AwsFault(
      'ImageNotFoundException',
      `The image with imageId ${imageIdText(id)} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
    );
  }
  if (!image.scan) {
    throw new AwsFault(
      'ScanNotFoundException',
      `Image scan does not exist for the image with '${imageIdText(id)}' in the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
    );
  }
  const complete = image.scan.status === 'COMPLETE' && image.scan.completedAt !== undefined;
  return {
    registryId: repo.registryId,
    repositoryName: repo.name,
    imageId: { imageDigest: image.digest, ...(typeof id.imageTag === 'string' ? { imageTag: id.imageTag } : {}) },
    ...scanStatus(image),
    ...(complete
      ? {
          imageScanFindings: {
            imageScanCompletedAt: new Date(image.scan.completedAt as number),
            vulnerabilitySourceUpdatedAt: new Date(image.scan.startedAt),
            findingSeverityCounts: image.scan.counts,
            findings: findings(image.scan.counts),
          },
        }
      : {}),
  };
}

export const ECR_TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';

export function createRepository(
  sim: Sim,
  input: { name: string; scanOnPush: boolean; tagMutability?: 'MUTABLE' | 'IMMUTABLE'; registryId?: string },
): RepositoryRecord {
  const registryId = input.registryId ?? sim.state.account;
  if (
    sim.state.ecr.repositories.some(
      (each) => each.region === sim.region && each.registryId === registryId && each.name === input.name,
    )
  ) {
    throw new AwsFault(
      'RepositoryAlreadyExistsException',
      `The repository with name '${input.name}' already exists in the registry with id '${registryId}'`,
    );
  }
  const repo: RepositoryRecord = {
    region: sim.region,
    registryId,
    name: input.name,
    createdAt: sim.now,
    scanOnPush: input.scanOnPush,
    tagMutability: input.tagMutability ?? 'MUTABLE',
    images: [],
  };
  sim.state.ecr.repositories.push(repo);
  return repo;
}

/** Every ECR operation Slipway calls, and what a push needs (CreateRepository, PutImage). */
export const ecrOperations: Record<string, Served<Sim>> = {
  CreateRepository: {
    schema: sdk.CreateRepository$,
    handle: (input, sim) => {
      if (typeof input.repositoryName !== 'string' || !/^[a-z0-9][a-z0-9._/-]{1,255}$/.test(input.repositoryName)) {
        throw new AwsFault('InvalidParameterException', "Invalid parameter at 'repositoryName'");
      }
      const scanning = input.imageScanningConfiguration as Json | undefined;
      const repo = createRepository(sim, {
        name: input.repositoryName,
        scanOnPush: scanning?.scanOnPush === true,
        ...(input.imageTagMutability === 'IMMUTABLE' ? { tagMutability: 'IMMUTABLE' as const } : {}),
      });
      return { repository: renderRepository(sim, repo) };
    },
  },
  PutImage: {
    schema: sdk.PutImage$,
    handle: (input, sim) => {
      const repo = repository(sim, input);
      if (typeof input.imageManifest !== 'string')
        throw new AwsFault('InvalidParameterException', 'imageManifest is required');
      const { image } = putImage(sim, repo, input.imageManifest, {
        ...(typeof input.imageTag === 'string' ? { tag: input.imageTag } : {}),
        ...(typeof input.imageDigest === 'string' ? { digest: input.imageDigest } : {}),
        ...(typeof input.imageManifestMediaType === 'string' ? { mediaType: input.imageManifestMediaType } : {}),
      });
      return {
        image: {
          registryId: repo.registryId,
          repositoryName: repo.name,
          imageId: {
            imageDigest: image.digest,
            ...(typeof input.imageTag === 'string' ? { imageTag: input.imageTag } : {}),
          },
          imageManifest: image.manifest,
          imageManifestMediaType: image.manifestMediaType,
        },
      };
    },
  },
  DescribeImages: { schema: sdk.DescribeImages$, handle: (input, sim) => describeImages(sim, input) },
  BatchGetImage: { schema: sdk.BatchGetImage$, handle: (input, sim) => batchGetImage(sim, input) },
  DescribeImageScanFindings: {
    schema: sdk.DescribeImageScanFindings$,
    handle: (input, sim) => describeImageScanFindings(sim, input),
  },
};
