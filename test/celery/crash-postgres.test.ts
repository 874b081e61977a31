/** Crashes of Celery-consuming workers, Conveyor's engine on BullMQ's PostgreSQL backend (the Celery broker is Redis db 5). */
process.env.CONVEYOR_TEST_BROKER = 'postgres';

import { crashSuite } from './crash-cases.ts';

crashSuite(5, 'postgres');
