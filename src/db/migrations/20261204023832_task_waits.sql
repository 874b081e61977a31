CREATE TABLE "app"."task_waits" (
	"upstream" uuid NOT NULL,
	"step" uuid NOT NULL,
	CONSTRAINT "task_waits_upstream_step_pk" PRIMARY KEY("upstream","step")
);
--> statement-breakpoint
CREATE INDEX "task_waits_step_idx" ON "app"."task_waits" USING btree ("step");--> statement-breakpoint
-- The steps already waiting when this migration runs keep counting down.
INSERT INTO "app"."task_waits" ("upstream", "step")
  SELECT DISTINCT unnest("deps"), "id" FROM "app"."tasks" WHERE "state" = 'PENDING' AND "remaining" > 0 AND cardinality("deps") > 0
  ON CONFLICT DO NOTHING;
