"""What a check is given: the signed version and the limits it must keep to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Signed:
    """The signed version of an item. The body refers to its images as
    <img src="sanshen-image:SHA256">; `images` maps each SHA-256 to the signed bytes."""

    title: str
    body_html: str
    images: Mapping[str, bytes]


@dataclass(frozen=True)
class Limits:
    connect_timeout: float = 3.0
    read_timeout: float = 10.0  # between two bytes
    total_seconds: float = 20.0  # wall clock for the page, redirects included
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    max_images: int = 30  # images fetched and compared; the count is checked for all
    image_max_bytes: int = 10 * 1024 * 1024
    image_seconds: float = 5.0  # wall clock for one image
    images_total_seconds: float = 30.0  # wall clock for all the images of a page
    image_max_pixels: int = 40_000_000  # larger images are not decoded (reported, not compared)
    # Largest 64-bit pHash distance still counted as the same picture. bench/verify.py
    # (2026-12-07): copies recompressed (JPEG q45-80, PNG) and resized to 40-90% differ by at
    # most 6, swapped pictures by at least 18.
    image_similarity: int = 12
