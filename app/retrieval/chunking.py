"""Split a document into overlapping chunks of at most `size` characters, cut at natural boundaries.

A cut is placed at the last paragraph break, else line break, else sentence end in the second half
of the window, else at its last whitespace, so a word is split only when it is longer than a chunk.
Each chunk starts `overlap` characters before the previous one ended (moved forward to a word
start), so a sentence on a boundary is whole in at least one chunk.
"""

import re

_BOUNDARIES = ("\n\n", "\n", ". ", "? ", "! ", "; ")
_SPACE = re.compile(r"\s")


def _cut(text: str, start: int, end: int) -> int:
    """The best end for a chunk that may reach `end`: just after a boundary in the window's second half."""
    if end >= len(text):
        return len(text)
    floor = start + (end - start) // 2
    for boundary in _BOUNDARIES:
        at = text.rfind(boundary, floor, end)
        if at != -1:
            return at + len(boundary)
    spaces = [m.end() for m in _SPACE.finditer(text, start + 1, end)]
    return spaces[-1] if spaces else end  # any whitespace rather than splitting a word


def chunk(text: str, size: int, overlap: int) -> list[str]:
    """Chunks in order; whitespace-only chunks are dropped and each chunk is stripped."""
    if overlap >= size:
        raise ValueError(f"overlap ({overlap}) must be below size ({size})")
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = _cut(text, start, start + size)
        piece = text[start:end].strip()
        if piece:
            chunks.append(piece)
        if end >= len(text):
            break
        next_start = max(end - overlap, start + 1)
        if overlap and not text[next_start - 1].isspace():
            # move forward to the next word's start, so no chunk begins mid-word
            match = _SPACE.search(text, next_start, end)
            next_start = match.end() if match else next_start
        start = next_start
    return chunks
