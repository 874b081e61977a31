/** Tasks every Conveyor process knows. */
import type { Config } from '../config/index.ts';
import { fetchDataTask } from '../modules/external/fetch-data.task.ts';
import type { AnyTask } from './define.ts';

export function builtinTasks(config: Config): AnyTask[] {
  return [fetchDataTask(config) as unknown as AnyTask];
}
