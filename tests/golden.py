"""The worked pricing cases every build must pass: ../shared/golden/tariffs.json where the
project sits beside shared/ (as in CI), else the copy kept in the repository for other clones."""
import json
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "golden" / "tariffs.json"
COPY = Path(__file__).resolve().parent / "golden_tariffs.json"
CASES = json.loads((SHARED if SHARED.exists() else COPY).read_text())
