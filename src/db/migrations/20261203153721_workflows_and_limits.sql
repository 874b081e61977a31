CREATE TABLE "app"."task_leases" (
	"key" text NOT NULL,
	"task_id" uuid NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "task_leases_key_task_id_pk" PRIMARY KEY("key","task_id")
);
--> statement-breakpoint
CREATE TABLE "app"."task_rates" (
	"key" text PRIMARY KEY NOT NULL,
	"next_at" timestamp (6) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app"."workflows" (
	"id" uuid PRIMARY KEY NOT NULL,
	"canvas" jsonb NOT NULL,
	"output" jsonb NOT NULL,
	"created_by" bigint,
	"request_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "app"."tasks" ADD COLUMN "workflow_id" uuid;--> statement-breakpoint
ALTER TABLE "app"."tasks" ADD COLUMN "deps" uuid[];--> statement-breakpoint
ALTER TABLE "app"."tasks" ADD COLUMN "remaining" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "app"."tasks" ADD COLUMN "previous" jsonb;--> statement-breakpoint
ALTER TABLE "app"."tasks" ADD COLUMN "unique_key" text;--> statement-breakpoint
ALTER TABLE "app"."tasks" ADD COLUMN "waiting" text;--> statement-breakpoint
CREATE INDEX "tasks_workflow_idx" ON "app"."tasks" USING btree ("workflow_id") WHERE "app"."tasks"."workflow_id" is not null;--> statement-breakpoint
CREATE INDEX "tasks_unique_idx" ON "app"."tasks" USING btree ("name","unique_key","seq") WHERE "app"."tasks"."unique_key" is not null;