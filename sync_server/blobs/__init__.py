"""Where the server keeps photos' bytes: a `BlobStore`, chosen by the settings.

    BlobStore (protocol.py)      what the photo service needs: whole objects by key, and
                                 part-uploads written chunk by chunk at an offset
    ├── DirectoryBlobStore       files under the data directory (the default; directory.py)
    └── S3BlobStore              an S3-compatible bucket through boto3 (production; s3.py)

The database's `photos` table, not the store, says how many bytes of an upload count: a chunk
written whose transaction then failed is simply written over by the retry.
"""

from __future__ import annotations

from sync_server.blobs.directory import DirectoryBlobStore
from sync_server.blobs.protocol import BlobStore
from sync_server.config import Settings

__all__ = ["BlobStore", "DirectoryBlobStore", "blob_store_for"]


def blob_store_for(settings: Settings) -> BlobStore:
    """The photo store the settings name."""
    if settings.photo_store == "s3":
        from sync_server.blobs.s3 import S3BlobStore  # boto3 loads only where it is used

        return S3BlobStore.from_settings(settings)
    return DirectoryBlobStore(settings.photo_path)
