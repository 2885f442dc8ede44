// `npm run lab` / `npm run lab:restart` / `npm run lab:down`: the namespace
// lab with Junction in its router namespace. A development tool: it is not
// part of the shipped tree.
import { parseArgs } from 'node:util';
import { labUp, labDown, labRestart } from './command.js';

const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: { prefix: { type: 'string' } } });
const actions = { up: labUp, restart: labRestart, down: labDown } as const;
const action = positionals[0] ?? '';
const run = Object.hasOwn(actions, action) ? actions[action as keyof typeof actions] : undefined;
if (!run) {
  process.stderr.write('usage: lab up|restart|down [--prefix P]\n');
  process.exit(2);
}
run({ prefix: values.prefix }).catch((error: Error) => {
  process.stderr.write(`lab: ${error.message}\n`);
  process.exit(1);
});
