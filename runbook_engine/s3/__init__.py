"""Backups in S3: client configuration, key naming, streamed multipart upload, verified
download, the host-side archive commands, and the grandfather-father-son retention policy.

Everything here runs on the controller. S3 credentials never leave it: the host only ever
produces or consumes a byte stream over its connection.
"""
