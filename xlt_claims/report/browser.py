"""Open a report in headless Chromium the way a reader would, and say what is wrong with it.

Uses the system's Debian `chromium` (never a downloaded browser build) and talks to it over the
DevTools protocol with a minimal stdlib websocket client, so it sees what a person would: console
errors and uncaught exceptions, failed resource loads (the page must need no network), the claim
cards actually laid out, and every figure's rendered size. Optionally saves a full-page screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
)


class BrowserUnavailable(RuntimeError):
    """No Chromium binary could be found or started."""


def find_chromium() -> Optional[str]:
    env = os.environ.get("XLT_CLAIMS_CHROMIUM")
    if env:
        return env
    for name in CHROMIUM_CANDIDATES:
        p = shutil.which(name)
        if p:
            return p
    return None


# --- a minimal websocket client (RFC 6455, client side, text frames) ---------------------------

class _WebSocket:
    def __init__(self, url: str, timeout: float):
        assert url.startswith("ws://"), url
        hostport, _, path = url[len("ws://"):].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BrowserUnavailable("DevTools websocket closed during the handshake")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise BrowserUnavailable(f"DevTools websocket handshake refused: {head[:200]!r}")

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise BrowserUnavailable("DevTools websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode("utf-8"))

    def recv(self) -> str:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            fin, opcode = b0 & 0x80, b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise BrowserUnavailable("DevTools websocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if fin:
                    return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class _DevTools:
    def __init__(self, ws: _WebSocket):
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: Optional[dict] = None, timeout: float = 30.0) -> dict[str, Any]:
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"DevTools {method} failed: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(f"DevTools {method}: no answer in {timeout:.0f} s")

    def wait_for(self, method: str, timeout: float) -> Optional[dict[str, Any]]:
        for ev in self.events:
            if ev["method"] == method:
                return ev
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        return None


# --- the check ----------------------------------------------------------------------------------

@dataclass
class BrowserCheck:
    """What headless Chromium saw. `problems` is empty when the page is fine."""

    url: str
    browser: str = ""
    console_errors: list[str] = field(default_factory=list)
    claim_cards: list[str] = field(default_factory=list)
    missing_cards: list[str] = field(default_factory=list)
    unexpected_cards: list[str] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    page_height: int = 0
    screenshot: Optional[str] = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_PROBE = r"""
