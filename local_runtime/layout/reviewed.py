"""Imports the layout cannot judge by reading them, each judged by a person who read the code.

The layout fails on any such import that is not listed here, so an upgrade of the SDK, the
fdk or pydantic that adds one is read before it ships. A review can name words that would
make it wrong: if the function's own code mentions one, the review no longer applies and
the layout fails until someone reads the code again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Review:
    why: str
    keep_whole: tuple[str, ...] = ()  # packages that hold every module a computed import can load
    keep: bool = False  # an optional import kept all the same
    unless_function_mentions: tuple[str, ...] = ()


# Module -> what its imports with a computed name (`import_module(name)`) can load.
REVIEWED_COMPUTED_IMPORTS: dict[str, Review] = {
    "six": Review("six.moves maps Python 2 names to standard-library modules, which the image's Python has"),
    "oci._vendor.six": Review("the SDK's copy of six: six.moves maps Python 2 names to standard-library modules"),
    "oci._vendor.requests.packages": Review(
        "aliases the vendored idna and chardet as requests.packages.*", keep_whole=("oci._vendor",)
    ),
    "pydantic": Review(
        "`from pydantic import X` loads X's module from the _dynamic_imports table, which names pydantic's own modules",
        keep_whole=("pydantic",),
    ),
    "pydantic._internal._validators": Review(
        "import_string loads what a field typed ImportString holds, and the v1 names that pydantic._migration "
        "moved, all inside pydantic and pydantic_core; the function has no ImportString field",
        keep_whole=("pydantic", "pydantic_core"),
        unless_function_mentions=("ImportString", "PyObject"),
    ),
    "pydantic.v1.utils": Review(
        "pydantic v1's import_string loads what a field typed PyObject holds; the function does not use pydantic.v1",
        unless_function_mentions=("pydantic.v1", "PyObject"),
    ),
    "pydantic.v1.version": Review(
        "version_info() only lists which optional packages (devtools, dotenv, email-validator) are installed"
    ),
}

# Installed top-level package that a kept module imports only if it is there (inside `try: ...
# except ImportError`) -> why leaving it out changes nothing the function does, or (keep) why
# it stays.
REVIEWED_OPTIONAL_IMPORTS: dict[str, Review] = {
    "idna": Review(
        "urllib3 encodes a host name that is not ASCII with idna, and fails without it; endpoints are set by "
        "operators (BLOCKSTORAGE_ENDPOINT), so it stays",
        keep=True,
    ),
    "pkcs11": Review(
        "oci.auth.signers imports its HSM (PKCS#11) signer only if python-pkcs11 is installed, and carries on "
        "without it; the function signs with resource principals",
        unless_function_mentions=("PKCS11", "pkcs11"),
    ),
    "OpenSSL": Review(
        "the SDK's vendored requests injects pyOpenSSL into urllib3 only when the ssl module lacks SNI, "
        "which CPython 3.11's never does"
    ),
    "cython": Review(
        "pydantic.v1.version reads cython.compiled to report whether pydantic v1 itself was compiled; "
        "Cython comes with the fdk only as a declared build dependency"
    ),
}
