"""Hostile and odd inputs for pages, the API and imports (tests/prod/test_bad_input_*)."""

from __future__ import annotations

SCRIPT = "<script>alert(1)</script>"

# name -> text. Lone surrogates cannot travel as UTF-8; they are sent as JSON escapes or as
# the bytes a careless client produces (see RAW_QUERY_STRINGS).
TEXTS: dict[str, str] = {
    "empty": "",
    "spaces": "   \t  ",
    "100kB": "protein folding " * 6_400,
    "one 100kB word": "x" * 100_000,
    "nul": "\x00",
    "nul inside": "graph\x00 neural networks",
    "rtl override": "\u202egnihtemos\u202c attention",
    "arabic": "نماذج اللغة الكبيرة",
    "hebrew": "למידת מכונה",
    "emoji": "🧬🔬 protein folding 🤖",
    "zero width": "trans\u200bformer\ufeff",
    "combining": "Z̷̡̛a̴l̶g̸o̵",
    "script": SCRIPT,
    "attribute break": '"><img src=x onerror=alert(1)>',
    "svg onload": "<svg onload=alert(1)>",
    "javascript link": '<a href="javascript:alert(1)">click</a>',
    "textarea break": "</textarea><script>alert(2)</script>",
    "iframe": "<iframe src=//evil.example></iframe>",
    "bold": "<b>bold</b> claims",
    "sql": "' OR 1=1; DROP TABLE papers_paper; --",
    "sql like": "%_%\\",
    "json break": '"}]}{"',
    "newlines": "line one\r\nline two\n",
    "control": "\x01\x02\x07\x1b[31m",
    "only punctuation": "?!.,;:()[]{}",
}

# Query strings as raw bytes (percent-encoded), the way a broken client might send them.
RAW_QUERY_STRINGS: dict[str, str] = {
    "lone surrogate utf-8": "q=%ED%A0%80",
    "invalid utf-8": "q=%FF%FE%FD",
    "overlong utf-8": "q=%C0%AF",
    "truncated percent": "q=abc%",
    "bare percent": "q=%zz",
    "repeated key": "q=a&q=b&q=c",
    "empty key": "=x&q=attention",
}

# JSON bodies for POST /api/similar that plain Python strings cannot express.
RAW_JSON_BODIES: dict[str, bytes] = {
    "lone surrogate escape": b'{"text": "attention \\ud800 models"}',
    "nul escape": b'{"text": "attention \\u0000 models"}',
    "not json": b"{text: attention",
    "json array": b'["attention"]',
    "json null": b"null",
    "wrong type": b'{"text": 12}',
    "huge number": b'{"text": "x", "k": 1e400}',
    "deep nesting": b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "utf-16": '{"text": "attention"}'.encode("utf-16"),
    "bom": b'\xef\xbb\xbf{"text": "attention models"}',
    "latin-1": '{"text": "caf\xe9 attention"}'.encode("latin-1"),
}
