"""nassim: the Kubernetes multi-NAS test bed (NFS pods syncing with Windows folders by rsync), simulated.

Layers, lowest first: the file-tree model (:mod:`nassim.tree`), the rsync
model (:mod:`nassim.rsync`), the cost model (:mod:`nassim.costs`).
"""

from nassim import rsync
from nassim.costs import LOCAL_DISK, NINEP_WINDOWS, CostModel, Medium
from nassim.errors import ContentError, NassimError, RsyncOptionError, TreeError
from nassim.rsync import Interrupt, RsyncOptions, RsyncResult, RsyncStats, parse_args
from nassim.tree import (
    Digest,
    Dir,
    Entry,
    File,
    FileTree,
    OwnerSupport,
    Symlink,
    Volume,
    content_bytes,
    content_sha1,
    same_content,
    synthetic_bytes,
)

__all__ = [
    "ContentError",
    "CostModel",
    "Digest",
    "Dir",
    "Entry",
    "File",
    "FileTree",
    "Interrupt",
    "LOCAL_DISK",
    "Medium",
    "NINEP_WINDOWS",
    "NassimError",
    "OwnerSupport",
    "RsyncOptionError",
    "RsyncOptions",
    "RsyncResult",
    "RsyncStats",
    "Symlink",
    "TreeError",
    "Volume",
    "content_bytes",
    "content_sha1",
    "parse_args",
    "rsync",
    "same_content",
    "synthetic_bytes",
]
