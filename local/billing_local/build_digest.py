"""Digest of a `sam build` artefact: one line per file (sha256 and path, sorted), then the digest of
those lines. Contents only: two builds are the same artefact when this file is the same. The
bytecode is part of the artefact (the layer ships it, layers/billing_core/Makefile) and is compared
like any file: it is built deterministic (unchecked-hash, no dates in it).

    python -m billing_local.build_digest .aws-sam/build"""
import hashlib
import sys
from pathlib import Path


def digest(root: Path) -> list[str]:
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative == "template.yaml":  # sam's rewritten template names absolute paths of this machine
            continue
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {relative}")
    lines.append(f"{hashlib.sha256(chr(10).join(lines).encode()).hexdigest()}  (all {len(lines)} files)")
    return lines


if __name__ == "__main__":
    print("\n".join(digest(Path(sys.argv[1]))))
