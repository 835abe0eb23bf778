import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readJsonFile, writeJsonFile } from '@agentsecrets/fs';
import { type ProjectLink, ProjectLinkSchema } from './model.js';

/** The link file's place inside a project directory. */
export const PROJECT_LINK_PATH = join('.agentsecrets', 'project.json');

/** Finds the nearest `.agentsecrets/project.json` from `cwd` upwards, like git finds `.git`. */
export async function findProjectLink(
  cwd: string,
): Promise<(ProjectLink & { readonly path: string }) | undefined> {
  let dir = cwd;
  for (;;) {
    const path = join(dir, PROJECT_LINK_PATH);
    const link = await readJsonFile(path, ProjectLinkSchema);
    if (link !== undefined) return { ...link, path };
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Writes the project link into `dir` (ids and names only: safe to commit). */
export async function writeProjectLink(dir: string, link: ProjectLink): Promise<string> {
  const path = join(dir, PROJECT_LINK_PATH);
  await mkdir(dirname(path), { recursive: true });
  await writeJsonFile(path, ProjectLinkSchema, link);
  return path;
}
