"""What `make build` ships (layers/billing_core/Makefile): the layer leaves out exactly the AWS SDK
the python3.12 runtime already has, keeps nothing that needs a newer SDK than the runtime's, and the
artefact's digest covers the bytecode it ships. Offline and untimed: `make build-check` builds it
twice, `make bench` times it (docs/benchmarks.md, table 2)."""
import re
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from billing_local import bench_cold, build_digest, template
from billing_local.template import ROOT

LAYER_DIR = ROOT / "layers" / "billing_core"


def runtime_provided() -> set[str]:
    """The packages the layer's Makefile leaves out (RUNTIME_PROVIDED)."""
    text = (LAYER_DIR / "Makefile").read_text()
    return {canonicalize_name(n) for n in re.search(r"^RUNTIME_PROVIDED := (.+)$", text, re.M).group(1).split()}


def locked() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (LAYER_DIR / "requirements.txt").read_text(), re.M)
    return {canonicalize_name(name): Version(version) for name, version in pins}


def requirements_of(package: str) -> list[Requirement]:
    """What a package needs at run time (no extras), from its metadata in this venv."""
    found = [Requirement(r) for r in metadata.requires(package) or []]
    return [r for r in found if r.marker is None or r.marker.evaluate({"extra": ""})]


def sdk_closure() -> set[str]:
    seen, todo = set(), ["boto3"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name not in seen:
            seen.add(name)
            todo += [r.name for r in requirements_of(name)]
    return seen


def test_the_layer_leaves_out_the_runtime_sdk_and_nothing_else():
    assert runtime_provided() == sdk_closure()
    assert runtime_provided() <= set(locked())  # each is locked, so the Makefile's filter drops a real entry


def test_what_the_layer_keeps_accepts_the_runtimes_sdk():
    runtime_sdk = Version(bench_cold.RUNTIME_SDK)
    kept = set(locked()) - runtime_provided()
    assert {"pynamodb", "holidays"} <= kept
    for package in kept:
        for requirement in requirements_of(package):
            if canonicalize_name(requirement.name) in {"boto3", "botocore"}:
                assert requirement.specifier.contains(runtime_sdk), (package, str(requirement))


def test_the_layer_is_built_by_its_makefile():
    layer = template.load()["Resources"]["BillingCoreLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["ContentUri"].rstrip("/") == "layers/billing_core"
    assert re.search(r"^build-BillingCoreLayer:", (LAYER_DIR / "Makefile").read_text(), re.M)


def test_the_digest_covers_the_shipped_bytecode(tmp_path):
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    pyc = tmp_path / "pkg" / "__pycache__" / "mod.cpython-312.pyc"
    pyc.write_bytes(b"compiled once")
    first = build_digest.digest(tmp_path)
    pyc.write_bytes(b"compiled otherwise")
    assert "pkg/__pycache__/mod.cpython-312.pyc" in "\n".join(first)
    assert build_digest.digest(tmp_path)[-1] != first[-1]
