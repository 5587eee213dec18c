"""Data from report files on a terminal or in Markdown, harmless and visible (a leaf module).

Reports come from generators nobody controls: a claim, title or file name can carry rich markup
(`[/bold]` crashes rich, `[link=...]` hides a link), terminal escape sequences (clear the screen,
set the window title, OSC 8 links), bidirectional overrides that reorder what is shown, or HTML and
Markdown that a Markdown viewer renders (`<img onerror=...>`). Every field that comes from data
goes through one of these functions before it is printed or written:

* `visible(s)`: control and format characters become visible: C0 controls as the Unicode control
  pictures (ESC shows as "\u241b"), DEL as "\u2421", C1 controls, bidirectional overrides and other
  invisible format characters as "<U+202E>". Tab and (with keep_newlines) line feed stay.
* `for_terminal(s)`: `visible` plus `markup_escape`, for strings printed through rich.
* `markup_escape(s)`: rich markup that renders as exactly s whatever markup follows it (rich's own
  `escape` loses a backslash before a `[` that is no tag and doubles a trailing one).
* `for_markdown(s)`: `visible` plus the Markdown special characters backslash-escaped (inline ones
  everywhere, block markers such as `-`, `#`, `1.` at the start) and `<`, `>`, `&` as HTML entities, so the
  text renders as the same text and nothing else. Never put its result inside a backtick code span
  (escapes do not work there).
* `json_text(s)`: JSON text with the characters that JSON leaves raw (DEL, C1 controls, bidi and
  invisible format characters) written as `\\uXXXX` escapes: the same data, nothing raw on a terminal.
* `visible_deep(obj)`: `visible` applied to every string in a JSON-like structure (dict keys too).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_BIDI_AND_INVISIBLE = {
    0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
    0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB,
}
_CONTROL_RX = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069"
                         r"\ufeff\ufff9-\ufffb\n]")
_BRACKET = re.compile(r"(\\*)\[")
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
# what starts a block when it opens a line: list and heading markers, setext underline, ordered list
# (">" and "*" are escaped everywhere)
_MD_LEAD = re.compile(r"^(\s*)(?:([-+]|\d{1,9}[.)]|#{1,6})(?=\s|$)|([-=])(?=\3*\s*$))")
_JSON_RAW_RX = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]")
_MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MD_ENTITY_RX = re.compile(r"[<>&]")


def _picture(ch: str, keep_newlines: bool) -> str:
    o = ord(ch)
    if ch == "\n":
        return "\n" if keep_newlines else "\u240a"
    if o < 0x20:
        return chr(0x2400 + o)  # the control pictures block: U+241B for ESC
    if o == 0x7F:
        return "\u2421"
    return f"<U+{o:04X}>"


def visible(value: Any, *, keep_newlines: bool = False) -> str:
    """The text with every control or invisible format character shown as a visible symbol."""
    s = value if isinstance(value, str) else str(value)
    if s.isprintable() and "\n" not in s:  # the common case costs one scan in C
        return s
    s = _CONTROL_RX.sub(lambda m: _picture(m.group(), keep_newlines), s)
    # anything else Unicode calls a control or format character (category Cc/Cf) or a lone surrogate
    if not all(ch.isprintable() or ch in "\t\n " for ch in s):
        s = "".join(ch if ch.isprintable() or ch in "\t\n " or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
                    else f"<U+{ord(ch):04X}>" for ch in s)
    return s


def markup_escape(s: str) -> str:
    """Text that rich's markup renders as exactly itself, whatever markup precedes or follows it. A
    `[` becomes `\\[`. k > 0 backslashes before a `[` would make rich's reading depend on whether a
    `]` follows, possibly in markup after the string ("\\[{}]" around "\\[arXiv:1"), so they are
    doubled before an empty tag pair, which rich reads as k literal backslashes and then nothing, and the
    `[` after it is escaped on its own. Trailing backslashes before a tag of ours would escape it, so they
    are doubled and closed with an empty tag pair too."""
    def one(m: re.Match) -> str:
        k = len(m.group(1))
        return "\\" * (2 * k) + "[b][/b]\\[" if k else "\\["

    out = _BRACKET.sub(one, s)
    tail = len(out) - len(out.rstrip("\\"))
    return out + "\\" * tail + "[b][/b]" if tail else out


def for_terminal(value: Any, *, keep_newlines: bool = False) -> str:
    """For a string that rich prints with markup on: controls visible, markup escaped."""
    return markup_escape(visible(value, keep_newlines=keep_newlines))


def _escape_lead(m: re.Match) -> str:
    marker = m.group(2) or m.group(3)
    if marker[0].isdigit():  # "1." -> "1\\.": the digits stay, the delimiter is escaped
        return m.group(1) + marker[:-1] + "\\" + marker[-1]
    return m.group(1) + "\\" + marker


def for_markdown(value: Any) -> str:
    """For one Markdown text field (a table cell, a list item, a heading): it renders as itself."""
    s = visible(value)
    s = _MD_INLINE.sub(r"\\\1", s)
    s = _MD_LEAD.sub(_escape_lead, s, count=1)
    return _MD_ENTITY_RX.sub(lambda m: _MD_ENTITIES[m.group()], s)


def json_text(text: str) -> str:
    """JSON text (as json.dumps writes it) with DEL, C1 controls and bidi/invisible format characters
    escaped as \\uXXXX: they can only stand inside strings there, so the JSON means the same."""
    return _JSON_RAW_RX.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def visible_deep(obj: Any, *, keep_newlines: bool = False) -> Any:
    """`visible` on every string of a JSON-like structure (dicts, lists, tuples); other values as they are."""
    if isinstance(obj, str):
        return visible(obj, keep_newlines=keep_newlines)
    if isinstance(obj, dict):
        return {visible_deep(k, keep_newlines=keep_newlines): visible_deep(v, keep_newlines=keep_newlines)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(visible_deep(v, keep_newlines=keep_newlines) for v in obj)
    return obj


def has_raw_controls(text: str) -> bool:
    """True when text still holds a terminal control byte (ESC, C1, BEL, ...) or a bidi override;
    for tests and checks of output (tab and newline are allowed)."""
    return any((ord(ch) < 0x20 and ch not in "\t\n\r") or 0x7F <= ord(ch) <= 0x9F or ord(ch) in _BIDI_AND_INVISIBLE
               for ch in text)
