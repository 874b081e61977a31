import { defineCommand } from './command.ts';

export default defineCommand({
  name: 'createtoken',
  description: 'Create an API token for a user and print it once (only its hash is stored)',
  configure: (cmd) =>
    cmd.argument('<name>', 'the user the token acts as').option('--label <label>', 'what the token is for (shown in listings)', ''),
  async run([name], opts) {
    const { withAccountsDb } = await import('./accounts-data.ts');
    const { createToken } = await import('../modules/accounts/service.ts');
    const { token } = await withAccountsDb('createtoken', (db) => createToken(db, name!, String(opts.label ?? '')));
    // The token alone on stdout, so `TOKEN=$(conveyor createtoken bob)` works; the advice on stderr.
    process.stdout.write(`${token}\n`);
    process.stderr.write(`Store it now: it is not shown again. Revoke it with: conveyor revoketoken ${token.slice(0, 12)}\n`);
  },
});
