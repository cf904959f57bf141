"""analysis.files: content hashes remembered beside derived files, atomic writes."""

import hashlib
import os

from analysis.files import sha256_remembered


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_remembered_hash_is_the_content_hash_and_is_kept_beside_the_file(tmp_path):
    f = tmp_path / "queue_tickets.parquet"
    f.write_bytes(b"abc" * 1000)
    assert sha256_remembered(f) == _sha(b"abc" * 1000)
    note = tmp_path / "queue_tickets.parquet.sha256"
    assert note.read_text().endswith(_sha(b"abc" * 1000))
    # the note is what is read the second time: a forged digest under the same stamp is returned
    stamp = note.read_text().rsplit(" ", 1)[0]
    note.write_text(f"{stamp} {'0' * 64}")
    assert sha256_remembered(f) == "0" * 64


def test_a_rewritten_file_is_hashed_again(tmp_path):
    f = tmp_path / "t.parquet"
    f.write_bytes(b"old")
    assert sha256_remembered(f) == _sha(b"old")
    tmp = tmp_path / "t.new"
    tmp.write_bytes(b"new!")  # replaced the way the clean step writes: a new file moved over the old
    os.replace(tmp, f)
    assert sha256_remembered(f) == _sha(b"new!")


def test_a_damaged_note_is_recomputed(tmp_path):
    f = tmp_path / "t.parquet"
    f.write_bytes(b"x")
    (tmp_path / "t.parquet.sha256").write_text("garbage")
    assert sha256_remembered(f) == _sha(b"x")


def test_a_folder_that_cannot_be_written_goes_without_the_note(tmp_path, monkeypatch):
    import analysis.files as files

    def refuse(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files, "write_atomic", refuse)
    f = tmp_path / "t.parquet"
    f.write_bytes(b"y")
    assert sha256_remembered(f) == _sha(b"y")
    assert not (tmp_path / "t.parquet.sha256").exists()
