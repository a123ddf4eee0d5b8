"""How the downloader tells HTTP failures apart: worth another try, a stall, or final; and what to tell the learner."""

from __future__ import annotations

from ..config import DATA_MIRROR_ENV

__all__ = ["IncompleteTransferError", "http_error", "is_timeout", "is_transient", "stall_message"]


def http_error(response, url: str) -> Exception:
    """A requests.HTTPError for a failed response, saying what the status means for the learner."""
    import requests

    code = response.status_code
    hint = (
        "the file is not there (wrong URL, or the source moved)" if code == 404
        else "the server failed; it may work again later" if code >= 500
        else "the server refused the request"
    )
    return requests.HTTPError(
        f"HTTP {code} {response.reason} from {url}: {hint}. Try again later, or set {DATA_MIRROR_ENV} to a folder "
        f"or URL holding a copy of the data.",
        response=response,
    )


class IncompleteTransferError(ConnectionError):
    """The connection ended before the announced number of bytes arrived (the ``.part`` file is kept)."""


def is_timeout(err: BaseException) -> bool:
    """True if ``err`` is a read or connect timeout (from requests/urllib3 or the socket)."""
    import requests
    from urllib3.exceptions import ReadTimeoutError

    if isinstance(err, (requests.Timeout, TimeoutError, ReadTimeoutError)):
        return True
    return isinstance(err, requests.ConnectionError) and any(isinstance(a, ReadTimeoutError) for a in err.args)


def is_transient(err: BaseException) -> bool:
    """True for failures worth another try: HTTP 5xx, and a transfer cut off mid-file."""
    import requests

    if isinstance(err, requests.HTTPError):
        return err.response is not None and err.response.status_code >= 500
    return isinstance(err, (requests.exceptions.ChunkedEncodingError, ConnectionError))


def stall_message(url: str, timeout: float, part_name: str) -> str:
    """The error text for a server that stopped sending for ``timeout`` seconds."""
    return (
        f"{url} sent nothing for {timeout:g} s (timeout={timeout:g}); the server stalled. What arrived is kept in "
        f"{part_name} and the next try resumes from it. Try again later, or set {DATA_MIRROR_ENV} to a copy of the data."
    )
