import { defineCommand } from './command.ts';

export default defineCommand({
  name: 'createuser',
  description: 'Create a user; the password comes from --password-stdin or a prompt, never from the command line',
  configure: (cmd) =>
    cmd
      .argument('<name>', 'username (letters, digits and @.+-_; unique, case-insensitive)')
      .option('--staff', 'allow the dashboard', false)
      .option('--password-stdin', 'read the password from standard input (e.g. from a secret store)', false),
  async run([name], opts) {
    const { readPasswordStdin, promptPassword } = await import('./password-input.ts');
    const { withAccountsDb } = await import('./accounts-data.ts');
    const { createUser } = await import('../modules/accounts/service.ts');
    const password = opts.passwordStdin ? await readPasswordStdin() : await promptPassword();
    const user = await withAccountsDb('createuser', (db) => createUser(db, { username: name!, password, isStaff: opts.staff === true }));
    process.stdout.write(`created ${user.isStaff ? 'staff ' : ''}user ${user.username} (id ${user.id})\n`);
  },
});
