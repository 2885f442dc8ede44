// `junction token create|list|revoke`: the token API for people. The list
// shows names, scopes, expiry and last use, never a secret or a hash; the
// secret of a new token is printed once, alone on stdout, so a script can
// capture it; what it is goes to stderr.
import { safeJson, visible } from './cli-output.js';

type Call = (method: string, path: string, body?: unknown) => Promise<unknown>;

interface ListedToken {
  id: string;
  name: string;
  scope: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  expired: boolean;
}

export interface TokenCommandOptions {
  scope?: string;
  expiresIn?: string;
  json?: boolean;
}

const list = async (call: Call) => ((await call('GET', '/v1/tokens')) as { items: ListedToken[] }).items;

export async function tokenCommand(call: Call, fail: (message: string) => never, args: string[], options: TokenCommandOptions): Promise<void> {
  const [action, name] = args;
  switch (action) {
    case 'create': {
      if (!name) fail('token create needs a NAME');
      const created = (await call('POST', '/v1/tokens', {
        name,
        ...(options.scope ? { scope: options.scope } : {}),
        ...(options.expiresIn ? { expires_in: options.expiresIn } : {}),
      })) as ListedToken & { token: string };
      if (options.json) return void process.stdout.write(`${safeJson(created)}\n`);
      process.stderr.write(`created token ${visible(created.name)} (scope ${visible(created.scope)}, ${created.expiresAt ? `expires ${visible(created.expiresAt)}` : 'does not expire'}); its secret is shown this once:\n`);
      process.stdout.write(`${created.token}\n`);
      return;
    }
    case 'list': {
      const tokens = await list(call);
      if (options.json) return void process.stdout.write(`${safeJson(tokens)}\n`);
      process.stdout.write(`${'NAME'.padEnd(20)} ${'SCOPE'.padEnd(8)} ${'EXPIRES'.padEnd(26)} ${'LAST USED'.padEnd(24)} ID\n`);
      for (const t of tokens) {
        const expires = t.expiresAt ? `${t.expiresAt}${t.expired ? ' (expired)' : ''}` : 'never';
        process.stdout.write(`${visible(t.name).padEnd(20)} ${visible(t.scope).padEnd(8)} ${visible(expires).padEnd(26)} ${visible(t.lastUsedAt ?? 'never').padEnd(24)} ${visible(t.id)}\n`);
      }
      return;
    }
    case 'revoke': {
      if (!name) fail('token revoke needs a NAME');
      const tokens = await list(call);
      const named = tokens.filter((t) => t.name === name);
      // Names are unique since tokens could expire; an older store may hold two of one name.
      if (named.length > 1) fail(`${named.length} tokens are named "${name}" (ids ${named.map((t) => t.id).join(', ')}); revoke one by its id`);
      const target = named[0] ?? tokens.find((t) => t.id === name);
      if (!target) fail(`no token named "${name}" (junction token list shows them)`);
      await call('DELETE', `/v1/tokens/${encodeURIComponent(target.id)}`);
      process.stdout.write(`revoked token ${visible(target.name)} (${visible(target.id)})\n`);
      return;
    }
    default:
      fail('usage: junction token create NAME [--scope read|operate|admin] [--expires-in 30d] | token list | token revoke NAME');
  }
}
