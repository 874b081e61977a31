import { CommandError, defineCommand } from './command.ts';

export default defineCommand({
  name: 'revoketoken',
  description: 'Revoke API tokens by the prefix createtoken printed (the first 12 characters, e.g. cvt_AbCdEfGh)',
  configure: (cmd) => cmd.argument('<prefix>', 'the token\'s first 12 characters (or the whole token)'),
  async run([prefix]) {
    const { withAccountsDb } = await import('./accounts-data.ts');
    const { revokeTokens, TOKEN_PREFIX } = await import('../modules/accounts/service.ts');
    const key = prefix!.slice(0, 12);
    if (!key.startsWith(TOKEN_PREFIX) || key.length !== 12) throw new CommandError(`expected a token prefix like ${TOKEN_PREFIX}AbCdEfGh`);
    const revoked = await withAccountsDb('revoketoken', (db) => revokeTokens(db, key));
    if (revoked === 0) throw new CommandError(`no live token starts with ${key}`);
    process.stdout.write(`revoked ${revoked} token${revoked === 1 ? '' : 's'}\n`);
  },
});
