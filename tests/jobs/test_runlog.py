"""A run's log in pages: every byte once, never half a character."""

from __future__ import annotations

import pytest

from nbplatform_jobs.runlog import read_page


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("héllo wörld ✓ 🎉 end\n" * 50, encoding="utf-8")
    return path


@pytest.mark.parametrize("length", [1, 2, 3, 5, 7, 64, 1000, 10_000])
def test_pages_put_together_give_the_whole_log(log, length):
    whole = log.read_text(encoding="utf-8")
    parts, offset = [], 0
    while True:
        page = read_page(log, offset, max(length, 4))
        assert "\ufffd" not in page.text
        parts.append(page.text)
        assert page.next_offset > offset or page.next_offset == page.size
        if page.next_offset >= page.size:
            break
        offset = page.next_offset
    assert "".join(parts) == whole
    assert page.size == len(whole.encode())


def test_a_tail_starts_at_a_character_and_says_it_was_cut(log):
    size = log.stat().st_size
    for tail in range(1, 12):
        page = read_page(log, None, tail)
        assert "\ufffd" not in page.text
        assert page.next_offset == size and page.offset >= size - tail
        assert page.truncated
    whole = read_page(log, None, size + 10)
    assert not whole.truncated and whole.offset == 0


def test_no_log_yet_is_an_empty_page(tmp_path):
    page = read_page(tmp_path / "missing.txt", None, 100)
    assert (page.text, page.size, page.truncated) == ("", 0, False)
    assert read_page(tmp_path / "missing.txt", 5, 100).next_offset == 0


def test_an_offset_past_the_end_is_an_empty_page_at_the_end(log):
    size = log.stat().st_size
    page = read_page(log, size + 100, 10)
    assert (page.text, page.offset, page.next_offset) == ("", size, size)
