#!/usr/bin/env node
/**
 * `conveyor <verb>` (src/commands/program.ts). This file only turns on Node's on-disk compile
 * cache first, so that every later start skips compiling (and type-stripping) the ~1,300
 * modules a `serve` loads: measured, importing the HTTP stack went from 2.6 s to 1.6 s.
 */
import module from 'node:module';

module.enableCompileCache?.();
await import('./commands/program.ts');
