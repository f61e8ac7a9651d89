"""Job and queue metrics; `ai_queue_depth` is what the platform scales workers on."""

from prometheus_client import Counter, Gauge, Histogram

QUEUE_DEPTH = Gauge(
    "ai_queue_depth",
    "Messages waiting in the job queue (not yet delivered), sampled by the worker.",
    ["backend", "queue"],
    multiprocess_mode="max",
)
JOBS = Counter(
    "ai_jobs_total", "Job attempts by outcome: succeeded, failed, retried, dead_letter, released.", ["kind", "outcome"]
)
JOB_DURATION = Histogram(
    "ai_job_duration_seconds",
    "Time one job attempt ran.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
JOBS_RUNNING = Gauge("ai_jobs_in_progress", "Jobs this worker is running.", multiprocess_mode="livesum")
JOBS_SUBMITTED = Counter("ai_jobs_submitted_total", "Jobs accepted by POST /v1/jobs.", ["kind"])
