ALTER TABLE "app"."task_workers" ADD COLUMN "celery_freq" real;--> statement-breakpoint
ALTER TABLE "app"."task_workers" ADD COLUMN "celery_loadavg" jsonb;--> statement-breakpoint
ALTER TABLE "app"."task_workers" ADD COLUMN "celery_offline" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "app"."tasks" ADD COLUMN "celery_source" text;--> statement-breakpoint
ALTER TABLE "app"."tasks" ADD COLUMN "celery_worker" text;--> statement-breakpoint
CREATE INDEX "tasks_celery_unfinished_idx" ON "app"."tasks" USING btree ("seq") WHERE "app"."tasks"."celery_source" = 'outbound' and "app"."tasks"."state" in ('PENDING', 'STARTED', 'RETRY');