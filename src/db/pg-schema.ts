import { pgSchema } from 'drizzle-orm/pg-core';

/** Every application table lives here; the task engine owns schema `bullmq`. */
export const app = pgSchema('app');
