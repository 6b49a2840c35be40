"""Output folders that are complete or absent, and output files checked before the work.

A run, an ensemble, a calibration or a sensitivity screening writes a *set* of
files. They are written into a temporary folder beside the target
(``.NAME.tmp-...``); the manifest goes last and lists the size and SHA-256 of
every file it vouches for; then the folder replaces the target in one rename
(``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames, so the target
is briefly absent, never mixed). Readers check the manifest's file table
(``verify``), so no reader combines files of two runs, and no file of an earlier
run (say ``life_events.parquet``) survives beside a new one.

One process at a time writes a folder: ``claim`` takes an advisory lock
(``.NAME.lock`` beside it, ``flock``) before the work starts and refuses a
second writer in one line. Work that can resume (an ensemble's finished runs, a
calibration's pyabc database) lives in ``NAME.partial`` beside the target until
the finished result replaces the target.

Files and folders are created with the default modes, so they follow the
user's umask.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from corridor.errors import CorridorInputError

# every file name corridor writes into an output folder: a folder holding only
# these (or nothing) may be replaced; any other file in it is the user's
OUTPUT_NAMES = frozenset(
    {
        "series.parquet",
        "manifest.json",
        "life_events.parquet",
        "quantiles.parquet",
        "observables.parquet",
        "runs.parquet",
        "meta.json",
        "posterior.parquet",
        "summary.csv",
        "calibration.db",
        "calibration.db-journal",
        "run.json",
        "sensitivity.csv",
        "sensitivity.parquet",
        "runs",
        "data_dictionary.csv",
        "data_dictionary.xlsx",
        # compare, sweep, cases
        "effects.parquet",
        "effects.csv",
        "effects.xlsx",
        "effects.png",
        "effects.svg",
        "monthly_effects.parquet",
        "sweep.parquet",
        "sweep.csv",
        "sweep.xlsx",
        "response.png",
        "response.svg",
        "cases.csv",
        "cases.xlsx",
        "court_comparison.csv",
        "court_comparison.xlsx",
    }
)
PARTIAL_SUFFIX = ".partial"
KILL_ENV = "CORRIDOR_TEST_KILL_AT"  # interruption tests: SIGKILL this process at a named step
PAUSE_ENV = "CORRIDOR_TEST_PAUSE_AT"  # interruption tests: hold this process at a named step for a Ctrl-C
PAUSE_SECONDS = 120.0
_HASH_CHUNK = 1 << 20


def checkpoint(label: str) -> None:
    """A named step of a write; the interruption tests stop the process here.

    ``CORRIDOR_TEST_KILL_AT=LABEL`` or ``LABEL#N`` (the N-th time) sends SIGKILL to
    this process when it reaches the step, so a test can stop it exactly between
    two file writes. ``CORRIDOR_TEST_PAUSE_AT`` holds it there for up to two minutes
    instead, so that a test's Ctrl-C lands while it works however fast the machine is."""
    if _reached(KILL_ENV, label):
        os.kill(os.getpid(), signal.SIGKILL)
    if _reached(PAUSE_ENV, label):
        time.sleep(PAUSE_SECONDS)


def _reached(env: str, label: str) -> bool:
    target = os.environ.get(env)
    if not target:
        return False
    name, _, nth = target.partition("#")
    if name != label:
        return False
    key = (env, label)
    _COUNTS[key] = _COUNTS.get(key, 0) + 1
    return _COUNTS[key] == int(nth or 1)


_COUNTS: dict[tuple[str, str], int] = {}


# ---------------------------------------------------------------- checks before the work


