import { rename } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { Conflict, InvalidInput } from '../../errors';
import { type HeldDirectory, openInside, removeInside } from '../held-directory';

// The restore's target: where it lands, checked on the way in, and the staged tree moved into place

type TargetState = 'absent' | 'empty' | 'non-empty';

/** The API's name for the path under a volume, which a refusal of one of its components names. */
const TARGET_FIELD = 'targetPath';

/**
 * Where a restore lands: `name` inside the directory reached from `root` through `parents`. Under a
 * volume's root no component may be a symbolic link: a link planted in the volume could point into
 * another volume. Without a root the target is the caller's own path (the CLI's --dir, a drill's
 * scratch directory), whose parent is taken as it resolves.
 */
export interface TargetPlace {
  root: string;
  parents: string[];
  name: string;
  rooted: boolean;
  /** The target's path, for messages and the result. */
  shown: string;
}

export function targetPlace(target: string, root: string | undefined): TargetPlace {
  if (root === undefined)
    return { root: dirname(target), parents: [], name: basename(target), rooted: false, shown: target };
  const inside = relative(resolve(root), target);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new InvalidInput(`${TARGET_FIELD}: ${target} is not a directory inside the volume ${root}`);
  }
  const segments = inside.split(sep);
  return {
    root: resolve(root),
    parents: segments.slice(0, -1),
    name: segments.at(-1) as string,
    rooted: true,
    shown: target,
  };
}

function refuseComponent(place: TargetPlace) {
  return (component: string, found: 'symlink' | 'not-directory') =>
    place.rooted
      ? new InvalidInput(
          `${TARGET_FIELD}: component ${JSON.stringify(component)} is ${found === 'symlink' ? 'a symbolic link' : 'not a directory'}`,
          { details: [{ field: TARGET_FIELD, component, found }] },
        )
      : new InvalidInput(`target ${place.shown} exists and is not a directory`);
}

/** The directory the target is (to be) in, every component checked; undefined when it does not exist yet. */
export function openTargetParent(place: TargetPlace, create: boolean): Promise<HeldDirectory | undefined> {
  return openInside(place.root, place.parents, { create, refuse: refuseComponent(place) });
}

export async function inspectTarget(place: TargetPlace, parent: HeldDirectory): Promise<TargetState> {
  const found = await parent.entry(place.name);
  if (found.kind === 'absent') return 'absent';
  if (found.kind !== 'directory') throw refuseComponent(place)(place.name, found.kind);
  try {
    return (await found.dir.isEmpty()) ? 'empty' : 'non-empty';
  } finally {
    await found.dir.close();
  }
}

export const notEmpty = (place: TargetPlace) =>
  new Conflict(`target ${place.shown} is not empty; pass force to restore over existing files`);

/**
 * Renames the staged tree over the target, inside the parent the restore held open all along, once
 * the target's path is checked again: it must still lead, through no link, to that same parent, and
 * the staging directory must still be the one extracted into.
 */
export async function moveIntoPlace(
  place: TargetPlace,
  parent: HeldDirectory,
  staging: { name: string; dir: HeldDirectory },
  force: boolean,
): Promise<void> {
  const again = await openTargetParent(place, false);
  try {
    if (!again || !(await again.sameAs(parent))) {
      throw new Conflict(`target ${place.shown}: its path changed while the restore ran; nothing was replaced`);
    }
  } finally {
    await again?.close();
  }
  const staged = await parent.entry(staging.name);
  const unchanged = staged.kind === 'directory' && (await staged.dir.sameAs(staging.dir));
  if (staged.kind === 'directory') await staged.dir.close();
  if (!unchanged) {
    throw new Conflict(
      `the staging directory ${staging.name} was replaced while the restore ran; nothing was replaced`,
    );
  }

  const state = await inspectTarget(place, parent);
  const target = parent.child(place.name);
  const stagingPath = parent.child(staging.name);
  if (state === 'absent' || (state === 'empty' && !force)) {
    // rename(2) replaces an empty directory in one step.
    await rename(stagingPath, target);
    return;
  }
  if (!force) throw notEmpty(place);
  const aside = `${place.name}.slipway-old-${Date.now()}`;
  await rename(target, parent.child(aside));
  try {
    await rename(stagingPath, target);
  } catch (error) {
    await rename(parent.child(aside), target);
    throw error;
  }
  await removeInside(parent, aside);
}
