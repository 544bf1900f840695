"""The one image-pinning rule (`vllm_nfs_constructs.images`), shared by the constructs
(`check_image`) and `vllm-nfs validate` (`image_problem`): one table, both entry points."""

from __future__ import annotations

import pytest

from vllm_nfs_constructs import ConfigurationError, validate
from vllm_nfs_constructs.images import DEFAULT_IMAGES, check_image, image_problem

SHA256 = "sha256:" + "a" * 64

# (image, pinned, what image_problem says when it is not)
CASES = [
    ("vllm/vllm-openai:v0.33.0", True, None),
    ("python:3.13.9-slim-bookworm", True, None),
    ("redis:7", True, None),  # a single-part name with a numeric tag, not a registry port
    ("docker.io/library/python:3.13", True, None),
    ("registry.local:5000/team/vllm:v1", True, None),
    ("localhost:5000/vllm:v1", True, None),
    ("[::1]:5000/vllm:v1", True, None),
    ("ghcr.io/org/sub/img:2024.10.01_rc-1", True, None),
    ("python@" + SHA256, True, None),
    ("python:3.13@" + SHA256, True, None),
    ("python:latest@" + SHA256, True, None),  # the digest pins it
    ("python@sha512:" + "b" * 128, True, None),
    ("python", False, "has no tag (pulls :latest)"),
    ("registry.local:5000/team/vllm", False, "has no tag (pulls :latest)"),
    ("localhost:5000/x", False, "has no tag (pulls :latest)"),
    ("python:latest", False, "uses :latest"),
    ("vllm/vllm-openai:latest", False, "uses :latest"),
    ("Python:3.13", False, "is not a valid image reference"),
    ("python:3.13@sha256:abc", False, "is not a valid image reference"),
    ("python:", False, "is not a valid image reference"),
    ("python:3 ", False, "is not a valid image reference"),
    ("", False, "has no image"),
    (None, False, "has no image"),
    (3.13, False, "has no image"),
]


@pytest.mark.parametrize(("image", "pinned", "says"), CASES, ids=[repr(c[0]) for c in CASES])
def test_one_rule_for_constructs_and_validate(image, pinned, says):
    problem = image_problem(image)
    if pinned:
        assert problem is None
        assert check_image("X.image", image) == image
        return
    assert problem is not None and says in problem
    if isinstance(image, str) and image:
        assert problem.startswith(f"image {image!r} ")
        assert problem.endswith(": pin a version tag or digest")
    with pytest.raises(ConfigurationError) as err:
        check_image("X.image", image)
    assert err.value.field == "X.image"
    assert "pinned by tag (not 'latest') and/or digest" in str(err.value)


def test_validate_uses_the_same_function():
    assert validate.image_problem is image_problem


@pytest.mark.parametrize("image", sorted(set(DEFAULT_IMAGES.values())))
def test_every_default_image_is_pinned(image):
    assert image_problem(image) is None