def path_kind(path: Path) -> str:
    """'missing', 'under-file' (a file stands in the path), 'folder', 'file' or 'other', without raising."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        try:
            os.lstat(path)
            return "other"  # a dangling symbolic link
        except OSError:
            return "missing"
    except NotADirectoryError:
        return "under-file"
    except (OSError, ValueError) as exc:
        raise CorridorInputError(f"{path}: cannot use this path ({_reason(exc)}); choose another") from None
    return "folder" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def resolve(path: str | Path, flag: str) -> Path:
    """An absolute path with symbolic links resolved, or a one-line refusal."""
    text = str(path)
    if not text.strip():
        raise CorridorInputError(f"{flag}: empty path; give a path")
    if "\x00" in text:
        raise CorridorInputError(f"{flag}: the path contains a NUL character; give a plain path")
    try:
        resolved = Path(os.path.realpath(text))
    except (OSError, ValueError) as exc:
        raise CorridorInputError(f"{flag} {text}: cannot use this path ({_reason(exc)}); choose another") from None
    if resolved.parent == resolved:
        raise CorridorInputError(f"{flag} {text}: the root folder cannot be an output; give a folder below it")
    return resolved


def _nearest_existing(path: Path, flag: str) -> Path:
    """The nearest existing ancestor of ``path``; refused if a file stands in the way."""
    for ancestor in path.parents:
        kind = path_kind(ancestor)
        if kind == "folder":
            return ancestor
        if kind in ("file", "other"):
            raise CorridorInputError(f"{flag} {path}: {ancestor} is a file, not a folder; choose another path")
    return Path(path.anchor)


def _check_writable_in(folder: Path, flag: str, path: Path) -> None:
    """Try it: permission bits say nothing for root or on a read-only file system."""
    probe = folder / f".corridor-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError as exc:
        raise CorridorInputError(f"{flag} {path}: cannot write in {folder} ({_reason(exc)}); choose a writable path") from None
    probe.rmdir()


def check_output_folder(out: str | Path, flag: str = "--out") -> Path:
    """Refuse, before any work, an output folder that cannot be written or holds the user's files."""
    if str(out) in ("", "."):  # an empty option reaches us as '.': the working folder is never replaced whole
        raise CorridorInputError(f"{flag}: give the name of a folder to write (not the current folder)")
    target = resolve(out, flag)
    if len(target.name.encode()) > 200:
        raise CorridorInputError(f"{flag}: the folder name is too long; choose a shorter one")
    kind = path_kind(target)
    if kind == "under-file":
        _nearest_existing(target, flag)
    if kind in ("file", "other"):
        raise CorridorInputError(f"{flag} {out}: is a file, not a folder; choose a folder path")
    if kind == "folder":
        try:
            entries = sorted(os.listdir(target))
        except OSError as exc:
            raise CorridorInputError(f"{flag} {out}: cannot read this folder ({_reason(exc)}); choose another") from None
        foreign = [e for e in entries if e not in OUTPUT_NAMES and e not in _listed_files(target)]
        if foreign:
            raise CorridorInputError(
                f"{flag} {out}: holds files that corridor did not write (e.g. {foreign[0]!r}); "
                "give a new or empty folder, or one written by corridor"
            )
        _check_writable_in(target.parent, flag, Path(out))
    else:
        _check_writable_in(_nearest_existing(target, flag), flag, Path(out))
    return target


def _listed_files(folder: Path) -> set[str]:
    """Files a corridor manifest in ``folder`` vouches for (it wrote them), if it has one."""
    for name in ("manifest.json", "meta.json"):
        try:
            table = json.loads((folder / name).read_text(encoding="utf-8")).get("files")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(table, dict):
            return set(table) | {name}
    return set()


