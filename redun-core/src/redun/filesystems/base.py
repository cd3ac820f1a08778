"""The interface a URL protocol implements so redun can reach, hash and list its files.

Every remote protocol goes through fsspec. A :class:`FileSystemSupport` adds what
redun needs on top: how a file hashes (from its fsspec ``info``), how many files
hash at once, and which package to install when the filesystem is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import fsspec

# Threads used to hash or list many paths at once on a filesystem without async batching.
MAX_THREADS = 16


class FileSystemUnavailableError(ImportError):
    """A URL's filesystem cannot be used: its package is not installed or its protocol is
    unknown. The message names the URL and what to install."""


def _missing_module(error: ImportError) -> str:
    """The module whose import failed behind ``error`` (fsspec re-raises without the name)."""
    for candidate in (error, error.__cause__, error.__context__):
        name = getattr(candidate, "name", None)
        if isinstance(candidate, ImportError) and name:
            return name.split(".")[0]
    return ""


class FileSystemSupport:
    """How redun reaches, hashes and lists the files of one URL protocol, through fsspec.

    A plugin registers a subclass per protocol with the ``register_file_systems``
    hook; redun builds it as ``support_class(protocol)`` the first time it meets a
    URL of that protocol. Import heavy packages inside methods, never at module
    level, so that registering costs nothing. Subclasses override :meth:`hash_info`
    and may override :meth:`hashes` and :meth:`listings` to batch their requests.
    """

    #: The package that provides the fsspec filesystem ("" when fsspec has it built in).
    package: ClassVar[str] = ""
    #: What to ``pip install`` to get it (defaults to :attr:`package`).
    install: ClassVar[str] = ""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol

    # Reaching files ----------------------------------------------------------------------
    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for ``fsspec.filesystem(protocol, ...)``."""
        return {}

    def filesystem(self, url: str) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem for ``url`` (fsspec keeps one instance per options)."""
        import fsspec

        try:
            return fsspec.filesystem(self.protocol, **self.storage_options())
        except ImportError as error:
            raise FileSystemUnavailableError(self.missing_message(url, error)) from None
        except ValueError as error:
            if "protocol" not in str(error).lower():
                raise
            raise FileSystemUnavailableError(
                f"{url}: no filesystem is installed for {self.protocol}:// URLs; install a "
                "redun plugin or an fsspec package that provides it"
            ) from None

    def missing_message(self, url: str, error: ImportError) -> str:
        """One line naming ``url`` and the package that would make it work."""
        package = self.package or _missing_module(error)
        install = self.install or package
        if not package:
            return f"{url} needs a package that is not installed: {' '.join(str(error).split())}"
        return f"{url} needs {package}: pip install {install}"

    def fs_path(self, url: str) -> str:
        """The path to hand to the fsspec filesystem for ``url`` (the URL itself by default)."""
        return url

    def to_url(self, fs_path: str) -> str:
        """The URL of a path the fsspec filesystem listed (which drops the protocol)."""
        if "://" in fs_path:
            return fs_path
        return f"{self.protocol}://{fs_path.lstrip('/')}"

    # Hashing -----------------------------------------------------------------------------
    def hash_info(self, url: str, info: dict[str, Any] | None) -> str:
        """The hash of the file at ``url`` from its fsspec ``info`` (None when it is missing)."""
        raise NotImplementedError

    def info(self, url: str) -> dict[str, Any] | None:
        """fsspec's info for the file at ``url``; None when no file is there."""
        try:
            info = self.filesystem(url).info(self.fs_path(url))
        except FileNotFoundError:
            return None
        return info if info.get("type", "file") == "file" else None

    def hash(self, url: str) -> str:
        """The current hash of the file at ``url``."""
        return self.hash_info(url, self.info(url))

    def hashes(self, urls: list[str]) -> list[str]:
        """Current hashes of many files at once (threads by default)."""
        return _map(self.hash, urls)

    # Listing -----------------------------------------------------------------------------
    def listing(self, pattern: str) -> dict[str, str]:
        """``{url: hash}`` of the files (not directories) matching a glob, sorted by URL."""
        fs = self.filesystem(pattern)
        found = fs.glob(self.fs_path(pattern), detail=True)
        result: dict[str, str] = {}
        for path, info in sorted(found.items()):
            if info.get("type", "file") == "file":
                url = self.to_url(path)
                result[url] = self.hash_info(url, info)
        return result

    def listings(self, patterns: list[str]) -> list[dict[str, str]]:
        """:meth:`listing` of many globs at once (threads by default)."""
        return _map(self.listing, patterns)


def _map(func: Any, items: list[str]) -> list[Any]:
    """``[func(item) ...]``, in threads when there is more than one item."""
    if len(items) <= 1:
        return [func(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(items))) as pool:
        return list(pool.map(func, items))
