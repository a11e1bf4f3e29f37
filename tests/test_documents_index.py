"""``policyqa index`` takes the documents published in the database in (service/documents/
source.py over indexer/knowledge.py's overlay): an uploaded policy is indexed with the path
``数据库:<id>`` and the key of the database's documents is recorded as ``documents_source``; a
folder document withheld in the database reaches no file of the index (the printed build
report lists it as skipped, as it does a withheld folder file)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from indexer.store import current_version, load_index
from policyqa.curation_commands import index_database_url
from service.db.engine import Database
from service.db.migrate import upgrade
from service.documents import workflow
from service.documents.uploads import read_upload
from service.staff.accounts import Staff
from tests.conftest import KNOWLEDGE, run_cli
from tests.document_files import POLICY_ID, POLICY_NO, policy_docx, policy_form

EDITOR = Staff(id=1, name="editor", roles=frozenset({"editor"}), csrf_token=None)
REVIEWER = Staff(id=2, name="reviewer", roles=frozenset({"reviewer"}), csrf_token=None)
WITHHELD_ID = "国库券条例-2011"
WITHHELD_TITLE = "中华人民共和国国库券条例"


def test_index_takes_the_database_documents_in(tmp_path: Path) -> None:
    root, out = tmp_path / "kb", tmp_path / "index"
    (root / "laws").mkdir(parents=True)
    for name in ("烟叶税法-2017.md", f"{WITHHELD_ID}.md"):
        shutil.copy(KNOWLEDGE / "policies" / "laws" / name, root / "laws" / name)
    first = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert first.returncode == 0, first.stdout + first.stderr
    index = load_index(out)
    assert index.manifest["documents_source"] is None
    served = {doc_id: record.meta for doc_id, record in index.documents.items()}
    assert WITHHELD_ID in served

    database = Database(index_database_url(out))  # the one `policyqa serve --index out` uses
    upgrade(database)
    file = read_upload("通知.docx", policy_docx(), max_bytes=1 << 20)
    with database.session() as db:
        form = {k: v for k, v in policy_form().items() if k != "id"}
        v = workflow.create(
            db, doc_id=POLICY_ID, values=form, file=file, actor=EDITOR, client="", served=served
        )
        review = workflow.submit(db, version_ids=[v.id], actor=EDITOR, client="", served=served)
        workflow.approve(db, review_id=review.id, actor=REVIEWER, client="", served=served)
        workflow.withhold(
            db, doc_id=WITHHELD_ID, reason="测试", actor=REVIEWER, client="", served=served
        )
    database.dispose()

    second = run_cli("index", str(root), "--out", str(out), "--quiet")
    assert second.returncode == 0, second.stdout + second.stderr
    # The operator's report names it as skipped (as for a withheld folder file); the index never.
    assert f"跳过 laws/{WITHHELD_ID}.md：公开属性为不予公开" in second.stdout
    index = load_index(out)
    assert index.manifest["documents_source"]["digest"]
    record = index.documents[POLICY_ID]
    assert record.path == f"数据库:{POLICY_ID}" and record.meta.doc_no == POLICY_NO
    assert any("九十日内" in c.text for c in index.chunks if c.doc_id == POLICY_ID)
    assert WITHHELD_ID not in index.documents
    version = out / "versions" / str(current_version(out))
    for path in version.rglob("*"):
        data = path.read_bytes() if path.is_file() else b""
        assert WITHHELD_TITLE.encode() not in data and WITHHELD_ID.encode() not in data, path
    manifest = json.loads((version / "manifest.json").read_text("utf-8"))
    assert manifest["counts"]["skipped"] == 1