(() => {
  const cards = Array.from(document.querySelectorAll('article.claim-card')).map(el => {
    const r = el.getBoundingClientRect();
    return {id: el.dataset.claimId || el.id, w: r.width, h: r.height,
            hidden: getComputedStyle(el).display === 'none' || getComputedStyle(el).visibility === 'hidden'};
  });
  const figs = Array.from(document.querySelectorAll('.figure > svg, .figure > img')).map(el => {
    const r = el.getBoundingClientRect();
    const card = el.closest('[data-claim-id]');
    return {kind: (el.parentElement.dataset.figure || ''), claim: card ? card.dataset.claimId : null,
            w: Math.round(r.width), h: Math.round(r.height), tag: el.tagName.toLowerCase()};
  });
  const res = performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:'));
  return JSON.stringify({cards, figs, res, height: document.documentElement.scrollHeight,
                         width: document.documentElement.scrollWidth, viewport: window.innerWidth,
                         title: document.title});
})()
"""


def check_html(
    path: Path | str,
    expected_claim_ids: Optional[Iterable[str]] = None,
    screenshot: Optional[Path | str] = None,
    *,
    timeout: float = 60.0,
    width: int = 1280,
    chromium: Optional[str] = None,
) -> BrowserCheck:
    """Render `path` in headless Chromium; report console errors, missing claim cards, empty figures
    and any network request. Raises BrowserUnavailable when Chromium cannot be found or started."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no such report: {path}")
    exe = chromium or find_chromium()
    if not exe:
        raise BrowserUnavailable("Chromium not found; install the Debian package: apt-get install -y chromium")
    url = path.as_uri()
    result = BrowserCheck(url=url)
    udd = tempfile.mkdtemp(prefix="xlt-claims-chromium-")
    proc = None
    ws = None
    try:
        proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, "--remote-debugging-port=0", f"--user-data-dir={udd}",
                                 f"--window-size={width},900", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = Path(udd) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
                raise BrowserUnavailable(f"{exe} exited with {proc.returncode}: {err}")
            if time.monotonic() > deadline:
                raise BrowserUnavailable(f"{exe} did not open its DevTools port in {timeout:.0f} s")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        local = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an http proxy
        targets = []
        while time.monotonic() < deadline:
            with local.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
                targets = [t for t in json.loads(resp.read()) if t.get("type") == "page"]
            if targets:
                break
            time.sleep(0.1)
        if not targets:
            raise BrowserUnavailable("Chromium opened no page target")
        with local.open(f"http://127.0.0.1:{port}/json/version", timeout=10) as resp:
            result.browser = json.loads(resp.read()).get("Browser", "")
        ws = _WebSocket(targets[0]["webSocketDebuggerUrl"], timeout=timeout)
        dt = _DevTools(ws)
        for domain in ("Page", "Runtime", "Log", "Network"):
            dt.call(f"{domain}.enable")
        dt.call("Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        dt.call("Page.navigate", {"url": url})
        if dt.wait_for("Page.loadEventFired", timeout) is None:
            result.problems.append(f"the page did not finish loading in {timeout:.0f} s")
        probe = json.loads(dt.call("Runtime.evaluate", {"expression": _PROBE, "returnByValue": True})
                           ["result"]["value"])
        # let late console messages arrive
        dt.call("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 200))", "awaitPromise": True})

        for ev in dt.events:
            meth, p = ev["method"], ev.get("params", {})
            if meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                result.console_errors.append(f"console.{p['type']}: {args}")
            elif meth == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                result.console_errors.append(
                    f"uncaught exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif meth == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                result.console_errors.append(f"{e.get('source')}: {e.get('text')} {e.get('url') or ''}".strip())
            elif meth == "Network.requestWillBeSent":
                u = p.get("request", {}).get("url", "")
                if not (u.startswith("data:") or u == url or u.startswith("about:")):
                    result.external_requests.append(u)

        result.claim_cards = [c["id"] for c in probe["cards"]]
        result.figures = probe["figs"]
        result.page_height = int(probe["height"])
        result.external_requests += [u for u in probe["res"] if u != url and u not in result.external_requests]
        dup = sorted({c for c in result.claim_cards if result.claim_cards.count(c) > 1})
        if dup:
            result.problems.append(f"claim cards appear more than once: {', '.join(dup)}")
        hidden = [c["id"] for c in probe["cards"] if c["hidden"] or c["w"] <= 0 or c["h"] <= 0]
        if hidden:
            result.problems.append(f"claim cards not visible: {', '.join(hidden)}")
        if expected_claim_ids is not None:
            expected = list(expected_claim_ids)
            result.missing_cards = [c for c in expected if c not in result.claim_cards]
            result.unexpected_cards = [c for c in result.claim_cards if c not in expected]
            if result.missing_cards:
                result.problems.append(f"claim cards missing: {', '.join(result.missing_cards)}")
            if result.unexpected_cards:
                result.problems.append(f"unexpected claim cards: {', '.join(result.unexpected_cards)}")
        empty = [f for f in result.figures if f["w"] <= 0 or f["h"] <= 0]
        if empty:
            result.problems.append("figures with zero size: " + ", ".join(
                f"{f['kind']} of {f['claim']}" for f in empty))
        if probe["width"] > probe["viewport"] + 1:
            result.problems.append(f"the page is wider than a {probe['viewport']} px window ({probe['width']} px): "
                                   f"something overflows horizontally")
        if result.console_errors:
            result.problems.append(f"{len(result.console_errors)} console error(s): {result.console_errors[0]}")
        if result.external_requests:
            result.problems.append(f"the page requested {len(result.external_requests)} external resource(s): "
                                   f"{result.external_requests[0]}")

        if screenshot is not None:
            height = max(900, min(result.page_height, 30000))
            dt.call("Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            shot = dt.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                           timeout=timeout)
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
            result.screenshot = str(screenshot)
        try:
            dt.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - closing is best effort; the process is terminated below
            pass
        return result
    finally:
        if ws is not None:
            try:
                ws.close()
            except OSError:
                pass
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stderr:
                proc.stderr.close()
        shutil.rmtree(udd, ignore_errors=True)
