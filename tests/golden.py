"""The worked pricing cases every build must pass: ../shared/golden/<name>.json where the
project sits beside shared/ (as in CI), else the copy kept in the repository for other clones."""
import json
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1].parent / "shared" / "golden"
HERE = Path(__file__).resolve().parent


def _cases(name: str) -> tuple[list, Path, Path]:
    shared, copy = GOLDEN / f"{name}.json", HERE / f"golden_{name}.json"
    return json.loads((shared if shared.exists() else copy).read_text()), shared, copy


CASES, SHARED, COPY = _cases("tariffs")  # SPEC §3
SURCHARGE_CASES, SURCHARGES_SHARED, SURCHARGES_COPY = _cases("surcharges")  # SPEC §10
