-- The argument search (`q`) uses trigram indexes; pg_trgm is a trusted extension (PostgreSQL 13+).
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TABLE "app"."task_counters" (
	"worker_id" text NOT NULL,
	"name" text NOT NULL,
	"state" text NOT NULL,
	"count" bigint DEFAULT 0 NOT NULL,
	"runtime_ms_sum" bigint DEFAULT 0 NOT NULL,
	"runtime_hist" integer[] NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "task_counters_worker_id_name_state_pk" PRIMARY KEY("worker_id","name","state")
);
--> statement-breakpoint
CREATE TABLE "app"."tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "app"."tasks_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"queue" text NOT NULL,
	"state" text NOT NULL,
	"args" jsonb NOT NULL,
	"result" jsonb,
	"error" text,
	"traceback" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"retries" integer DEFAULT 0 NOT NULL,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_by" bigint,
	"request_id" text,
	"trace_id" text,
	"worker_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"run_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"dispatched" boolean DEFAULT false NOT NULL,
	CONSTRAINT "tasks_seq_key" UNIQUE("seq"),
	CONSTRAINT "tasks_state_check" CHECK ("app"."tasks"."state" in ('PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'))
);
--> statement-breakpoint
DROP TABLE "app"."task_revocations" CASCADE;--> statement-breakpoint
CREATE INDEX "tasks_state_seq_idx" ON "app"."tasks" USING btree ("state","seq");--> statement-breakpoint
CREATE INDEX "tasks_name_seq_idx" ON "app"."tasks" USING btree ("name","seq");--> statement-breakpoint
CREATE INDEX "tasks_created_by_seq_idx" ON "app"."tasks" USING btree ("created_by","seq");--> statement-breakpoint
CREATE INDEX "tasks_created_at_idx" ON "app"."tasks" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "tasks_expires_at_idx" ON "app"."tasks" USING btree ("expires_at") WHERE "app"."tasks"."expires_at" is not null;--> statement-breakpoint
CREATE INDEX "tasks_undispatched_idx" ON "app"."tasks" USING btree ("seq") WHERE not "app"."tasks"."dispatched" and "app"."tasks"."state" = 'PENDING';--> statement-breakpoint
CREATE INDEX "tasks_args_trgm_idx" ON "app"."tasks" USING gin (("args"::text) gin_trgm_ops);