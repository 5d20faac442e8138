"""The public API: what `import nassim` offers."""

import nassim


def test_all_is_sorted_and_pinned():
    """`nassim.__all__` lists exactly the public names, sorted; a change here is an API change."""
    assert nassim.__all__ == sorted(nassim.__all__)
    assert set(nassim.__all__) == {
        "LOCAL_DISK", "NINEP_WINDOWS", "ContentError", "CostModel", "Digest", "Dir", "Entry", "File",
        "FileTree", "Interrupt", "Medium", "NassimError", "OwnerSupport", "RsyncOptionError",
        "RsyncOptions", "RsyncResult", "RsyncStats", "Symlink", "TreeError", "Volume", "content_bytes",
        "content_sha1", "parse_args", "rsync", "same_content", "synthetic_bytes",
    }


def test_every_public_name_resolves():
    """Each name in `__all__` is an attribute of the package."""
    for name in nassim.__all__:
        assert getattr(nassim, name) is not None


def test_errors_subclass_their_builtin():
    """Users can catch nassim's errors as NassimError or as the builtin they refine."""
    for cls in (nassim.TreeError, nassim.RsyncOptionError, nassim.ContentError):
        assert issubclass(cls, nassim.NassimError)
        assert issubclass(cls, ValueError)