def check_output_file(path: str | Path, flag: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Refuse, before any work, an output file that cannot be written (a folder, a file in the way,
    no permission, a format that is not offered)."""
    text = str(path)
    if text.endswith(("/", os.sep)):
        raise CorridorInputError(f"{flag} {text}: names a folder; give a file name")
    target = resolve(path, flag)
    if len(target.name.encode()) > 200:
        raise CorridorInputError(f"{flag}: the file name is too long; choose a shorter one")
    if suffixes is not None:
        suffix = target.suffix.lower().lstrip(".")
        if suffix not in suffixes:
            shown = f"'.{suffix}'" if suffix else "no extension"
            raise CorridorInputError(f"{flag} {text}: {shown} is not a format offered; end the name in one of .{', .'.join(suffixes)}")
    kind = path_kind(target)
    if kind == "folder":
        raise CorridorInputError(f"{flag} {text}: is a folder; give a file name")
    if kind == "other":
        raise CorridorInputError(f"{flag} {text}: is not a regular file; give a file name")
    if kind == "file":
        _check_writable_in(target.parent, flag, Path(text))
    else:
        _check_writable_in(_nearest_existing(target, flag), flag, Path(text))
    return target


# ---------------------------------------------------------------- the lock


_held: dict[Path, list] = {}  # target -> [fd, count]: a process may claim a folder it already holds
_held_guard = threading.Lock()


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _acquire(target: Path, flag: str) -> None:
    with _held_guard:
        if target in _held:
            _held[target][1] += 1
            return
        path = _lock_path(target)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise CorridorInputError(
                    f"{flag} {target}: another corridor process (pid {holder}) is writing this folder; "
                    "wait for it to finish or choose another folder"
                ) from None
            try:  # the file may have been removed by its previous holder: lock the one on disk
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held[target] = [fd, 1]
    _remove_stale(target)


def _release(target: Path) -> None:
    with _held_guard:
        entry = _held[target]
        entry[1] -= 1
        if entry[1]:
            return
        del _held[target]
        Path(_lock_path(target)).unlink(missing_ok=True)
        os.close(entry[0])


def _remove_stale(target: Path) -> None:
    """Temporary folders of writers that died: only the lock holder writes them."""
    prefixes = (f".{target.name}.tmp-", f".{target.name}.old-")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        if name.startswith(prefixes):
            shutil.rmtree(target.parent / name, ignore_errors=True)


@contextmanager
def claim(out: str | Path, flag: str = "--out") -> Iterator[Path]:
    """Check ``out``, create its parent folders and hold its lock for the block.

    Call it before the work starts, so that a bad path or a second writer is refused
    before any simulation. On failure, parent folders it created are removed again
    (a refused or interrupted command leaves no new folder behind)."""
    target = check_output_folder(out, flag)
    created = _make_parents(target.parent, flag, Path(out))
    try:
        _acquire(target, flag)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        yield target
    except KeyboardInterrupt as exc:
        note = _interrupt_note(target)
        if note not in getattr(exc, "__notes__", ()):  # claims nest (the command's, the writer's)
            exc.add_note(note)
        _release(target)
        _remove_empty(created)
        raise
    except BaseException:
        _release(target)
        _remove_empty(created)
        raise
    _release(target)


def _interrupt_note(target: Path) -> str:
    partial = partial_dir(target)
    if partial.is_dir():
        return f"the finished work is kept in {partial}; rerun the same command to continue"
    if target.is_dir():
        return f"{target} was left as it was"
    return f"nothing was written to {target}"


def _make_parents(folder: Path, flag: str, shown: Path) -> list[Path]:
    missing = []
    for p in (folder, *folder.parents):
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            pass
        except OSError as exc:
            _remove_empty(missing)
            raise CorridorInputError(f"{flag} {shown}: cannot create {p} ({_reason(exc)}); choose a writable path") from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for p in folders:  # deepest first
        try:
            p.rmdir()
        except OSError:
            return


# ---------------------------------------------------------------- writing a folder


def partial_dir(out: str | Path) -> Path:
    """Where resumable work for ``out`` is kept until the result replaces ``out``."""
    target = Path(os.path.realpath(out))
    return target.parent / (target.name + PARTIAL_SUFFIX)


def file_table(folder: Path, skip: str) -> dict[str, dict]:
    """Size and SHA-256 of every file below ``folder`` but ``skip``, by relative path."""
    table = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != skip:
            table[rel] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
    return table


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def commit(folder: Path, target: Path, manifest_name: str, manifest: dict) -> Path:
    """Write the manifest (with the file table) last, then let ``folder`` replace ``target``."""
    data = {**manifest, "files": file_table(folder, skip=manifest_name)}
    write_json(data, folder / manifest_name)
    for path in folder.rglob("*"):
        if path.is_file():
            _fsync(path)
    _fsync(folder)
    checkpoint("commit")
    _swap(folder, target)
    return target


def _swap(src: Path, target: Path) -> None:
    if not target.exists() or _is_empty_dir(target):
        os.replace(src, target)
    elif _exchange(src, target):  # src now holds the old folder
        shutil.rmtree(src, ignore_errors=True)
    else:
        old = target.parent / f".{target.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(target, old)
        checkpoint("between-renames")
        os.rename(src, target)
        shutil.rmtree(old, ignore_errors=True)
    _fsync(target.parent)


def _is_empty_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not any(os.scandir(path))
    except OSError:
        return False


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where it is not offered."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Staging:
    """A temporary folder beside the target; ``commit`` makes it the target."""

    def __init__(self, target: Path):
        self.target = target
        self.path = target.parent / f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        self.committed = False

    def commit(self, manifest_name: str, manifest: dict) -> Path:
        commit(self.path, self.target, manifest_name, manifest)
        self.committed = True
        return self.target


@contextmanager
def staging(out: str | Path, flag: str = "--out") -> Iterator[Staging]:
    """Claim ``out`` and give a fresh temporary folder to write into; nothing of it
    remains unless ``commit`` is called at the end of the block."""
    with claim(out, flag) as target:
        stage = Staging(target)
        stage.path.mkdir()
        try:
            yield stage
        finally:
            if not stage.committed:
                shutil.rmtree(stage.path, ignore_errors=True)


# ---------------------------------------------------------------- single files


def _temporary_name(path: Path) -> Path:
    return path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{path.suffix}"


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write one file through a temporary name and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    checkpoint(f"wrote:{path.name}")
    return path


def write_json(data, path: str | Path) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True, allow_nan=True)
            fh.write("\n")

    return write_atomic(path, write)


# ---------------------------------------------------------------- reading a folder


class Incomplete(CorridorInputError):
    """A folder that is not a complete output of corridor."""


def incomplete(folder: Path, what: str, reason: str, rerun: str) -> Incomplete:
    return Incomplete(f"{folder}: this folder is not a complete {what} ({reason}); rerun {rerun}")


def read_manifest(folder: str | Path, manifest_name: str, what: str, rerun: Callable[[dict], str], flag: str) -> dict:
    """The manifest of an output folder, or a one-line refusal."""
    folder = Path(folder)
    kind = path_kind(folder)
    if kind == "missing" or kind == "under-file":
        raise CorridorInputError(f"{flag} {folder}: no such folder; give a folder written by corridor")
    if kind != "folder":
        raise CorridorInputError(f"{flag} {folder}: is a file; give the folder written by corridor")
    path = folder / manifest_name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise incomplete(folder, what, f"{manifest_name} is missing", rerun({})) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise incomplete(folder, what, f"{manifest_name} cannot be read: {_reason(exc)}", rerun({})) from None
    try:
        manifest = json.loads(text)
    except (ValueError, RecursionError):
        raise incomplete(folder, what, f"{manifest_name} is not valid JSON", rerun({})) from None
    if not isinstance(manifest, dict):
        raise incomplete(folder, what, f"{manifest_name} is not a JSON object", rerun({}))
    return manifest


def verify(folder: str | Path, manifest: dict, names: list[str], what: str, rerun: str, strict: bool = True) -> None:
    """Check that the files ``names`` are those the manifest vouches for (size and SHA-256).

    ``strict``: a manifest without a file table is refused (written by hand or before
    corridor listed its files); otherwise only the files' presence is checked."""
    folder = Path(folder)
    table = manifest.get("files")
    if table is None and strict:
        raise incomplete(folder, what, "its manifest lists no files", rerun)
    if table is not None and not isinstance(table, dict):
        raise incomplete(folder, what, "its manifest's file table is malformed", rerun)
    for name in names:
        path = folder / name
        if not path.is_file():
            raise incomplete(folder, what, f"{name} is missing", rerun)
        if table is None:
            continue
        entry = table.get(name)
        if not isinstance(entry, dict):
            raise incomplete(folder, what, f"its manifest does not list {name}", rerun)
        try:
            size = path.stat().st_size
            same = size == entry.get("bytes") and sha256_of(path) == entry.get("sha256")
        except OSError as exc:
            raise incomplete(folder, what, f"{name} cannot be read: {_reason(exc)}", rerun) from None
        if not same:
            raise incomplete(folder, what, f"{name} differs from the file its manifest lists: truncated or replaced", rerun)
