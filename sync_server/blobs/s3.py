"""Photos in an S3-compatible bucket (AWS S3, MinIO, Ceph, Alibaba OSS...) through boto3.

S3 objects cannot be appended to, and a multipart upload's parts must be 5 MiB but the last,
while a phone sends chunks of a few hundred KB. So a part-upload is kept as one object per
chunk, `<key>.parts/<offset, 16 digits>`; reading it back follows the chain from offset 0 (each
chunk's successor starts where it ends), so a chunk left over from a retried request that the
database never counted is skipped, and deleted with the rest when the upload completes.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from sync_server.config import Settings

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3BlobStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            # Path-style addressing: what MinIO and most S3-compatible servers expect.
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )
        return cls(client, settings.s3_bucket)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        data: bytes = answer["Body"].read()
        return data

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def write_part(self, key: str, offset: int, data: bytes) -> None:
        self.put(_chunk(key, offset), data)

    def read_part(self, key: str, length: int) -> bytes:
        sizes = self._chunks(key)
        out = bytearray()
        while len(out) < length:
            if len(out) not in sizes:
                raise FileNotFoundError(f"{key}: no chunk at offset {len(out)}")
            chunk = self.get(_chunk(key, len(out)))
            if chunk is None:
                raise FileNotFoundError(f"{key}: the chunk at offset {len(out)} vanished")
            out += chunk
        return bytes(out[:length])

    def delete_part(self, key: str) -> None:
        for offset in self._chunks(key):
            self.delete(_chunk(key, offset))

    def _chunks(self, key: str) -> dict[int, int]:
        """offset -> size of each chunk object of the part-upload `key`."""
        prefix = self._key(key + ".parts/")
        found: dict[int, int] = {}
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[int(item["Key"][len(prefix) :])] = int(item["Size"])
        return found


def _chunk(key: str, offset: int) -> str:
    return f"{key}.parts/{offset:016d}"
