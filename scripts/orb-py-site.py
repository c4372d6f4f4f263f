"""Makes a whole Python ORB 1.8.5 site (PyPI orb-py, installed by `scripts/orb-py install`)
against a moto server, as a Symphony site has it the day it cuts over to orb: `orb init` for Host
Factory, its REST service's authentication (strategy `bearer_token`, the secret named by a
variable), `orb templates generate`, and two requests in ORB's JSON store, one through an Auto
Scaling group and one through RunInstances. Mints an admin token with ORB's own code. Prints what
it made as JSON.

Usage: python orb-py-site.py <moto endpoint> <root dir> <secret key> <seed JSON>, the seed as
scripts/moto-seed.py printed it."""
import json
import pathlib
import sys
import time

from orb_py_site_lib import REPO, environment, init, runner

endpoint, root, secret = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
seed = json.loads(sys.argv[4])
run = runner(root, environment(endpoint, root, ORB_JWT_SECRET=secret))
config_file = init(run, root, seed)
config = json.loads(config_file.read_text())
# The REST service as ORB's documentation sets it up: JWTs that ORB mints, the key in a variable.
config["server"] = {"enabled": True, "host": "127.0.0.1", "port": 8000,
                    "trusted_proxies": ["127.0.0.1"],
                    "auth": {"enabled": True, "strategy": "bearer_token",
                             "bearer_token": {"secret_key": "$ORB_JWT_SECRET",
                                              "algorithm": "HS256", "token_expiry": 3600}}}
config_file.write_text(json.dumps(config, indent=2))
run("templates", "generate")

acquires = []
for template, count in [("ASG-OnDemand", 2), ("RunInstances-OnDemand", 1)]:
    made = run("machines", "request",
               input={"template": {"templateId": template, "machineCount": count}})
    acquires.append(made["requestId"])
# ORB's view of them once the cloud has answered.
machines = {}
for _ in range(30):
    status = run("requests", "status", input={"requests": [{"requestId": r} for r in acquires]})
    machines = {r["requestId"]: [m["machineId"] for m in r["machines"]] for r in status["requests"]}
    if all(machines.get(r) for r in acquires):
        break
    time.sleep(1)

sys.path.insert(0, str(next((REPO / "target/orb-py-venv/lib").glob("python3*/site-packages"))))
from orb.infrastructure.auth.strategy.bearer_token_strategy import BearerTokenStrategy  # noqa: E402

token = BearerTokenStrategy(secret_key=secret)._create_access_token("site-admin", ["admin"], [])
print(json.dumps({
    "root": str(root), "config": str(config_file), "work": str(root / "work"),
    "templates": str(root / "config/aws_templates.json"),
    "provider_name": config["provider"]["providers"][0]["name"],
    "acquires": acquires, "machines": machines, "admin_token": token,
}))
