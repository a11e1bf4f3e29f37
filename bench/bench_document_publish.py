"""How long a published document takes to reach the answers, and how long a withholding takes:
the path a serving process runs (service/faqs/refresh.py → service/documents/rebuild.py, the
full incremental build with the database's documents over the folder; then the reload that
keeps the encoder), on a fresh SQLite database.

    .venv/bin/python bench/bench_document_publish.py INDEX_DIR

INDEX_DIR: an index of the sample knowledge (``policyqa index knowledge --out INDEX_DIR``);
the benchmark writes new versions into it (copy it first). Figures: docs/operations.md
(Documents).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from service.db.engine import Database
from service.db.migrate import upgrade
from service.documents import workflow
from service.documents.rebuild import rebuild
from service.documents.uploads import read_upload
from service.engine import load_answerer
from service.faqs.refresh import Refresher
from service.faqs.source import seed_if_empty
from service.staff.accounts import Staff
from tests.document_files import POLICY_ID, QUESTION, policy_docx, policy_form

EDITOR = Staff(id=1, name="editor", roles=frozenset({"editor"}), csrf_token=None)
REVIEWER = Staff(id=2, name="reviewer", roles=frozenset({"reviewer"}), csrf_token=None)


def main(index: Path) -> None:
    database = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite")
    upgrade(database)
    answerer = load_answerer(index)
    served = answerer.metas
    file = read_upload("policy.docx", policy_docx(), max_bytes=20 * 1024 * 1024)
    with database.session() as db:
        seed_if_empty(db, list(answerer.index.faqs.values()))
        form = {k: v for k, v in policy_form().items() if k != "id"}
        v = workflow.create(
            db, doc_id=POLICY_ID, values=form, file=file, actor=EDITOR, client="", served=served
        )
        review = workflow.submit(db, version_ids=[v.id], actor=EDITOR, client="", served=served)
        review_id = review.id
    with database.session() as db:
        workflow.approve(db, review_id=review_id, actor=REVIEWER, client="", served=served)
    published = time.perf_counter()
    refresher = Refresher(index, database)
    started = time.perf_counter()
    assert refresher.check(answerer)
    built = time.perf_counter() - started
    started = time.perf_counter()
    answerer = load_answerer(index, encoder=answerer.encoder)
    loaded = time.perf_counter() - started
    answer = answerer.ask(QUESTION)
    total = time.perf_counter() - published
    cited = POLICY_ID in {s.doc_id for s in answer.sources}
    print(
        f"publish → served: full incremental build {built:.2f} s, reload keeping the encoder "
        f"{loaded:.2f} s, total {total:.2f} s (answer cites the new document: {cited})"
    )

    started = time.perf_counter()
    with database.session() as db:
        workflow.withhold(
            db, doc_id=POLICY_ID, reason="bench", actor=REVIEWER, client="", served=answerer.metas
        )
    report = rebuild(index, database, answerer.encoder, wait_seconds=60)
    answerer = load_answerer(index, encoder=answerer.encoder)
    print(
        f"withhold → gone: rebuild {report.seconds:.2f} s, total with reload "
        f"{time.perf_counter() - started:.2f} s "
        f"(still served: {POLICY_ID in answerer.metas})"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
