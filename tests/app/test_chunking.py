"""Chunking: bounded sizes, cuts at natural boundaries, overlap between neighbours, nothing lost."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.retrieval.chunking import chunk


def test_short_text_is_one_chunk() -> None:
    assert chunk("  One short paragraph.  ", 100, 10) == ["One short paragraph."]
    assert chunk("   \n  ", 100, 10) == []


def test_cuts_prefer_paragraphs_then_sentences() -> None:
    text = "First paragraph, which is short.\n\nSecond one. It has two sentences and is a little longer."
    chunks = chunk(text, 60, 0)
    assert chunks[0] == "First paragraph, which is short."
    assert chunks[1].startswith("Second one.")


def test_neighbours_overlap_and_no_chunk_starts_mid_word() -> None:
    words = [f"w{n:03d}" for n in range(200)]
    chunks = chunk(" ".join(words), 80, 20)
    assert all(len(c) <= 80 for c in chunks)
    for first, second in itertools.pairwise(chunks):
        assert first.split()[-1] in second.split()  # shared words, whole
    assert all(c.split()[0] in words for c in chunks)


def test_overlap_must_be_below_size() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk("text", 10, 10)


@given(st.text(min_size=1, max_size=600), st.integers(10, 120), st.integers(0, 9))
def test_every_word_survives_and_sizes_hold(text: str, size: int, overlap: int) -> None:
    chunks = chunk(text, size, overlap)
    assert all(0 < len(c) <= size for c in chunks)
    joined = " ".join(chunks)
    assert all(word in joined for word in text.split() if len(word) <= size)  # only longer words are cut
