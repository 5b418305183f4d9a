/**
 * backups.vaultKmsKey as plain data, with no zod (usable at runtime): one key ARN or a list of them, at most one
 * per region, since a KMS key works only in its own region and a vault copy is made in its snapshot's region.
 */

/** The region a KMS key ARN names (arn:aws:kms:<region>:<account>:key/<id>). */
export const keyRegion = (keyArn: string): string => keyArn.split(':')[3] ?? '';

/** The vault's keys, as a list whichever form config gives them in. */
export function vaultKeyList(vaultKmsKey: string | string[] | undefined): string[] {
  if (vaultKmsKey === undefined) return [];
  return typeof vaultKmsKey === 'string' ? [vaultKmsKey] : vaultKmsKey;
}

/** The vault's key in `region`; undefined when it has none there. */
export function vaultKeyIn(keys: readonly string[], region: string): string | undefined {
  return keys.find((key) => keyRegion(key) === region);
}
