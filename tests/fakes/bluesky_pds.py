"""A fake Bluesky PDS (PLATFORMS.md, Bluesky): sessions, getSession, uploadBlob, put/create/
deleteRecord.

Enforces: app-password sessions with expiring access tokens (400 ExpiredToken) and refresh,
blobs ≤ 2,000,000 bytes with a Content-Type, post records ≤ 300 graphemes and ≤ 3000 UTF-8
bytes, ≤ 4 images with existing blobs and alt text, valid facet byte ranges, TID record keys,
putRecord upserting the same rkey and createRecord on an existing rkey failing with 500, all
with XRPC `{"error", "message"}` bodies.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import regex

from tests.fakes.server import FakePlatform, Request, Response

TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
MAX_BLOB = 2_000_000
MAX_REQUEST = 5 * 1024 * 1024


def xrpc_error(status: int, name: str, message: str = "") -> Response:
    return Response(status, {"error": name, "message": message})


def invalid(message: str) -> Response:
    return xrpc_error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {message}")


@dataclass
class FakeBluesky(FakePlatform):
    handle_name: str = "suarapesisir.test"
    password: str = "abcd-efgh-ijkl-mnop"
    did: str = "did:plc:fakesuarapesisir"
    blobs: dict[str, bytes] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions_created: int = 0
    refreshes: int = 0

    def __post_init__(self) -> None:
        super().__init__()
        self._counter = itertools.count(1)
        self._access: dict[str, bool] = {}  # token → still valid
        self._refresh: set[str] = set()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 400 ExpiredToken."""
        self._access = dict.fromkeys(self._access, False)

    def _new_tokens(self) -> dict[str, str]:
        n = next(self._counter)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self._access[access] = True
        self._refresh.add(refresh)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "did": self.did,
            "handle": self.handle_name,
        }

    def _bearer(self, request: Request) -> str | None:
        value = request.headers.get("Authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None

    def handle(self, request: Request) -> Response:
        nsid = request.path.removeprefix("/xrpc/")
        if len(request.body) > MAX_REQUEST:
            return xrpc_error(413, "PayloadTooLarge", "request entity too large")
        if nsid == "com.atproto.server.createSession":
            data = request.json()
            if (
                data.get("identifier") not in (self.handle_name, self.did)
                or data.get("password") != self.password
            ):
                return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
            self.sessions_created += 1
            return Response(200, self._new_tokens())
        token = self._bearer(request)
        if token is None:
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if nsid == "com.atproto.server.refreshSession":
            if token not in self._refresh:
                return xrpc_error(400, "ExpiredToken", "Token has been revoked")
            self._refresh.discard(token)  # refresh tokens are single-use
            self.refreshes += 1
            return Response(200, self._new_tokens())
        if token not in self._access:
            return xrpc_error(400, "InvalidToken", "Token could not be verified")
        if not self._access[token]:
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        if nsid == "com.atproto.server.getSession":
            if request.method != "GET":
                return xrpc_error(400, "InvalidRequest", "getSession is a query (GET)")
            return Response(200, {"handle": self.handle_name, "did": self.did, "active": True})
        if nsid == "com.atproto.repo.uploadBlob":
            return self._upload(request)
        if nsid in ("com.atproto.repo.putRecord", "com.atproto.repo.createRecord"):
            return self._write(nsid, request.json())
        if nsid == "com.atproto.repo.deleteRecord":
            data = request.json()
            if data.get("repo") != self.did:
                return xrpc_error(400, "InvalidRequest", "repo must be the session's DID")
            self.records.pop(str(data.get("rkey")), None)
            return Response(200, {})
        return xrpc_error(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")

    def _upload(self, request: Request) -> Response:
        content_type = request.headers.get("Content-Type", "")
        if not content_type or (content_type == "application/octet-stream" and not request.body):
            return xrpc_error(400, "InvalidRequest", "missing content type")
        if len(request.body) > MAX_BLOB:
            return xrpc_error(400, "InvalidRequest", f"blob too big (maximum {MAX_BLOB})")
        cid = "bafkrei" + hashlib.sha256(request.body).hexdigest()[:40]
        self.blobs[cid] = request.body
        return Response(
            200,
            {
                "blob": {
                    "$type": "blob",
                    "ref": {"$link": cid},
                    "mimeType": content_type,
                    "size": len(request.body),
                }
            },
        )

    def _validate(self, record: Any) -> Response | None:
        if not isinstance(record, dict) or record.get("$type") != "app.bsky.feed.post":
            return invalid("Record/$type must be app.bsky.feed.post")
        text = record.get("text")
        if not isinstance(text, str) or not isinstance(record.get("createdAt"), str):
            return invalid('Record must have the properties "text" and "createdAt"')
        if len(regex.findall(r"\X", text)) > 300:
            return invalid("Record/text must not be longer than 300 graphemes")
        encoded = text.encode("utf-8")
        if len(encoded) > 3000:
            return invalid("Record/text must not be longer than 3000 characters")
        for facet in record.get("facets", []):
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            if not 0 <= start < end <= len(encoded):
                return invalid("Record/facets byte range out of bounds")
            for feature in facet.get("features", []):
                if feature.get("$type") == "app.bsky.richtext.facet#tag":
                    tag = feature.get("tag", "")
                    if not tag or tag.startswith("#") or len(regex.findall(r"\X", tag)) > 64:
                        return invalid("Record/facets/features/tag must be 1-64 graphemes")
        embed = record.get("embed")
        if embed is not None:
            images = embed.get("images", [])
            if embed.get("$type") != "app.bsky.embed.images" or not images:
                return invalid("Record/embed must be app.bsky.embed.images with images")
            if len(images) > 4:
                return invalid("Record/embed/images must not have more than 4 elements")
            for image in images:
                if not isinstance(image.get("alt"), str):
                    return invalid('Record/embed/images/0 must have the property "alt"')
                ratio = image.get("aspectRatio", {"width": 1, "height": 1})
                if ratio["width"] < 1 or ratio["height"] < 1:
                    return invalid("Record/embed/images/0/aspectRatio must be positive")
                if image["image"]["ref"]["$link"] not in self.blobs:
                    return xrpc_error(400, "BlobNotFound", "Could not find blob")
        return None

    def _write(self, nsid: str, data: dict[str, Any]) -> Response:
        if data.get("repo") not in (self.did, self.handle_name):
            return xrpc_error(400, "InvalidRequest", "repo must be the session's DID")
        rkey = str(data.get("rkey") or "")
        if nsid.endswith("createRecord") and not rkey:
            rkey = "3k" + hashlib.sha256(str(next(self._counter)).encode()).hexdigest()[:11]
            rkey = "".join(c if c in "234567abcdefghijklmnopqrstuvwxyz" else "a" for c in rkey)
        if not TID.match(rkey):
            return xrpc_error(400, "InvalidRequest", "Invalid record key: must be a TID")
        problem = self._validate(data.get("record"))
        if problem is not None:
            return problem
        if nsid.endswith("createRecord") and rkey in self.records:
            return xrpc_error(500, "InternalServerError", "Internal Server Error")
        self.records[rkey] = data["record"]
        cid = "bafyrei" + hashlib.sha256(repr(data["record"]).encode()).hexdigest()[:40]
        return Response(200, {"uri": f"at://{self.did}/app.bsky.feed.post/{rkey}", "cid": cid})
