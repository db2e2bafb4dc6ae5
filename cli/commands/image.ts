/** `images` and `image load|ls|rm`, through the agent. */
import { resolve } from 'node:path';

import type { Command } from 'commander';

import type { ComposeContext } from '../compose-context.js';
import { table } from '../format/ps.js';
import { formatSize } from '../format/size.js';

export function registerImage(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  const image = program.command('image').description('Manage images');
  image
    .command('load')
    .description('Load an image from a tar archive (docker save or OCI layout)')
    .requiredOption('-i, --input <file>', 'Read from tar archive file')
    .option('--repository <name>', 'Repository for images an OCI archive names only by a tag (ref.name "latest" loads as NAME:latest)')
    .action(async (flags: { input: string; repository?: string }, cmd: Command) => {
      const c = ctx(cmd);
      const names = await (await c.agent()).loadImage(resolve(flags.input), flags.repository === undefined ? {} : { repository: flags.repository });
      for (const n of names) c.stdout.write(`Loaded image: ${n}\n`);
      setExit(0);
    });
  const list = async (_f: object, cmd: Command) => {
    const c = ctx(cmd);
    const images = await (await c.agent()).listImages();
    const rows: string[][] = [];
    for (const i of images) {
      for (const t of i.repoTags.length === 0 ? ['<none>:<none>'] : i.repoTags) {
        const at = t.lastIndexOf(':');
        rows.push([t.slice(0, at), t.slice(at + 1), i.id.replace(/^sha256:/, '').slice(0, 12), formatSize(i.size)]);
      }
    }
    c.stdout.write(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], rows));
    setExit(0);
  };
  image.command('ls').description('List images').action(list);
  image
    .command('inspect')
    .description('Display detailed information on one or more images')
    .argument('<images...>')
    .action(async (refs: string[], _f: object, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      const out = [];
      for (const r of refs) out.push(await agent.inspectImage(r));
      c.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
      setExit(0);
    });
  image
    .command('tag')
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<source>')
    .argument('<target>')
    .action(async (source: string, target: string, _f: object, cmd: Command) => {
      await (await ctx(cmd).agent()).tagImage(source, target);
      setExit(0);
    });
  image
    .command('push')
    .description('Upload an image to a registry')
    .argument('<name>')
    .option('-q, --quiet', 'Suppress verbose output')
    .action(async (name: string, f: { quiet?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const r = await (await c.agent()).pushImage(name, (p) => {
        if (f.quiet !== true) c.stdout.write(`${p.layer.replace(/^sha256:/, '').slice(0, 12)}: ${p.status === 'exists' ? 'Layer already exists' : 'Pushed'}\n`);
      });
      c.stdout.write(f.quiet === true ? `${r.name}\n` : `${r.name.slice(r.name.lastIndexOf(':') + 1)}: digest: ${r.digest}\n`);
      setExit(0);
    });
  image
    .command('save')
    .description('Save one or more images to a tar archive')
    .argument('<images...>')
    .requiredOption('-o, --output <file>', 'Write to a file')
    .action(async (refs: string[], f: { output: string }, cmd: Command) => {
      const c = ctx(cmd);
      await (await c.agent()).saveImages(refs, resolve(f.output));
      setExit(0);
    });
  image
    .command('prune')
    .description('Remove unused image data')
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (_f: object, cmd: Command) => {
      const c = ctx(cmd);
      const r = await (await c.agent()).pruneImages();
      c.stdout.write(`Total reclaimed space: ${formatSize(r.reclaimedBytes)}\n`);
      setExit(0);
    });
  image
    .command('rm')
    .description('Remove one or more images')
    .argument('<images...>')
    .option('-f, --force', 'Force removal of the image')
    .action(async (refs: string[], flags: { force?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      for (const r of refs) {
        await agent.removeImage(r, { force: flags.force === true });
        c.stdout.write(`Untagged: ${r}\n`);
      }
      setExit(0);
    });
}
