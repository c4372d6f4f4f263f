"""What scripts/orb-py-state.py and scripts/orb-py-site.py share: running the Python ORB 1.8.5's
CLI (PyPI orb-py, installed by `scripts/orb-py install`) against a moto server in a root
directory of its own, and `orb init` for Host Factory on moto's seeded network."""
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
ORB = os.environ.get("ORB_PY", str(REPO / "target/orb-py-venv/bin/orb"))


def environment(endpoint, root, **extra):
    """ORB's environment: its root, moto's endpoint and test keys, and `extra`."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(root), "ORB_ROOT_DIR": str(root),
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", **extra}


def runner(root, env):
    """A function that runs ORB's CLI in `root` (ORB writes files into its working directory)
    and answers its JSON output; an input object is passed as a file (`-f`)."""
    def run(*args, input=None):
        if input is not None:
            path = root / f"in-{len(list(root.glob('in-*')))}.json"
            path.write_text(json.dumps(input))
            args = (*args, "-f", str(path))
        out = subprocess.run([ORB, *args], env=env, cwd=root, capture_output=True, text=True,
                             timeout=300)
        if out.returncode not in (0, 1):
            sys.exit(f"orb {' '.join(args)} failed ({out.returncode}): {out.stdout}{out.stderr}")
        start = out.stdout.find("{")
        return json.loads(out.stdout[start:]) if start >= 0 else None
    return run


def init(run, root, seed):
    """`orb init` for Host Factory on the seeded subnets; the config file's path."""
    root.mkdir(parents=True, exist_ok=True)
    run("init", "--non-interactive", "--scheduler", "hostfactory", "--provider-type", "aws",
        "--aws-region", "us-east-1", "--subnet-ids", ",".join(seed["subnets"]),
        "--security-group-ids", seed["security_group"])
    return root / "config/config.json"
