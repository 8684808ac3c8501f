"""Table 2 of `make bench`: each handler's cold-start import as Lambda runs it, against the runtime's
own `import boto3`.

What is measured is the `sam build` output (.aws-sam/build, from `make build`), bytecode exactly as
shipped, in a python3.12 laid out as the python3.12 runtime is:
- sys.path as the runtime's /var/runtime/bootstrap.py sets it before it imports the handler: the
  function (/var/task), the layer (/opt/python/lib/python3.12/site-packages, /opt/python), the
  runtime's site-packages (/var/lang/lib/python3.12/site-packages: from python3.11 on, AWS's docs
  say, the runtime-included SDK lives there), then the standard library; and the standard modules
  that bootstrap.py and awslambdaric have imported by then (json, logging, decimal, concurrent.futures,
  ...) already loaded;
- that SDK installed outside the artefact, the way the runtime image has it: by pip, compiled at
  install (timestamp .pyc, valid since the image keeps the files' dates);
- the environment variables the runtime sets (AWS_LAMBDA_FUNCTION_NAME, AWS_EXECUTION_ENV);
- nothing written at run time (`-B`): Lambda cannot write into /var/task or /opt, so a module shipped
  without bytecode is compiled again at every cold start.
Each import runs in a fresh interpreter (`python3.12 -I -B -c ...`), timed around the import alone,
interleaved with `import boto3` runs so a busy moment hits both sides; the median of N runs of each.
The goal is judged on CPU time (`time.process_time()`): an import is CPU work, and on a shared
machine the wall clock (`time.perf_counter()`, shown too) mostly counts the time other processes
hold the cores; in Lambda, where the function's memory sets its CPU share, both sides slow alike.
The least CPU time of the N runs is shown beside the median: other processes on the cores (shared
caches) only ever add to an import's CPU time, and more to a larger import than to boto3's, so the
median ratio rises with the machine's load while the least stays near what the code costs. The probe also reports how many of the modules the import loaded came from
bytecode, and where botocore came from (the runtime's, never a copy in the layer)."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
LAYER_ID = "BillingCoreLayer"
IMPORT_GOAL = 1.25  # a handler's import at most 1.25 x the runtime's `import boto3`
# The SDK of the emulated runtime. Lambda's docs say the runtime's SDK version depends on the region
# and changes with runtime updates (print boto3.__version__ in a function to see yours); 1.40.4 is
# one seen in the python3.12 runtime. The import time barely depends on it; --runtime-sdk sets it.
RUNTIME_SDK = "1.40.4"

PROBE = r"""
import importlib.util, json, os, sys, time
# Loaded before the handler by the runtime's bootstrap.py and awslambdaric (its bootstrap, runtime client
# and marshaller; simplejson, not a standard module, left out): shared with the handler, not its cost.
import decimal, logging, math, site, traceback, warnings
from concurrent.futures import ThreadPoolExecutor
task, opt, runtime, module = sys.argv[1:5]
standard = [p for p in sys.path if p.startswith(sys.base_prefix) and "site-packages" not in p]
layer = [opt + "/python/lib/python3.12/site-packages", opt + "/python"] if opt else []
sys.path[:] = ([task] if task else []) + layer + [runtime] + standard
before = set(sys.modules)
began, cpu = time.perf_counter(), time.process_time()
__import__(module)
seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu


def from_bytecode(source):
    try:
        with open(importlib.util.cache_from_source(source), "rb") as pyc:
            head = pyc.read(16)
    except OSError:
        return False
    flags = int.from_bytes(head[4:8], "little")
    if head[:4] != importlib.util.MAGIC_NUMBER:
        return False
    if flags == 1:  # unchecked hash: used as it is
        return True
    if flags == 3:  # checked hash: used when the source hashes the same
        with open(source, "rb") as file:
            return head[8:16] == importlib.util.source_hash(file.read())
    stat = os.stat(source)  # timestamp: used when the source's date and size are the recorded ones
    return head[8:12] == (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") and \
        head[12:16] == (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")


loaded = [sys.modules[name] for name in set(sys.modules) - before]
sources = [m.__spec__.origin for m in loaded if getattr(m, "__spec__", None) and (m.__spec__.origin or "").endswith(".py")]
botocore = sys.modules.get("botocore")
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "modules": len(sources), "bytecode": sum(map(from_bytecode, sources)),
                  "botocore": botocore.__file__ if botocore else None}))
