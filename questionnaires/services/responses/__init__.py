"""Storing submitted responses, one at a time or in batches, idempotently, with scoring enqueued on commit.

Every problem with a submission is collected before anything is written; a rejected
response writes nothing. Batches look up clients, clinicians and existing ids in bulk and
insert all new rows at once, so a 1,000-entry call costs a handful of queries.

One module per idea, each importing only those below it:

- `single`: `response_submit`, the unkeyed insert (PostgreSQL statement beside its ORM twin)
- `batch`: `responses_submit_batch`, the bulk insert (COPY beside `bulk_create`)
- `idempotency`: Idempotency-Key and batch-id replay, the body fingerprint
- `building`: the unsaved response (and audit event) a submission describes, `response_build`
- `attribution`: the client, the linked session and the credited clinician
- `reading`: the envelope of a submission, its top-level fields
"""

from questionnaires.services.responses.batch import BATCH_MAX_ENTRIES, BatchResult, responses_submit_batch
from questionnaires.services.responses.building import SubmitResult, response_build
from questionnaires.services.responses.idempotency import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    fingerprint,
    idempotency_key_problem,
)
from questionnaires.services.responses.reading import COMMENT_MAX_LENGTH, Submission, submission_read
from questionnaires.services.responses.single import response_submit

__all__ = [
    "BATCH_MAX_ENTRIES",
    "COMMENT_MAX_LENGTH",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "BatchResult",
    "Submission",
    "SubmitResult",
    "fingerprint",
    "idempotency_key_problem",
    "response_build",
    "response_submit",
    "responses_submit_batch",
    "submission_read",
]
