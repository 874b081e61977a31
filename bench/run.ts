/**
 * `npm run bench [-- http|embedded|list|flow|tasks|celery]`: every figure is printed beside a baseline measured
 * in the same sitting (these machines are noisy; absolute numbers mean little).
 */
import { runCeleryBench } from './celery.ts';
import { runEmbeddedBench } from './embedded.ts';
import { runFlowBench } from './flow.ts';
import { runHttpBench } from './http.ts';
import { runListBench } from './list.ts';

const only = process.argv[2];
if (!only || only === 'http') await runHttpBench();
if (!only || only === 'embedded') await runEmbeddedBench();
if (!only || only === 'list') await runListBench();
if (!only || only === 'flow') await runFlowBench();
if (!only || only === 'celery') await runCeleryBench();
if (!only || only === 'tasks') {
  const path = './tasks.ts'; // written alongside the task engine
  const tasks = (await import(path).catch(() => null)) as { runTaskBench(): Promise<void> } | null;
  if (tasks) await tasks.runTaskBench();
  else console.log('\n(task benchmark not available)');
}
