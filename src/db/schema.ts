/** Every table of the application, for Drizzle's typed queries and for drizzle-kit. */
export { app } from './pg-schema.ts';
export * from '../modules/items/table.ts';
export * from '../modules/accounts/table.ts';
export * from '../tasks/table.ts';
