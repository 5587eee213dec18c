"""A polite arXiv client: the `arxiv` package's Client with a configurable endpoint, request timeouts,
retries with exponential backoff, and arXiv's rate limit (one request per 3 s) for arXiv hosts.

Endpoints are configurable so that tests (and mirrors) can serve Atom responses locally:
  XLT_CLAIMS_ARXIV_URL      API query endpoint   [default https://export.arxiv.org/api/query]
  XLT_CLAIMS_ARXIV_PDF_URL  PDF base URL; the PDF of 2104.08645v2 is <base>/2104.08645v2
                            [default: the PDF link the API returns]
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from typing import Callable, Optional
from urllib.parse import urlparse

import arxiv
import requests

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://export.arxiv.org/api/query"
API_URL_ENV = "XLT_CLAIMS_ARXIV_URL"
PDF_URL_ENV = "XLT_CLAIMS_ARXIV_PDF_URL"
ARXIV_MIN_DELAY_S = 3.0  # arXiv API terms of use: no more than one request every three seconds
USER_AGENT = "xlt-claims (https://pypi.org/project/xlt-claims; polite arXiv client)"


def api_url(override: Optional[str] = None) -> str:
    return (override or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("?")


def pdf_base_url(override: Optional[str] = None) -> Optional[str]:
    v = override or os.environ.get(PDF_URL_ENV)
    return v.rstrip("/") if v else None


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def effective_delay(url: str, requested: float) -> float:
    """arXiv's 3 s floor applies to every remote host; a loopback server (tests, local mirror) may go faster."""
    return requested if is_loopback(url) else max(ARXIV_MIN_DELAY_S, requested)


CONNECT_TIMEOUT_S = 10.0  # a host that does not even accept the connection within this is down


class _TimeoutSession(requests.Session):
    """Every request bounded: (connect, read) timeouts; the read timeout is the longest silence."""

    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = (min(CONNECT_TIMEOUT_S, timeout), timeout)
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method, url, **kwargs):  # noqa: ANN001
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, **kwargs)


def _retryable(err: BaseException) -> bool:
    if isinstance(err, arxiv.HTTPError):
        return err.status == 429 or err.status >= 500
    if isinstance(err, requests.exceptions.ConnectionError) and describe_error(err).startswith("offline: cannot resolve"):
        return False  # no DNS: the machine is offline, waiting will not help
    return isinstance(err, (arxiv.UnexpectedEmptyPageError, requests.exceptions.ConnectionError,
                            requests.exceptions.Timeout))


class PoliteClient(arxiv.Client):
    """arxiv.Client against a configurable endpoint, with timeouts and exponential backoff between retries.

    A request that times out (no answer within `timeout` seconds) is retried once at most: a server
    that stays silent twice is down, and retrying it `num_retries` times only makes the wait longer.
    `on_retry(message)` hears about each retry before its wait (so a long wait is never silent)."""

    def __init__(self, url: Optional[str] = None, *, page_size: int = 100, delay_seconds: float = ARXIV_MIN_DELAY_S,
                 num_retries: int = 3, timeout: float = 30.0, backoff_base: float = 2.0,
                 on_retry: Optional[Callable[[str], None]] = None):
        self.url = api_url(url)
        super().__init__(page_size=page_size, delay_seconds=effective_delay(self.url, delay_seconds),
                         num_retries=num_retries)
        self.query_url_format = self.url + "?{}"
        self.backoff_base = backoff_base
        self._session = _TimeoutSession(timeout)
        self.timeout = timeout
        self.attempts = 0
        self.on_retry = on_retry

    def _parse_feed(self, url: str, first_page: bool = True, _try_index: int = 0):  # noqa: D401
        try:
            self.attempts += 1
            return getattr(self, "_Client__try_parse_feed")(url, first_page=first_page, try_index=_try_index)
        except (arxiv.HTTPError, arxiv.UnexpectedEmptyPageError, requests.exceptions.ConnectionError,
                requests.exceptions.Timeout) as err:
            limit = min(self.num_retries, 1) if isinstance(err, requests.exceptions.Timeout) else self.num_retries
            if _try_index < limit and _retryable(err):
                wait = self.delay_seconds * (self.backoff_base ** _try_index)
                msg = f"{describe_error(err, self.timeout)}; retry {_try_index + 1} of {limit} in {wait:.0f} s"
                log.info("arXiv request failed: %s", msg)
                if self.on_retry is not None:
                    self.on_retry(msg)
                time.sleep(wait)
                return self._parse_feed(url, first_page=first_page, _try_index=_try_index + 1)
            raise

    def get(self, url: str) -> requests.Response:
        """A rate-limited GET on the same session (PDF downloads)."""
        last = self._last_request_dt
        delay = effective_delay(url, self.delay_seconds)
        if last is not None:
            from datetime import datetime

            since = (datetime.now() - last).total_seconds()
            if since < delay:
                time.sleep(delay - since)
        from datetime import datetime

        try:
            return self._session.get(url)
        finally:
            self._last_request_dt = datetime.now()


def describe_error(err: BaseException, timeout: Optional[float] = None) -> str:
    """One short human line for a failed request."""
    if isinstance(err, arxiv.HTTPError):
        return f"arXiv answered HTTP {err.status}"
    if isinstance(err, requests.exceptions.ConnectionError):
        root = err
        while getattr(root, "__context__", None) is not None and root.__context__ is not root:
            root = root.__context__
        txt = str(root) or root.__class__.__name__
        if "Name or service not known" in txt or "Temporary failure in name resolution" in txt or "NameResolution" in txt:
            return "offline: cannot resolve the arXiv host"
        if "Connection refused" in txt:
            return "offline: connection refused"
        return f"offline: cannot connect ({root.__class__.__name__})"
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return "offline: the host did not accept the connection in time"
    if isinstance(err, requests.exceptions.Timeout):
        return f"no answer within {timeout:g} s" if timeout else "timed out"
    if isinstance(err, arxiv.UnexpectedEmptyPageError):
        return "arXiv returned an empty page"
    return f"{err.__class__.__name__}: {err}"
