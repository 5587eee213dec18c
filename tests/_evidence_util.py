"""Helpers for the papers / evidence tests: a local arXiv API server over the bundled Atom fixtures, a tiny
PDF writer, and a way to put the seed reports into a store (real ingest when it exists)."""

from __future__ import annotations

import hashlib
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import parse_qs, urlparse

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
ARXIV_FIXTURES = ROOT / "examples" / "arxiv"
REPORTS_DIR = ROOT / "examples" / "reports"
ATOM = "http://www.w3.org/2005/Atom"


def _entries() -> dict[str, etree._Element]:
    out = {}
    for f in sorted(ARXIV_FIXTURES.glob("*.atom")):
        root = etree.fromstring(f.read_bytes())
        for e in root.iterfind(f"{{{ATOM}}}entry"):
            eid = e.findtext(f"{{{ATOM}}}id")
            out[re.sub(r"v\d+$", "", eid.rsplit("/", 1)[-1])] = e
    return out


def feed_for(ids: list[str]) -> bytes:
    """An arXiv API response for id_list=ids, built from the fixture entries (as arXiv would answer)."""
    entries = _entries()
    root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    etree.SubElement(root, f"{{{ATOM}}}title").text = "ArXiv Query"
    found = [entries[i] for i in ids if i in entries]
    os_ns = "http://a9.com/-/spec/opensearch/1.1/"
    for tag, val in (("totalResults", len(found)), ("startIndex", 0), ("itemsPerPage", len(found))):
        etree.SubElement(root, f"{{{os_ns}}}{tag}", nsmap={"opensearch": os_ns}).text = str(val)
    for e in found:
        root.append(etree.fromstring(etree.tostring(e)))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with Helvetica text lines (enough for pypdf's text extraction)."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 10 Tf 12 TL 50 760 Td " + " ".join(f"({esc(l)}) Tj T*" for l in lines) + " ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(content.encode('latin-1'))} >>\nstream\n{content}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


class _Handler(BaseHTTPRequestHandler):
    pdfs: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self):  # noqa: N802
        self.requests.append(self.path)
        u = urlparse(self.path)
        if u.path.endswith("/query"):
            ids = [i for i in parse_qs(u.query).get("id_list", [""])[0].split(",") if i]
            body, ctype, code = feed_for(ids), "application/atom+xml", 200
        elif u.path.startswith("/pdf/"):
            name = u.path[len("/pdf/"):]
            if name in self.pdfs:
                body, ctype, code = self.pdfs[name], "application/pdf", 200
            else:
                body, ctype, code = b"not found", "text/plain", 404
        else:
            body, ctype, code = b"not found", "text/plain", 404
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):  # quiet
        pass


@contextmanager
def arxiv_server(pdfs: Optional[dict[str, bytes]] = None) -> Iterator[tuple[str, str, list[str]]]:
    """(api_url, pdf_base_url, request_log) of a fixtures server on 127.0.0.1 (random port)."""
    handler = type("H", (_Handler,), {"pdfs": dict(pdfs or {}), "requests": []})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield f"{base}/api/query", f"{base}/pdf", handler.requests
    finally:
        srv.shutdown()
        srv.server_close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (an 'offline' arXiv)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/api/query"


# --- seed reports into a store -------------------------------------------------------------------

def have_ingest() -> bool:
    try:
        from xlt_claims.ingest import ingest_paths  # noqa: F401
    except ImportError:
        return False
    return True


def load_seeds(store) -> None:
    """Ingest the two seed reports: through `xlt_claims.ingest.ingest_paths` when it exists, else by a
    minimal direct insert (same tables) so the evidence tests do not depend on the ingest area."""
    paths = sorted(REPORTS_DIR.glob("*.txt"))
    if have_ingest():
        from xlt_claims.ingest import ingest_paths

        ingest_paths(store, paths)
        return
    from xlt_claims.store.models import Claim, Reference, Report

    with store.session() as s:
        for p in paths:
            raw = p.read_text(encoding="utf-8")
            lines = raw.splitlines()
            rq = re.search(r"Research question:\s*(.*?\?)\.?\s*$", raw, re.M)
            rep = Report(key=p.stem, file_name=p.name, source_path=str(p), content_hash=hashlib.sha256(raw.encode()).hexdigest(),
                         title=next(l for l in lines if l.strip()).strip("# "), research_question=rq.group(1) if rq else None)
            s.add(rep)
            s.flush()
            row = 0
            pos = 0
            for n, line in enumerate(lines, 1):
                if "\t" in line and not line.startswith("Claim\t"):
                    text = line.split("\t")[0].strip()
                    row += 1
                    cid = hashlib.sha256(f"{p.stem}:{text}".encode()).hexdigest()[:8]
                    s.add(Claim(id=cid, report_key=p.stem, report_id=rep.id, row=row, line=n, text=text,
                                normalized=text.lower(), looks_truncated=not text.rstrip().endswith((".", "!", "?"))))
                m = re.search(r"arxiv\.org/abs/(\d{4}\.\d{4,5})(?:v(\d+))?", line)
                if m:
                    pos += 1
                    s.add(Reference(report_id=rep.id, position=pos, arxiv_id=m.group(1),
                                    version=int(m.group(2)) if m.group(2) else None, cited_as=line.strip(), line=n))
