/** Crashes of Celery-consuming workers, Conveyor's engine on Redis. Redis db 3. */
import { crashSuite } from './crash-cases.ts';

crashSuite(3, 'redis');
