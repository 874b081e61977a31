/** Prints README's configuration table from the config schema (the single source). */
import { EnvSchema } from '../src/config/index.ts';

console.log('| variable | default | meaning |\n|---|---|---|');
for (const [name, schema] of Object.entries(EnvSchema.properties)) {
  const s = schema as { default?: unknown; description?: string; anyOf?: { const?: unknown }[] };
  const choices = s.anyOf?.map((a) => a.const).filter((v) => v !== undefined);
  const fallback = s.default === undefined ? '—' : `\`${String(s.default)}\``;
  const meaning = [s.description, choices?.length ? `one of ${choices.join(', ')}` : ''].filter(Boolean).join('; ');
  console.log(`| \`${name}\` | ${fallback} | ${meaning} |`);
}