"""


def python312() -> str:
    """A python3.12 (the runtime's version): on PATH if it runs, else pyenv's newest 3.12.x."""
    found = shutil.which("python3.12")
    if found and subprocess.run([found, "-c", "import sys"], capture_output=True).returncode == 0:
        return found
    pyenv = subprocess.run(["pyenv", "root"], capture_output=True, text=True) if shutil.which("pyenv") else None
    if pyenv and pyenv.returncode == 0:
        versions = sorted(Path(pyenv.stdout.strip(), "versions").glob("3.12.*/bin/python3.12"),
                          key=lambda p: [int(x) for x in p.parts[-3].split(".")])
        if versions:
            return str(versions[-1])
    raise SystemExit("table 2 needs a python3.12 (the Lambda runtime's): none on PATH nor in pyenv")


def runtime_site_packages(python: str, sdk: str) -> Path:
    """The runtime's site-packages: boto3==sdk and its dependencies, installed by pip with the
    bytecode pip compiles at install (as the runtime image has it), under .local/ once."""
    target = ROOT / ".local" / "lambda-runtime" / f"python3.12-boto3-{sdk}"
    if (target / "boto3").is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix="runtime-", dir=target.parent if target.parent.exists() else None))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "SOURCE_DATE_EPOCH", "PYTHONPATH")}
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(staging),
                    f"boto3=={sdk}"], env=env, check=True)
    subprocess.run([python, "-m", "compileall", "-q", str(staging)], env=env, check=True)  # what pip left out, if any
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)
    return target


def _probe(python: str, module: str, task: str, opt: str, runtime: Path, env: dict) -> dict:
    done = subprocess.run([python, "-I", "-B", "-c", PROBE, task, opt, str(runtime), module],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def built_functions() -> dict[str, Path]:
    """Every function of template.yaml: logical id -> its folder in the `sam build` output."""
    from . import template

    if not (BUILD / LAYER_ID / "python").is_dir():
        raise SystemExit("table 2 measures the `sam build` output: run `make build` first")
    return {name: BUILD / name for name in template.functions()}


def cold_start_table(runs: int, environment: dict, sdk: str = RUNTIME_SDK) -> tuple[list[str], dict[str, float]]:
    from .bench import _table

    python = python312()
    runtime = runtime_site_packages(python, sdk)
    functions = built_functions()
    # The variables the runtime sets (billing_core holds the garbage collector off during a cold
    # start's imports where AWS_LAMBDA_FUNCTION_NAME says it runs in Lambda).
    env = {**environment, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}
    opt = str(BUILD / LAYER_ID)
    samples: dict[str, list[dict]] = {name: [] for name in ["import boto3", *functions]}
    for _ in range(runs):  # interleaved, so a busy moment hits both sides
        samples["import boto3"].append(_probe(python, "boto3", "", "", runtime, env))
        for name, folder in functions.items():
            samples[name].append(_probe(python, "app", str(folder), opt, runtime, {**env, "AWS_LAMBDA_FUNCTION_NAME": name}))
    wall = {name: statistics.median(s["seconds"] for s in values) for name, values in samples.items()}
    cpu = {name: statistics.median(s["cpu_seconds"] for s in values) for name, values in samples.items()}
    least = {name: min(s["cpu_seconds"] for s in values) for name, values in samples.items()}
    ratios = {name: cpu[name] / cpu["import boto3"] for name in functions}
    rows = []
    for name, values in samples.items():
        last = values[-1]
        sdk_from = "-" if not last["botocore"] else "runtime" if last["botocore"].startswith(str(runtime)) else "ARTEFACT"
        ratio = cpu[name] / cpu["import boto3"]
        rows.append((name, f"{1000 * cpu[name]:.0f}", f"{ratio:.2f}", f"{1000 * least[name]:.0f}",
                     f"{least[name] / least['import boto3']:.2f}", f"{1000 * wall[name]:.0f}",
                     f"{wall[name] / wall['import boto3']:.2f}",
                     "-" if name == "import boto3" else "yes" if ratio <= IMPORT_GOAL else "NO",
                     f"{last['bytecode']}/{last['modules']}", sdk_from))
    digest = BUILD.parent / "build.sha256"
    lines = _table((f"handler (median of {runs} runs)", "CPU ms", "x boto3", "least CPU ms", "x boto3 (least)", "wall ms", "x boto3 (wall)",
                    f"CPU <= {IMPORT_GOAL}x", "modules from .pyc", "botocore from"), rows)
    lines += ["", f"{python} ({sys.platform}), runtime SDK boto3=={sdk} in {runtime.relative_to(ROOT)}; artefact "
              + (digest.read_text().splitlines()[-1] if digest.exists() else "(no digest: `make build` writes it)")
              + f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end"]
    return lines, ratios
