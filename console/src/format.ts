/** How images, digests and sizes are written on the console's pages. */

/** An image reference's tag: `registry:5000/shop:1.4.2@sha256:…` → `1.4.2`; none → undefined. */
export function imageTag(image: string): string | undefined {
  const name = image.split('@')[0] ?? '';
  const last = name.slice(name.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon >= 0 ? last.slice(colon + 1) : undefined;
}

/** `sha256:3f2a1c9d0b4e…` → `sha256:3f2a1c9d0b4e`: the first 12 hex digits, as docker prints image ids. */
export function shortDigest(digest: string | undefined): string | undefined {
  if (!digest) return undefined;
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

/** The digest an image reference pins, if any. */
export function imageDigest(image: string): string | undefined {
  const at = image.indexOf('@');
  return at >= 0 ? image.slice(at + 1) : undefined;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}
